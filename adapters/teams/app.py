"""The Teams front end: the Bot Framework adapter, the turn handler and the notifier,
mounted at POST /api/messages.

Without credentials the endpoint accepts only clients on this machine (`auth.local_refusal`);
with them, only requests with a valid Bot Framework token (`auth.TokenValidator`). A body
that is not an activity (malformed or empty JSON, another content type) is answered 400 in
one log line, after the token check when there is one (401 first), before the SDK sees it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web
from botbuilder.core import TurnContext, serializer_helper
from botbuilder.schema import Activity

from adapters.downloads import DownloadLinks, is_loopback_url
from adapters.teams.auth import (
    OPENID_METADATA_URL,
    Credentials,
    OpenIdKeys,
    TeamsAuthentication,
    TokenValidator,
    Unauthorized,
    is_loopback_host,
    local_refusal,
    make_adapter,
)
from adapters.teams.bot import OnboardingTeamsBot, card_activity
from adapters.teams.conversations import ConversationReferences
from adapters.teams.files import FILE_HOSTS
from adapters.teams.notifier import TeamsNotifier
from adapters.teams.render import render
from bot.commands import Dispatcher
from bot.views import Notice, Tone
from storage.adapter_state import AdapterState

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)
MESSAGES_PATH = "/api/messages"


def read_activity(content_type: str, body: bytes) -> tuple[Activity | None, str]:
    """The activity in a request body, or None and why it is not one (for the log)."""
    if content_type != "application/json":
        return None, f"content type {content_type[:40]!r} is not application/json"
    if not body.strip():
        return None, "empty body"
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, "malformed JSON"
    if not isinstance(data, dict) or not isinstance(data.get("type"), str) or not data["type"]:
        return None, "JSON that is not an activity (no type)"
    try:
        activity = Activity().deserialize(data)
    except Exception:  # msrest's DeserializationError and what a wrong shape raises
        return None, "JSON that is not an activity (wrong field types)"
    return activity, ""


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
        listen_host: str = "127.0.0.1",
        openid_metadata_url: str = OPENID_METADATA_URL,
        file_hosts: tuple[str, ...] = FILE_HOSTS,
        downloads: DownloadLinks | None = None,
    ) -> None:
        credentials = credentials or Credentials()
        self.authenticated = credentials.enabled
        self.listen_host = listen_host
        self.keys = OpenIdKeys(openid_metadata_url)
        self.auth = TeamsAuthentication(credentials, TokenValidator(credentials.app_id, self.keys))
        self.adapter = make_adapter(self.auth)
        self.adapter.on_turn_error = self._on_turn_error
        self.references = ConversationReferences(state)
        self.bot = OnboardingTeamsBot(
            dispatcher,
            self.references,
            credentials.app_id,
            http,
            file_hosts=file_hosts,
            downloads=downloads,
        )
        self.downloads = downloads
        self.notifier = TeamsNotifier(self.adapter, self.references, credentials.app_id)

    def mount(self, app: web.Application) -> None:
        app.router.add_post(MESSAGES_PATH, self.messages)
        app.on_startup.append(self._started)
        app.on_cleanup.append(self._stopped)

    async def _started(self, app: web.Application) -> None:
        self.notifier.bind(asyncio.get_running_loop())
        if self.authenticated:
            self.keys.start()
            if self.downloads and is_loopback_url(self.downloads.base_url):
                log.warning(
                    "Teams export links point at %s, which only this machine can open: set "
                    "PUBLIC_URL to the bot's public HTTPS address (README, Exports)",
                    self.downloads.base_url,
                )
        elif not is_loopback_host(self.listen_host):
            log.warning(
                "Teams is off: HOST=%s is not a loopback address and no Bot Framework "
                "credentials are set, so /api/messages answers 401; to turn Teams on set "
                "MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD and MICROSOFT_APP_TENANT_ID (README, "
                "Microsoft Teams), or HOST=127.0.0.1 for local clients",
                self.listen_host,
            )

    async def _stopped(self, app: web.Application) -> None:
        await self.bot.drain()
        await self.keys.stop()
        self.notifier.bind(None)

    async def messages(self, request: web.Request) -> web.StreamResponse:
        if not self.authenticated:
            why = local_refusal(self.listen_host, request.remote, request.headers)
            if why:
                log.warning("refused /api/messages without credentials: %s", why)
                return web.json_response(
                    {
                        "error": "Bot Framework credentials are not configured; "
                        "only local clients are accepted."
                    },
                    status=401,
                )
        body = await request.read()
        activity, problem = read_activity(request.content_type, body)
        auth: Any = ""  # the SDK's anonymous path, without credentials
        if self.authenticated:
            try:
                claims = await self.auth.validator.validate(
                    request.headers.get("Authorization", ""),
                    channel_id=(activity.channel_id or "") if activity else None,
                    service_url=activity.service_url if activity else None,
                )
            except Unauthorized as err:
                log.warning("refused /api/messages (%d bytes): %s", len(body), err.reason)
                return web.json_response({"error": "Unauthorized"}, status=401)
            auth = self.auth.result_for(claims)
        if activity is None:
            log.warning("refused /api/messages (%d bytes): %s", len(body), problem)
            return web.json_response({"error": f"Expected an activity: {problem}."}, status=400)
        try:
            invoke = await self.adapter.process_activity(auth, activity, self.bot.on_turn)
        except PermissionError:
            return web.json_response({"error": "Unauthorized"}, status=401)
        if invoke:
            return web.json_response(serializer_helper(invoke.body), status=invoke.status)
        return web.Response(status=201)

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
