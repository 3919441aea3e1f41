"""`POST /webhooks/partner-center`: Partner Center's callbacks, verified, de-duplicated and
answered at once; the bot then re-reads what the event names, off the event loop.

Refused (401, or 400 as Microsoft's sample answers a malformed call) and nothing changed:
a missing or wrong signature, a certificate from a host not on the allow-list (nothing is
fetched) or not chaining to a trusted Microsoft issuer, a tampered body, a replay. The log
says why in one line, never with the body or the signature.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from aiohttp import web

from adapters.microsoft.live.webhooks import (
    Callback,
    CallbackRefused,
    CallbackVerifier,
    read_callback,
)
from bot.records import MicrosoftEvent

log = logging.getLogger("onboarding.webhooks")

PATH = "/webhooks/partner-center"
MAX_BODY_BYTES = 256 * 1024


class SeenRequests(Protocol):
    def first_time(self, signature: str, at: datetime) -> bool: ...


class PartnerCenterWebhook:
    def __init__(
        self,
        verifier: CallbackVerifier,
        seen: SeenRequests,
        apply: Callable[[MicrosoftEvent], object],
        now: Callable[[], datetime],
    ) -> None:
        self.verifier = verifier
        self.seen = seen
        self.apply = apply
        self.now = now
        self._running: set[asyncio.Task[None]] = set()

    def accept(self, headers: Mapping[str, str], body: bytes) -> Callback:
        """Verified, read and taken once; CallbackRefused otherwise (nothing written)."""
        self.verifier.verify(headers, body)
        callback = read_callback(body)
        if not self.seen.first_time(callback.replay_key, self.now()):
            raise CallbackRefused(401, f"{callback.name} already delivered (a replay)")
        return callback

    def mount(self, app: web.Application) -> None:
        app.router.add_post(PATH, self.handle)
        app.on_cleanup.append(self._finish)

    async def handle(self, request: web.Request) -> web.Response:
        if request.content_length and request.content_length > MAX_BODY_BYTES:
            return web.Response(status=413, text="too large")
        body = await request.read()
        if len(body) > MAX_BODY_BYTES:
            return web.Response(status=413, text="too large")
        try:
            callback = await asyncio.to_thread(self.accept, dict(request.headers), body)
        except CallbackRefused as refused:
            log.warning("Partner Center webhook refused (%s): %s", refused.status, refused.reason)
            return web.Response(status=refused.status, text="refused")
        except Exception:  # the store, most likely: Partner Center delivers again later
            log.exception("Partner Center webhook could not be taken")
            return web.Response(status=503, text="try again")
        if callback.event is None:
            log.info("Partner Center webhook %s: nothing to re-read", callback.name)
        else:
            task = asyncio.create_task(self._apply(callback))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return web.Response(status=200, text="ok")

    async def _apply(self, callback: Callback) -> None:
        assert callback.event is not None
        try:
            changes = await asyncio.to_thread(self.apply, callback.event)
        except Exception as err:  # Microsoft or the store: the fallback sync catches up
            log.warning(
                "Partner Center webhook %s: could not re-read (%s: %s); the scheduled sync will",
                callback.name,
                type(err).__name__,
                str(err)[:200],
            )
            return
        count = len(changes) if isinstance(changes, list) else 0
        log.info("Partner Center webhook %s: %d change(s)", callback.name, count)

    async def _finish(self, _app: web.Application) -> None:
        if self._running:
            await asyncio.wait(self._running, timeout=10)
