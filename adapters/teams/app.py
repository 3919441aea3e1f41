"""The Teams front end: the Bot Framework adapter, the turn handler and the notifier,
mounted at POST /api/messages.

The endpoint refuses clients off this machine while no credentials are set, and any request
without a valid Bot Framework token once they are.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import httpx
import jwt
from aiohttp import web
from botbuilder.core import TurnContext

from adapters.teams.auth import Credentials, is_local, make_adapter
from adapters.teams.bot import OnboardingTeamsBot, card_activity
from adapters.teams.conversations import ConversationReferences
from adapters.teams.notifier import TeamsNotifier
from adapters.teams.render import render
from bot.commands import Dispatcher
from bot.views import Notice, Tone
from storage.adapter_state import AdapterState

log = logging.getLogger(__name__)
MESSAGES_PATH = "/api/messages"


class TeamsFrontEnd:
    """The adapter, the bot and the notifier, built once by the composition root from
    explicit arguments: the dispatcher, where to keep conversation references, and the
    Azure Bot's credentials (none: local clients only)."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        state: AdapterState,
        credentials: Credentials | None = None,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        credentials = credentials or Credentials()
        self.authenticated = credentials.enabled
        self.adapter = make_adapter(credentials)
        self.adapter.on_turn_error = self._on_turn_error
        self.references = ConversationReferences(state)
        self.bot = OnboardingTeamsBot(dispatcher, self.references, credentials.app_id, http)
        self.notifier = TeamsNotifier(self.adapter, self.references, credentials.app_id)

    def mount(self, app: web.Application) -> None:
        app.router.add_post(MESSAGES_PATH, self.messages)
        app.on_startup.append(self._started)
        app.on_cleanup.append(self._stopped)

    async def _started(self, app: web.Application) -> None:
        self.notifier.bind(asyncio.get_running_loop())

    async def _stopped(self, app: web.Application) -> None:
        await self.bot.drain()
        self.notifier.bind(None)

    async def messages(self, request: web.Request) -> web.StreamResponse:
        if not self.authenticated and not is_local(request.remote):
            log.warning(
                "refused /api/messages from %s: set MICROSOFT_APP_ID and "
                "MICROSOFT_APP_PASSWORD to accept Teams from outside",
                request.remote,
            )
            return web.json_response(
                {
                    "error": "Bot Framework credentials are not configured; "
                    "only local clients are accepted."
                },
                status=401,
            )
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "Expected an activity as JSON."}, status=415)
        try:
            response = await self.adapter.process(request, self.bot)
        except jwt.PyJWTError:  # a malformed token: refused like a missing one
            return web.json_response({"error": "Unauthorized"}, status=401)
        return response or web.Response(status=201)

    async def _on_turn_error(self, turn_context: TurnContext, error: Exception) -> None:
        ref = uuid.uuid4().hex[:8]
        log.error("Teams turn failed (error %s): %s", ref, type(error).__name__, exc_info=error)
        try:
            await turn_context.send_activity(
                card_activity(
                    render(
                        Notice(
                            f"Something went wrong on our side (error {ref}). What was saved "
                            "before stays saved; try again, or give this error id to your admin.",
                            Tone.FAILURE,
                        )
                    )
                )
            )
        except Exception:  # the conversation itself may be what failed
            log.warning("could not tell the user about error %s", ref)
