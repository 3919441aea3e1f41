"""Channel notices to Teams: `bot.ports.Notifier` for platform "teams".

The delivery ledger calls `post` from a worker thread. In the server the proactive send runs
on the server's event loop; in a process without one (`app.py console`, `app.py tick`) it
runs on a loop of its own, so a notice goes out from wherever the change happened.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from botbuilder.core import CloudAdapterBase, TurnContext

from adapters.teams.bot import card_activity
from adapters.teams.conversations import ConversationReferences
from adapters.teams.elements import text
from adapters.teams.render import render
from bot.errors import ProviderError
from bot.notices import NoticePayload
from bot.views import Action, ActionRole, Notice

log = logging.getLogger(__name__)
SEND_TIMEOUT = 30.0


def notice_view(notice: NoticePayload) -> Notice:
    actions = (
        (Action("Show customer", f"show {notice.onboarding_id}", role=ActionRole.OPEN),)
        if notice.onboarding_id
        else ()
    )
    return Notice(notice.text, notice.tone, actions)


def notice_card(notice: NoticePayload) -> dict[str, Any]:
    """The notice's card, with why its step still waits under the line (subtle), as the
    customer's card says it."""
    rendered = render(notice_view(notice))
    if notice.waiting:
        rendered["body"] = [
            *rendered["body"],
            *(text(w, subtle=True, spacing="Small") for w in notice.waiting),
        ]
    return rendered


def provider_error(err: Exception) -> ProviderError:
    """The connector's answer as the ledger understands it: 429 means wait and retry."""
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    if status == 429:
        headers = getattr(response, "headers", None) or {}
        try:
            wait = float(headers.get("Retry-After", "") or 30)
        except ValueError:
            wait = 30.0
        return ProviderError("Teams asked us to slow down (HTTP 429).", retry_after=wait)
    if status is not None:
        return ProviderError(f"Teams refused the notice (HTTP {status}).")
    return ProviderError(f"Teams could not be reached: {type(err).__name__}: {err}")


class TeamsNotifier:
    platform = "teams"

    def __init__(
        self, adapter: CloudAdapterBase, references: ConversationReferences, app_id: str
    ) -> None:
        self.adapter = adapter
        self.references = references
        self.app_id = app_id
        self.loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """The server's loop, once it runs (None again when it stops)."""
        self.loop = loop

    def post(self, destination: str, notice: NoticePayload) -> None:
        reference = self.references.get(destination)
        if reference is None:
            raise ProviderError(
                "The bot is not in that Teams conversation any more (or never "
                "was): add it there and type notify here again."
            )
        card = notice_card(notice)
        loop = self.loop
        if loop is not None and loop.is_running():
            if getattr(loop, "_thread_id", None) == threading.get_ident():
                raise ProviderError(
                    "Notice posted from the event loop's thread; retried from a worker.",
                    retry_after=1,
                )
            future = asyncio.run_coroutine_threadsafe(self.send(reference, card), loop)
            try:
                future.result(timeout=SEND_TIMEOUT)
            except TimeoutError:
                future.cancel()
                raise ProviderError("Teams did not answer in time.", retry_after=60) from None
        else:
            asyncio.run(self.send(reference, card))

    async def send(self, reference: Any, card: dict[str, Any]) -> None:
        failures: list[Exception] = []

        async def deliver(turn_context: TurnContext) -> None:
            activity = card_activity(card, reference)
            try:
                await turn_context.send_activity(activity)
            except Exception as err:  # kept from the adapter's turn-error handler
                failures.append(err)

        try:
            await self.adapter.continue_conversation(reference, deliver, self.app_id or None)
        except Exception as err:
            failures.append(err)
        if failures:
            log.warning(
                "Teams notice to %s failed: %s",
                reference.conversation.id,
                type(failures[0]).__name__,
            )
            raise provider_error(failures[0]) from failures[0]
