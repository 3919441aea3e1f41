"""Channel notices (`bot.ports.Notifier`): one thread per customer per channel.

The thread's head is the customer's card, updated to its current state at every notice;
each notice is a reply in the thread (failures are also shown in the channel). The head's
`ts` and the notices already posted are kept in a `ThreadState` (kind "slack.thread"), so a
ledger retry after a lost answer never posts the same notice twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from adapters.slack import render
from bot.errors import ProviderError
from bot.notices import NoticePayload
from bot.views import CustomerCard, Tone

log = logging.getLogger(__name__)
THREAD_KIND = "slack.thread"
REMEMBERED = 50


class ThreadState(Protocol):
    """Where the threads are remembered (`storage.adapter_state.AdapterState` implements it)."""

    def get(self, kind: str, key: str) -> dict[str, Any] | None: ...

    def put(self, kind: str, key: str, data: dict[str, Any]) -> None: ...


def web_client(token: str, api_url: str) -> WebClient:
    client = WebClient(token=token, base_url=api_url, timeout=15)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    return client


class SlackNotifier:
    platform = "slack"

    def __init__(
        self, client: WebClient, state: ThreadState, card_for: Callable[[str], CustomerCard | None]
    ) -> None:
        self.client = client
        self.state = state
        self.card_for = card_for

    def post(self, destination: str, notice: NoticePayload) -> None:
        try:
            if notice.onboarding_id:
                self._post_in_thread(destination, notice, notice.onboarding_id)
            else:
                self.client.chat_postMessage(
                    channel=destination, **render.notice_reply(notice).payload()
                )
        except SlackApiError as err:
            status = err.response.status_code
            retry_after = None
            if status == 429:
                retry_after = float(err.response.headers.get("Retry-After", "30"))
            raise ProviderError(
                f"Slack refused the notice: {err.response.get('error')}", retry_after=retry_after
            ) from None

    def _post_in_thread(self, channel: str, notice: NoticePayload, onboarding_id: str) -> None:
        key = f"{channel}:{onboarding_id}"
        thread = self.state.get(THREAD_KIND, key) or {}
        posted: list[str] = list(thread.get("posted", []))
        if notice.activity_id in posted:
            return
        card = self.card_for(onboarding_id)
        head = render.card_message(card) if card else render.closed_card_message(notice)
        ts = thread.get("ts")
        if ts:
            try:
                self.client.chat_update(channel=channel, ts=ts, **head.payload())
            except SlackApiError as err:
                if err.response.get("error") != "message_not_found":
                    raise
                ts = None  # someone deleted the head: start a new thread
        if not ts:
            ts = self.client.chat_postMessage(channel=channel, **head.payload())["ts"]
            self.state.put(THREAD_KIND, key, {"ts": ts, "posted": posted})
        reply = render.notice_reply(notice)
        self.client.chat_postMessage(
            channel=channel,
            thread_ts=ts,
            reply_broadcast=notice.tone is Tone.FAILURE,
            **reply.payload(),
        )
        posted = [*posted, str(notice.activity_id)][-REMEMBERED:]
        self.state.put(THREAD_KIND, key, {"ts": ts, "posted": posted})
