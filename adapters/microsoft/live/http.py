"""One HTTPS client per Microsoft service (Graph, Partner Center): the bearer token, the
request ids Microsoft asks for, and the retry policy, all inside a time budget.

- 429 and 503 wait for Retry-After; other 5xx and timeouts back off exponentially with
  jitter; a 401 drops the cached token and tries once more with a fresh one.
- Every call of one port method shares a `Deadline`: when it runs out the call gives up with
  `MicrosoftUnavailable` ("Microsoft did not answer in time …: the bot will try again"), so a
  chat answer never waits long and the scheduler asks again later.
- A call that must not be repeated blindly (creating a GDAP relationship or an access
  assignment) is not retried after a timeout or a 5xx: `Unanswered` tells the caller to
  re-read what it asked for instead.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from adapters.microsoft.live.errors import refusal
from bot.errors import ProviderError

log = logging.getLogger("onboarding.microsoft")

THROTTLED = frozenset({429, 503})  # Microsoft says when to come back (Retry-After)
SERVER_ERRORS = frozenset({500, 502, 504})


class Token(Protocol):
    def get(self) -> str: ...

    def forget(self) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    """How long one port method may spend on Microsoft, and how it backs off. The reference's
    2, 4, 8 … ≤ 60 s schedule is cut short by the budget: the scheduler comes back later."""

    budget_seconds: float = 15.0
    request_timeout: float = 10.0
    first_backoff: float = 1.0
    max_backoff: float = 30.0
    max_attempts: int = 6

    def backoff(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Capped exponential back-off with "equal jitter": half fixed, half random."""
        ceiling = min(self.max_backoff, self.first_backoff * 2 ** max(attempt - 1, 0))
        return ceiling / 2 + rand() * ceiling / 2


class Deadline:
    """The time left for one port method, shared by all the HTTP calls it makes."""

    def __init__(self, seconds: float, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self.ends = now() + seconds

    def remaining(self) -> float:
        return max(self.ends - self._now(), 0.0)


class MicrosoftUnavailable(ProviderError):
    """Throttled, failing or silent past the time budget: the bot tries again later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message, retry_after, permanent=False)


class Unanswered(MicrosoftUnavailable):
    """A call that is not repeated blindly got no usable answer (timeout, 5xx): what it
    asked for may or may not exist now; the caller re-reads."""


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After as seconds (a number of seconds or an HTTP date); None when absent."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class MicrosoftApi:
    """`call` sends one logical request (with its retries) and returns the response when its
    status is 2xx or in `expect`; any other answer raises the refusal in words."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        token: Token,
        http: httpx.Client,
        policy: RetryPolicy | None = None,
        partner_center: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.http = http
        self.policy = policy or RetryPolicy()
        self.partner_center = partner_center
        self.sleep = sleep

    def deadline(self, seconds: float | None = None) -> Deadline:
        return Deadline(self.policy.budget_seconds if seconds is None else seconds)

    def url(self, path: str) -> str:
        return path if path.startswith("https://") else f"{self.base_url}{path}"

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        expect: Iterable[int] = (),
        deadline: Deadline | None = None,
        repeatable: bool = True,
        bearer: str | None = None,
    ) -> httpx.Response:
        """`repeatable=False`: after a timeout or a 5xx raise `Unanswered` instead of sending
        it again (a 429 is still waited out: Microsoft did not act on a throttled request).
        `bearer`: a user's token (partner-link) instead of the app's; it is not renewed."""
        deadline = deadline or self.deadline()
        expected = frozenset(expect)
        request_id = str(uuid.uuid4())  # the same on every retry: Partner Center dedupes by it
        what = f"{self.name} {method} {path.split('?')[0]}"
        renewed = bearer is not None
        attempt = 0
        last = "no answer"
        while True:
            attempt += 1
            timeout = min(self.policy.request_timeout, deadline.remaining())
            if timeout <= 0.01:
                raise self._gave_up(what, last)
            try:
                response = self.http.request(
                    method,
                    self.url(path),
                    json=json,
                    params=params,
                    headers=self._headers(request_id, bearer, headers),
                    timeout=timeout,
                )
            except httpx.TimeoutException:
                last = f"no answer within {timeout:.0f} s"
                response = None
            except httpx.TransportError as err:
                last = f"cannot connect: {type(err).__name__}"
                response = None
            if response is None:
                if not repeatable:
                    raise Unanswered(self._in_time(what, last))
                self._wait(what, last, self.policy.backoff(attempt), attempt, deadline)
                continue
            status = response.status_code
            if status == 401 and not renewed:
                log.info("%s answered 401: renewing the app's token once", what)
                self.token.forget()
                renewed = True
                continue
            if 200 <= status < 300 or status in expected:
                return response
            if status == 429 or (status in THROTTLED and repeatable):
                last = f"{status} {_reason(response)}"
                wait = retry_after_seconds(response)
                self._wait(
                    what,
                    last,
                    self.policy.backoff(attempt) if wait is None else wait,
                    attempt,
                    deadline,
                    told=wait,
                )
                continue
            if status in SERVER_ERRORS or status in THROTTLED:
                last = f"{status} {_reason(response)}"
                if not repeatable:
                    raise Unanswered(self._in_time(what, last))
                self._wait(what, last, self.policy.backoff(attempt), attempt, deadline)
                continue
            raise refusal(self.name, method, path, response)

    def _headers(
        self, request_id: str, bearer: str | None, extra: dict[str, str] | None
    ) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {bearer or self.token.get()}",
            "Accept": "application/json",
        }
        if self.partner_center:
            headers["MS-RequestId"] = request_id
            headers["MS-CorrelationId"] = str(uuid.uuid4())
        else:
            headers["client-request-id"] = request_id
            headers["return-client-request-id"] = "true"
        return {**headers, **(extra or {})}

    def _wait(
        self,
        what: str,
        last: str,
        seconds: float,
        attempt: int,
        deadline: Deadline,
        told: float | None = None,
    ) -> None:
        if attempt >= self.policy.max_attempts or seconds >= deadline.remaining():
            raise self._gave_up(what, last, told)
        log.info("%s: %s; trying again in %.1f s", what, last, seconds)
        self.sleep(seconds)

    def _gave_up(self, what: str, last: str, retry_after: float | None = None) -> ProviderError:
        return MicrosoftUnavailable(self._in_time(what, last), retry_after)

    @staticmethod
    def _in_time(what: str, last: str) -> str:
        return f"Microsoft did not answer in time ({what}: {last}): the bot will try again"


def _reason(response: httpx.Response) -> str:
    return response.reason_phrase or ""
