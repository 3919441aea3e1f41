"""What a route of the fake sees and answers: a request already read whole, and a reply, so the
routes stay plain functions over the fake's state (no awaiting while the state is locked)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDict, CIMultiDictProxy

if TYPE_CHECKING:
    from tests.fakes.microsoft_cloud.cloud import MicrosoftCloud


@dataclass
class Recorded:
    """One request as it reached the fake. `json` is the parsed body (None when it is not JSON),
    `form` the parsed form of a token request; `server` is login, graph, partner_center or cert."""

    server: str
    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDictProxy[str]
    body: bytes
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    status: int = 0  # what the fake answered (0 until answered)


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


Handler = Callable[["MicrosoftCloud", Recorded, re.Match[str]], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    schema: str | None = None  # the tests/schemas file the JSON body must satisfy


def route(method: str, pattern: str, handler: Handler, schema: str | None = None) -> Route:
    return Route(method, re.compile(pattern), handler, schema)


def find(routes: list[Route], method: str, path: str) -> tuple[Route, re.Match[str]] | None:
    """The route for this request; a path that matches with another method still finds None."""
    for candidate in routes:
        match = candidate.pattern.fullmatch(path)
        if match and candidate.method == method:
            return candidate, match
    return None


def path_known(routes: list[Route], path: str) -> bool:
    return any(candidate.pattern.fullmatch(path) for candidate in routes)


def headers_of(pairs: dict[str, str]) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict(pairs))
