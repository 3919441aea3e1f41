"""Playing Microsoft Teams for the bot: activities as a Teams client sends them, a loopback
Bot Framework connector at `serviceUrl` that records what the bot sends and updates, and a
check of every card by Microsoft's Adaptive Card parser (the `adaptivecards` npm package, see
`adaptive_cards.py`) and, when ../shared sits beside this clone, its Adaptive Card schema."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from aiohttp import web

from tests.e2e.adaptive_cards import CheckerBroken, CheckerUnavailable, adaptive_card_problems

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "shared" / "schemas" / "adaptive-card-1.6.json"
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_CARD_BYTES = 28 * 1024
BOT_ID = "28:bot-onboarding"
BOT_NAME = "Onboarding"
TENANT = "72f988bf-0000-4000-8000-000000000001"

_validator: jsonschema.Draft6Validator | None = None


def card_validator() -> jsonschema.Draft6Validator | None:
    """Microsoft's Adaptive Card JSON Schema from ../shared, or None if it is not there."""
    global _validator
    if _validator is None and SCHEMA_PATH.is_file():
        _validator = jsonschema.Draft6Validator(json.loads(SCHEMA_PATH.read_text("utf-8")))
    return _validator


def assert_valid_card(card: dict) -> None:
    assert_valid_cards([card])


