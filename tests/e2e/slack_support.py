"""Playing Slack for the bot: signed requests exactly as Slack sends them (form-encoded slash
commands, `payload=` JSON for interactivity, JSON events) to the real aiohttp app, and the
loopback Web API of `tests/fakes/slack_api.py` that records what the bot does."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer

from app import Bot, build, make_web_app
from settings import Settings
from tests.dbs import database_url
from tests.fakes.slack_api import FakeSlack, view_problems

TOKEN = "xoxb-0000-test-bot-token"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = {"id": "T0PARTNER", "domain": "partner-team"}


@dataclass(frozen=True)
class User:
    id: str
    name: str


@dataclass(frozen=True)
class Channel:
    id: str
    name: str


ALICE = User("U0ALICE", "alice")
BOB = User("U0BOB", "bob")
TEAM_CHANNEL = Channel("C0ONBOARD", "onboarding")
ALERTS = Channel("C0ALERTS", "onboarding-alerts")
_ids = itertools.count(1)


def signature(body: str, timestamp: str, secret: str = SECRET) -> str:
    """Slack's v0 signature: HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def trigger_id() -> str:
    return f"{next(_ids)}.{int(time.time())}.{uuid.uuid4().hex[:16]}"


def find_button(blocks: list[dict[str, Any]], label: str) -> tuple[str, dict[str, Any]]:
    """(block id, button) of the button with this label in a message or view."""
    for block in blocks:
        elements = (
            block.get("elements", [])
            if block.get("type") == "actions"
            else ([block["accessory"]] if block.get("accessory") else [])
        )
        for element in elements:
            if element.get("type") == "button" and element["text"]["text"] == label:
                return block.get("block_id", ""), element
    raise AssertionError(f"no button {label!r}; buttons: {button_labels(blocks)}")


def button_labels(blocks: list[dict[str, Any]]) -> list[str]:
    labels = []
    for block in blocks:
        elements = (
            block.get("elements", [])
            if block.get("type") == "actions"
            else ([block["accessory"]] if block.get("accessory") else [])
        )
        labels += [e["text"]["text"] for e in elements if e.get("type") == "button"]
    return labels


MAILTO = re.compile(r"<mailto:[^|>]*\|([^>]*)>")


def text_of(blocks: list[dict[str, Any]]) -> str:
    """Every text a user reads in the blocks, one piece a line (a mailto link as its label,
    as Slack shows it)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and "text" in node:
                out.append(MAILTO.sub(r"\1", node["text"]))
                return
            if node.get("type") == "plain_text" and "text" in node:
                out.append(node["text"])
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(out)


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Input blocks of a modal by field name (`f:NAME:REV`)."""
    return {b["block_id"].split(":")[1]: b for b in view["blocks"] if b["type"] == "input"}


def _state_of(element: dict[str, Any], value: Any) -> dict[str, Any]:
    kind = element["type"]
    if kind in ("static_select", "external_select"):
        if value is None:
            return {"type": kind, "selected_option": element.get("initial_option")}
        options = [o for g in element.get("option_groups", []) for o in g["options"]]
        options += element.get("options", [])
        chosen = next(
            (o for o in options if o["value"] == value),
            {"text": {"type": "plain_text", "text": value}, "value": value},
        )
        return {"type": kind, "selected_option": chosen}
    if kind == "multi_static_select":
        if value is None:
            return {"type": kind, "selected_options": element.get("initial_options", [])}
        options = [o for g in element.get("option_groups", []) for o in g["options"]]
        options += element.get("options", [])
        return {"type": kind, "selected_options": [o for o in options if o["value"] in value]}
    if kind == "file_input":
        return {"type": kind, "files": value or []}
    initial = element.get("initial_value")
    return {"type": kind, "value": initial if value is None else value}


@dataclass
class Sent:
    status: int
    body: str
    response_url: str = ""
    trigger_id: str = ""

    def json(self) -> dict[str, Any]:
        return json.loads(self.body) if self.body else {}


