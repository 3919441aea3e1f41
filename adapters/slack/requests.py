"""Slack payloads in our terms: who is asking, where to answer, the command line they run,
and the `bot.commands.Context` it runs with.

The block ids this adapter writes (`SOURCE:REF:N`, see `render.py`) say what kind of message
a click came from; the action id (`run!:N`) says whether Slack's confirm dialog already asked.
Nothing here reads a command line: what a line is, the command table says.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.slack.forms import ModalMeta, field_name
from bot.commands import Context
from bot.domain import Actor
from bot.records import Place
from bot.views import BulkProgress

SEEN_FOR = 600.0  # seconds a delivery id is remembered (Slack retries within minutes)
CONFIRMED_PREFIX = "run!"  # the action id of a button whose confirm dialog Slack showed


class SeenDeliveries:
    """Delivery ids (event ids, trigger ids) handled recently, so Slack's retries of a
    request we already took are answered 200 and do nothing."""

    def __init__(self, keep_for: float = SEEN_FOR, most: int = 10_000) -> None:
        self.keep_for = keep_for
        self.most = most
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, key: str) -> bool:
        now = time.monotonic()
        while self._seen and (
            len(self._seen) > self.most or next(iter(self._seen.values())) < now - self.keep_for
        ):
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True


def delivery_key(body: dict[str, Any]) -> str | None:
    """What makes a delivery unique: the event id, else the trigger id (options loads have
    none worth keeping: each keystroke is a new one)."""
    key = body.get("event_id") or (
        body.get("trigger_id") if body.get("type") != "block_suggestion" else None
    )
    return str(key) if key else None


@dataclass
class Where:
    """Who clicked or typed, and every way there is to answer them."""

    user_id: str
    user_name: str
    channel_id: str | None = None
    channel_name: str | None = None
    response_url: str | None = None
    message_ts: str | None = None  # a real (not ephemeral) message the click came from
    source: str = "command"  # command, card, list, row, confirm, pick, review, home, modal…
    ref: str = ""  # the card's onboarding id, the review's import id
    confirmed: bool = False  # Slack's confirm dialog was already shown for this button
    ephemeral: bool = True
    team_id: str = ""  # the workspace the person is in: part of who they are to the bot
    enterprise_id: str = ""  # the Enterprise Grid organisation, when the workspace is in one
    timezone: str = ""  # the person's IANA zone (users.info `user.tz`), once asked for

    @property
    def actor(self) -> Actor:
        name = self.user_name or self.user_id
        return Actor(self.user_id, name, "slack", self.team_id, self.enterprise_id)

    @property
    def place(self) -> Place | None:
        if not self.channel_id:
            return None
        direct = self.channel_id.startswith("D") or self.channel_name == "directmessage"
        named = self.channel_name not in (None, "", "privategroup", "directmessage")
        label = (
            "a direct message" if direct else (f"#{self.channel_name}" if named else "this channel")
        )
        return Place("slack", self.channel_id, label, direct, self.timezone)

    def context(
        self,
        read_file: Callable[[str], tuple[bytes, str]] | None = None,
        progress: Callable[[BulkProgress], None] | None = None,
    ) -> Context:
        """The command's caller and what Slack can do for it (a downloaded file, progress)."""
        return Context(self.actor, self.place, read_file, progress)

    @classmethod
    def of_command(cls, body: dict[str, Any]) -> Where:
        return cls(
            body.get("user_id", ""),
            body.get("user_name", ""),
            body.get("channel_id"),
            body.get("channel_name"),
            body.get("response_url"),
            team_id=body.get("team_id", ""),
            enterprise_id=str(body.get("enterprise_id") or ""),
        )

    @classmethod
    def of_action(cls, body: dict[str, Any]) -> Where:
        user = body.get("user") or {}
        action = clicked(body)
        container = body.get("container") or {}
        channel = body.get("channel") or {}
        source, ref = _block_origin(action.get("block_id", ""))
        where = cls(
            user.get("id", ""),
            user.get("username") or user.get("name", ""),
            channel.get("id") or container.get("channel_id"),
            channel.get("name"),
            body.get("response_url"),
            source=source or "message",
            ref=ref,
            confirmed=action.get("action_id", "").startswith(CONFIRMED_PREFIX),
            ephemeral=bool(container.get("is_ephemeral")),
            team_id=team_of(body),
            enterprise_id=enterprise_of(body),
        )
        if container.get("type") == "message" and not where.ephemeral:
            where.message_ts = container.get("message_ts")
        view = body.get("view")
        if view:
            if view.get("type") == "home":
                where.source = "home"
            else:
                where.source = "modal"
                meta = ModalMeta.load(view.get("private_metadata", ""))
                where.channel_id, where.response_url = meta.channel, meta.response_url
        return where

    @classmethod
    def of_modal(cls, body: dict[str, Any], meta: ModalMeta) -> Where:
        user = body.get("user") or {}
        return cls(
            user.get("id", ""),
            user.get("username") or user.get("name", ""),
            meta.channel,
            None,
            meta.response_url,
            source="card" if meta.replace else ("home" if meta.home else "modal"),
            ref=meta.context.get("onboarding", ""),
            team_id=team_of(body),
            enterprise_id=enterprise_of(body),
        )


def team_of(body: dict[str, Any]) -> str:
    """The workspace of whoever clicked or submitted (interactivity payloads carry it twice)."""
    team = body.get("team") or {}
    user = body.get("user") or {}
    return str(team.get("id") or user.get("team_id") or body.get("team_id") or "")


def enterprise_of(body: dict[str, Any]) -> str:
    """The Enterprise Grid organisation of the payload, if any (SLACK_TEAM_IDS may name it)."""
    enterprise = body.get("enterprise") or {}
    if isinstance(enterprise, dict) and enterprise.get("id"):
        return str(enterprise["id"])
    return str(body.get("enterprise_id") or "")


def _block_origin(block_id: str) -> tuple[str, str]:
    """(source, ref) of one of our block ids, `SOURCE:REF:N`; ("", "") for any other."""
    source, ref, *_ = [*block_id.split(":"), "", ""]
    return source, ref


def clicked(body: dict[str, Any]) -> dict[str, Any]:
    """The action of a `block_actions` payload (Slack sends one per click)."""
    return next(iter(body.get("actions") or []), {})


def clicked_line(body: dict[str, Any]) -> str:
    """The command a clicked button runs: its value (`Action.line`, see `render.button`)."""
    return str(clicked(body).get("value", ""))


def picked_choice(body: dict[str, Any]) -> tuple[str, str] | None:
    """(field name, value) when a choice was picked in one of our modal fields, else None."""
    action = clicked(body)
    picked = (action.get("selected_option") or {}).get("value")
    name = field_name(action.get("block_id", ""))
    return (name, picked) if picked and name else None


def upload_line(file_id: str) -> str:
    """The command for a file the bulk modal received; its bytes come with the context."""
    return f"bulk {file_id}"


def modal_meta(body: dict[str, Any]) -> ModalMeta:
    """What the modal of a submission or a click inside it remembers."""
    return ModalMeta.load((body.get("view") or {}).get("private_metadata", ""))