def assert_valid_cards(cards: list[dict]) -> None:
    """Each card: accepted by Microsoft's parser and (with ../shared) schema, version 1.5, and
    within Teams' 28 KB. Checking a list at once starts one parser run for all of them."""
    validator = card_validator()
    try:
        parsed: list[list[str]] | None = adaptive_card_problems(cards)
    except CheckerUnavailable as missing:
        if validator is None:
            pytest.skip(
                f"card not checked: {missing}, and ../shared/schemas/"
                f"{SCHEMA_PATH.name} is not beside this clone"
            )
        parsed = None
    except CheckerBroken as broken:
        pytest.fail(str(broken), pytrace=False)
    for index, card in enumerate(cards):
        where = f"card {index + 1} of {len(cards)}" if len(cards) > 1 else "card"
        if parsed is not None:
            assert not parsed[index], f"{where}: Microsoft's Adaptive Card parser reports:\n" + (
                "\n".join(parsed[index][:10])
            )
        if validator is not None:
            errors = sorted(validator.iter_errors(card), key=lambda e: list(e.path))
            assert not errors, f"{where} does not validate against the schema:\n" + "\n".join(
                f"{list(e.path)}: {e.message[:300]}" for e in errors[:5]
            )
        assert card["version"] == "1.5"
        size = len(json.dumps(card, ensure_ascii=False).encode("utf-8"))
        assert size <= MAX_CARD_BYTES, f"{where} is {size} bytes, over Teams' 28 KB"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Refuses (and lists) every attempt to resolve or reach a host off this machine."""
    attempts: list[str] = []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect
    local = ("localhost", "127.0.0.1", "::1", "")

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host or "")
        if name not in local and not name.startswith("127."):
            attempts.append(name)
            raise socket.gaierror(f"test: no traffic off this machine ({name})")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(sock: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else ""
        if host and host not in local and not str(host).startswith("127."):
            attempts.append(str(host))
            raise OSError(f"test: no traffic off this machine ({host})")
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


# -- the connector ------------------------------------------------------------------------------


@dataclass
class Sent:
    kind: str  # "send", "reply" or "update"
    conversation: str
    activity_id: str
    body: dict[str, Any]

    @property
    def card(self) -> dict[str, Any] | None:
        for a in self.body.get("attachments") or []:
            if a.get("contentType") == CARD_TYPE:
                return a["content"]
        return None

    @property
    def text(self) -> str:
        """Every TextBlock and fact of the card, one per line, for assertions."""
        return "\n".join(card_text(self.card)) if self.card else self.body.get("text") or ""


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark's backslash escapes


def unescaped(markdown: str) -> str:
    """Markdown with its backslash escapes resolved, as the reader sees the characters (the
    bot escapes user text for Teams; formatting the bot writes itself, like **bold**, stays)."""
    return _ESCAPED.sub(r"\1", markdown)


def card_text(node: Any, *, raw: bool = False) -> list[str]:
    """Every TextBlock and fact, escapes resolved (`raw`: as the card's markdown has them)."""
    shown = (lambda t: t) if raw else unescaped
    out: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "TextBlock":
            out.append(shown(node.get("text", "")))
        if node.get("type") == "FactSet":
            out += [f"{shown(f['title'])}: {shown(f['value'])}" for f in node.get("facts", [])]
        for key, value in node.items():
            if key not in ("data",):
                out += card_text(value, raw=raw)
    elif isinstance(node, list):
        for item in node:
            out += card_text(item, raw=raw)
    return out


def find_actions(card: dict) -> list[dict]:
    found: list[dict] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if str(node.get("type", "")).startswith("Action."):
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found


def button(card: dict, title: str) -> dict:
    """The data of the card's button with this title (the first one)."""
    for action in find_actions(card):
        if action.get("title") == title and action["type"] == "Action.Submit":
            return action["data"]
    raise AssertionError(
        f"no button {title!r} in card; buttons: {[a.get('title') for a in find_actions(card)]}"
    )


@dataclass
class FakeConnector:
    """The Bot Framework connector at `serviceUrl`, as far as the bot uses it."""

    url: str = ""
    sent: list[Sent] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)  # file name -> where it moved
    throttle: int = 0  # answer this many next sends with 429
    headers_seen: list[dict[str, str]] = field(default_factory=list)
    peernames: list[Any] = field(default_factory=list)  # each request's connection, client end
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Event | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations/{conv}/activities", self._send)
        app.router.add_post("/v3/conversations/{conv}/activities/{aid}", self._reply)
        app.router.add_put("/v3/conversations/{conv}/activities/{aid}", self._update)
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_get("/files/{name}", self._file)
        return app

    async def _record(self, request: web.Request, kind: str, activity_id: str) -> web.Response:
        self.headers_seen.append(dict(request.headers))
        if request.transport is not None:
            self.peernames.append(request.transport.get_extra_info("peername"))
        if self.throttle and kind != "update":
            self.throttle -= 1
            return web.json_response(
                {"error": {"code": "Throttled"}}, status=429, headers={"Retry-After": "7"}
            )
        body = await request.json()
        self.sent.append(Sent(kind, request.match_info["conv"], activity_id, body))
        if self._changed:
            self._changed.set()
        return web.json_response({"id": activity_id})

    async def _send(self, request: web.Request) -> web.Response:
        return await self._record(request, "send", f"act-{next(self._ids)}")

    async def _reply(self, request: web.Request) -> web.Response:
        return await self._record(request, "reply", f"act-{next(self._ids)}")

    async def _update(self, request: web.Request) -> web.Response:
        return await self._record(request, "update", request.match_info["aid"])

    async def _create(self, request: web.Request) -> web.Response:
        return web.json_response({"id": f"conv-{next(self._ids)}"})

    async def _file(self, request: web.Request) -> web.Response:
        moved = self.redirects.get(request.match_info["name"])
        if moved:
            raise web.HTTPFound(moved)
        data = self.files.get(request.match_info["name"])
        return web.Response(body=data) if data is not None else web.Response(status=404)

    def cards(self) -> list[dict]:
        return [s.card for s in self.sent if s.card]

    async def wait(self, count: int, timeout: float = 10) -> list[Sent]:
        """Waits until at least `count` activities were recorded in all; returns the new ones
        beyond `count - 1`... i.e. everything from index count-1 on."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.sent) < count:
            self._changed = asyncio.Event()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(
                    f"expected {count} activities at the connector, got "
                    f"{len(self.sent)}: {[s.text[:80] for s in self.sent]}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return self.sent[count - 1 :]


@asynccontextmanager
async def serving(app: web.Application, port: int | None = None) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    port = port or free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


# -- the Teams client ---------------------------------------------------------------------------


@dataclass
class TeamsUser:
    id: str = "29:1alice"
    name: str = "Alice Admin"
    aad_object_id: str = "aad-alice-0001"


@dataclass
class Chat:
    """One Teams conversation as the client sees it: personal, groupChat or channel."""

    id: str
    kind: str = "personal"
    name: str | None = None
    team: str | None = None


PERSONAL = Chat("a:1personal-alice")
GROUP = Chat("19:group-ops@unq.gbl.spaces", "groupChat", "Onboarding ops")
CHANNEL = Chat("19:channel-general@thread.tacv2", "channel", "General", "Partner Team")


class TeamsClient:
    """Sends activities to the bot over HTTP exactly as Teams does."""

    def __init__(
        self,
        bot_url: str,
        connector: FakeConnector,
        session: aiohttp.ClientSession,
        user: TeamsUser | None = None,
    ) -> None:
        self.bot_url = bot_url
        self.connector = connector
        self.session = session
        self.user = user or TeamsUser()
        self.tenant = TENANT  # the tenant the user (and the conversation) is in
        self.headers: dict[str, str] = {}

    def base(self, chat: Chat, kind: str) -> dict[str, Any]:
        conversation: dict[str, Any] = {
            "id": chat.id,
            "conversationType": chat.kind,
            "tenantId": self.tenant,
            "isGroup": chat.kind != "personal",
        }
        if chat.name and chat.kind == "groupChat":
            conversation["name"] = chat.name
        channel_data: dict[str, Any] = {"tenant": {"id": self.tenant}}
        if chat.kind == "channel":
            channel_data["team"] = {"id": "19:team@thread.tacv2", "name": chat.team}
            channel_data["channel"] = {"id": chat.id, "name": chat.name}
            conversation["id"] = f"{chat.id};messageid=17{uuid.uuid4().int % 10**10}"
        now = datetime.now(UTC)
        return {
            "type": kind,
            "id": f"1{uuid.uuid4().int % 10**12}",
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "localTimestamp": now.isoformat(),
            "serviceUrl": self.connector.url + "/",
            "channelId": "msteams",
            "from": {
                "id": self.user.id,
                "name": self.user.name,
                "aadObjectId": self.user.aad_object_id,
            },
            "conversation": conversation,
            "recipient": {"id": BOT_ID, "name": BOT_NAME},
            "channelData": channel_data,
            "locale": "en-US",
            "entities": [
                {
                    "type": "clientInfo",
                    "locale": "en-US",
                    "country": "US",
                    "platform": "Web",
                    "timezone": "Europe/London",
                }
            ],
        }

    async def post(self, activity: dict[str, Any]) -> aiohttp.ClientResponse:
        async with self.session.post(
            f"{self.bot_url}/api/messages", json=activity, headers=self.headers
        ) as response:
            await response.read()
            return response

    async def say(
        self,
        chat: Chat,
        text: str,
        *,
        mention: bool | None = None,
        attachments: list[dict] | None = None,
    ) -> list[Sent]:
        """Types a message; in a channel or group chat the bot is @mentioned, as Teams needs."""
        before = len(self.connector.sent)
        activity = self.base(chat, "message")
        mention = chat.kind != "personal" if mention is None else mention
        if mention:
            tag = f"<at>{BOT_NAME}</at>"
            activity["text"] = f"{tag} {text}"
            activity["entities"].append(
                {"type": "mention", "text": tag, "mentioned": {"id": BOT_ID, "name": BOT_NAME}}
            )
        else:
            activity["text"] = text
        activity["textFormat"] = "plain"
        if attachments:
            activity["attachments"] = attachments
        response = await self.post(activity)
        assert response.status in (200, 201), response.status
        return self.connector.sent[before:]

    async def click(
        self, chat: Chat, card_id: str, data: dict[str, Any], inputs: dict[str, Any] | None = None
    ) -> list[Sent]:
        """Action.Submit: a message activity whose value is the button's data plus inputs."""
        before = len(self.connector.sent)
        activity = self.base(chat, "message")
        activity["replyToId"] = card_id
        activity["value"] = {**data, **(inputs or {})}
        activity["channelData"]["source"] = {"name": "message"}
        activity["channelData"]["legacy"] = {"replyToId": card_id}
        response = await self.post(activity)
        assert response.status in (200, 201), response.status
        return self.connector.sent[before:]

    async def execute(
        self, chat: Chat, card_id: str, data: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """Action.Execute: an `adaptiveCard/action` invoke; the answer comes in the response."""
        activity = self.base(chat, "invoke")
        activity["name"] = "adaptiveCard/action"
        activity["replyToId"] = card_id
        activity["value"] = {
            "action": {"type": "Action.Execute", "verb": "run", "data": data},
            "trigger": "manual",
        }
        async with self.session.post(
            f"{self.bot_url}/api/messages", json=activity, headers=self.headers
        ) as response:
            return response.status, await response.json()

    async def event(self, chat: Chat, kind: str, **extra: Any) -> aiohttp.ClientResponse:
        activity = self.base(chat, kind)
        activity.update(extra)
        return await self.post(activity)


def last_card(sent: list[Sent], predicate: Callable[[Sent], bool] = lambda s: True) -> Sent:
    matching = [s for s in sent if s.card and predicate(s)]
    assert matching, f"no card among {[(s.kind, s.text[:60]) for s in sent]}"
    return matching[-1]


# -- the whole activity, as Teams counts its size ---------------------------------------------

MAX_MESSAGE_BYTES = 40 * 1024  # Microsoft: a bot message, the whole payload in UTF-16


def message_bytes(body: dict[str, Any]) -> int:
    return len(json.dumps(body, ensure_ascii=False).encode("utf-16-le"))


def assert_within_message_size(sent: list[Sent]) -> None:
    """Every activity the bot sent or updated, whole (card, summary, ids, names), within
    Microsoft's bot message size as Teams counts it."""
    for s in sent:
        size = message_bytes(s.body)
        assert size <= MAX_MESSAGE_BYTES, (
            f"a {s.kind} of {size} bytes (UTF-16), over Teams' 40 KB: {s.text[:80]!r}"
        )


@dataclass
class World:
    """The real app (`app.build`) on loopback, the loopback connector, and a Teams client."""

    bot: Any
    connector: FakeConnector
    teams: TeamsClient
    database_url: str

    def customers(self) -> int:
        return self.bot.service.customers.dashboard().total


@asynccontextmanager
async def teams_world(
    tmp_path: Path, *, clock: Any = None, database_url: str | None = None, **settings: Any
) -> AsyncIterator[World]:
    """A world with these settings (no credentials: local clients; the test admin in
    BOT_ADMINS unless given), on `database_url` (a SQLite file by default) and `clock` (the
    system's by default); links the bot hands out point at where it listens. Every card it
    sent is checked when it ends."""
    from app import build, make_web_app
    from settings import Settings

    url = database_url or f"sqlite:///{tmp_path / 'bot.db'}"
    settings.setdefault("bot_admins", f"teams:{TENANT}:{TeamsUser().aad_object_id}")
    port = free_port()
    settings.setdefault("public_url", f"http://127.0.0.1:{port}")
    bot = build(Settings(_env_file=None, database_url=url, microsoft_app_id="", **settings), clock)
    connector = FakeConnector()
    try:
        async with (
            serving(connector.app()) as connector_url,
            serving(make_web_app(bot), port) as bot_url,
            aiohttp.ClientSession() as session,
        ):
            connector.url = connector_url
            yield World(bot, connector, TeamsClient(bot_url, connector, session), url)
        assert_valid_cards(connector.cards())
        assert_within_message_size(connector.sent)
    finally:
        bot.engine.dispose()