@dataclass
class Slack:
    """A Slack workspace around the bot: users type, click and submit; `api` records."""

    http: TestClient
    api: FakeSlack
    bot: Bot
    retries: dict[str, int] = field(default_factory=dict)

    async def send(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SECRET,
        headers: dict[str, str] | None = None,
    ) -> Sent:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        sent_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature(body, ts, secret),
            **(headers or {}),
        }
        answer = await self.http.post("/slack/events", data=body.encode(), headers=sent_headers)
        sent = Sent(answer.status, await answer.text())
        if answer.content_type == "application/json" and sent.body:
            acked = sent.json()  # a modal's ack may carry the view Slack is to show
            if isinstance(acked, dict) and "view" in acked:
                self.api.check("ack", view_problems(acked["view"]))
        return sent

    # -- what users do -------------------------------------------------------------------------

    def command_body(
        self,
        text: str,
        user: User = ALICE,
        channel: Channel = TEAM_CHANNEL,
        response_url: str | None = None,
        trigger: str | None = None,
    ) -> str:
        return urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": TEAM["id"],
                "team_domain": TEAM["domain"],
                "channel_id": channel.id,
                "channel_name": channel.name,
                "user_id": user.id,
                "user_name": user.name,
                "command": "/onboard",
                "text": text,
                "api_app_id": "A0APP",
                "is_enterprise_install": "false",
                "response_url": response_url or self.api.response_url(),
                "trigger_id": trigger or trigger_id(),
            }
        )

    async def command(
        self, text: str, user: User = ALICE, channel: Channel = TEAM_CHANNEL, **send: Any
    ) -> Sent:
        """`/onboard TEXT` typed in a channel; the answer goes to the returned response_url."""
        url, trigger = self.api.response_url(), trigger_id()
        sent = await self.send(
            self.command_body(text, user, channel, url, trigger),
            "application/x-www-form-urlencoded",
            **send,
        )
        sent.response_url, sent.trigger_id = url, trigger
        return sent

    async def ask(
        self, text: str, user: User = ALICE, channel: Channel = TEAM_CHANNEL
    ) -> dict[str, Any]:
        """`/onboard TEXT` and the (first) message it answers with."""
        sent = await self.command(text, user, channel)
        assert sent.status == 200, sent.body
        return (await self.api.answer_to(sent.response_url)).args

    async def interact(self, payload: dict[str, Any], **send: Any) -> Sent:
        return await self.send(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded", **send
        )

    async def click(
        self,
        message: dict[str, Any],
        label: str,
        user: User = ALICE,
        channel: Channel | None = TEAM_CHANNEL,
        *,
        ephemeral: bool = True,
        ts: str | None = None,
        view: dict[str, Any] | None = None,
    ) -> Sent:
        """Clicks a button of a message (or of a modal or App Home, with `view`)."""
        blocks = view["blocks"] if view else message["blocks"]
        block_id, button = find_button(blocks, label)
        url, trigger = self.api.response_url(), trigger_id()
        action = {
            "action_id": button["action_id"],
            "block_id": block_id,
            "text": button["text"],
            "value": button.get("value", ""),
            "type": "button",
            "action_ts": f"{time.time():.6f}",
        }
        if button.get("style"):
            action["style"] = button["style"]
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": TEAM,
            "api_app_id": "A0APP",
            "user": {
                "id": user.id,
                "username": user.name,
                "name": user.name,
                "team_id": TEAM["id"],
            },
            "token": "legacy-verification-token",
            "trigger_id": trigger,
            "actions": [action],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        if view:
            payload["container"] = {"type": "view", "view_id": view["id"]}
            payload["view"] = view
        else:
            message_ts = ts or f"{time.time():.6f}"
            payload["container"] = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel.id if channel else None,
                "is_ephemeral": ephemeral,
            }
            payload["channel"] = {"id": channel.id, "name": channel.name} if channel else None
            payload["response_url"] = url
            payload["state"] = {"values": {}}
            if not ephemeral:
                payload["message"] = {
                    "type": "message",
                    "ts": message_ts,
                    "bot_id": "B0BOT",
                    "text": message.get("text", ""),
                    "blocks": blocks,
                }
        sent = await self.interact(payload)
        sent.response_url, sent.trigger_id = url, trigger
        return sent

    async def pick(
        self, view: dict[str, Any], field_name: str, value: str, user: User = ALICE
    ) -> Sent:
        """Picks a choice in a modal's select that dispatches its action (P2P partner)."""
        block = inputs(view)[field_name]
        state = _state_of(block["element"], value)
        payload = {
            "type": "block_actions",
            "team": TEAM,
            "api_app_id": "A0APP",
            "user": {"id": user.id, "username": user.name, "name": user.name},
            "container": {"type": "view", "view_id": view["id"]},
            "trigger_id": trigger_id(),
            "view": {**view, "state": {"values": {block["block_id"]: {"v": state}}}},
            "actions": [
                {
                    "type": state["type"],
                    "action_id": "v",
                    "block_id": block["block_id"],
                    "selected_option": state["selected_option"],
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return await self.interact(payload)

    async def submit(
        self, view: dict[str, Any], values: dict[str, Any] | None = None, user: User = ALICE
    ) -> Sent:
        """Submits a modal; fields not in `values` keep what the modal shows."""
        return await self.send(
            self.submission_body(view, values, user), "application/x-www-form-urlencoded"
        )

    def submission_body(
        self, view: dict[str, Any], values: dict[str, Any] | None = None, user: User = ALICE
    ) -> str:
        """The form body of a modal's `view_submission` (what `submit` sends)."""
        values = values or {}
        state = {
            b["block_id"]: {b["element"]["action_id"]: _state_of(b["element"], values.get(name))}
            for name, b in inputs(view).items()
        }
        payload = {
            "type": "view_submission",
            "team": TEAM,
            "api_app_id": "A0APP",
            "user": {
                "id": user.id,
                "username": user.name,
                "name": user.name,
                "team_id": TEAM["id"],
            },
            "token": "legacy-verification-token",
            "trigger_id": trigger_id(),
            "view": {**view, "state": {"values": state}},
            "response_urls": [],
            "is_enterprise_install": False,
        }
        return urlencode({"payload": json.dumps(payload)})

    async def suggest(
        self, view: dict[str, Any], field_name: str, typed: str, user: User = ALICE
    ) -> list[dict[str, Any]]:
        """What an external select offers for the typed text (Slack's options load)."""
        block = inputs(view)[field_name]
        payload = {
            "type": "block_suggestion",
            "user": {"id": user.id, "name": user.name},
            "container": {"type": "view", "view_id": view["id"]},
            "api_app_id": "A0APP",
            "token": "legacy-verification-token",
            "action_id": block["element"]["action_id"],
            "block_id": block["block_id"],
            "value": typed,
            "team": TEAM,
            "view": view,
        }
        sent = await self.interact(payload)
        assert sent.status == 200, sent.body
        return sent.json()["options"]

    async def open_home(self, user: User = ALICE, event_id: str | None = None, **send: Any) -> Sent:
        body = json.dumps(
            {
                "token": "legacy-verification-token",
                "team_id": TEAM["id"],
                "api_app_id": "A0APP",
                "event": {
                    "type": "app_home_opened",
                    "user": user.id,
                    "channel": "D" + user.id[1:],
                    "tab": "home",
                    "event_ts": f"{time.time():.6f}",
                },
                "type": "event_callback",
                "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM["id"], "user_id": "U0BOT", "is_bot": True}],
            }
        )
        return await self.send(body, "application/json", **send)

    # -- what the bot shows --------------------------------------------------------------------

    async def modal(self, after: int = 0) -> dict[str, Any]:
        """The modal the bot opened (`views.open`) and then filled (`views.update`), as
        Slack shows it now."""
        await self.api.wait_for("views.open", after=after)
        update = (await self.api.wait_for("views.update", after=after))[0]
        return self.api.views[update["view_id"]]


async def settle(timeout: float = 5.0) -> None:
    """Lets the bot's work after its acks finish before the loop closes."""
    me = asyncio.current_task()
    pending = [
        t
        for t in asyncio.all_tasks()
        if t is not me and not t.done() and "run_ack_function" in repr(t.get_coro())
    ]
    if pending:
        await asyncio.wait(pending, timeout=timeout)


def slack_settings(database_url: str, api_url: str) -> Settings:
    """The bot's settings for one Slack workspace (TEAM, with ALICE and BOB as admins) whose
    Web API is at `api_url`."""
    return Settings(
        _env_file=None,
        database_url=database_url,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=api_url,
        partner_name="Fabrikam Cloud",
        bot_admins=f"slack:{TEAM['id']}:{ALICE.id},slack:{TEAM['id']}:{BOB.id}",
        slack_team_ids=TEAM["id"],
    )


@pytest.fixture
async def slack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Slack]:
    """The bot's real aiohttp app on a SQLite file (or, parametrized indirectly with
    "postgresql", in a PostgreSQL schema of its own), its Slack API played by `FakeSlack`."""
    api = await FakeSlack(TOKEN).start()
    with database_url(getattr(request, "param", "sqlite"), tmp_path) as url:
        bot = build(slack_settings(url, api.api_url))
        http = TestClient(TestServer(make_web_app(bot)))
        await http.start_server()
        try:
            yield Slack(http, api, bot)
        finally:
            await settle()
            await http.close()
            await api.stop()
            bot.engine.dispose()
