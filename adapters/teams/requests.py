"""Teams activities in our terms: the command line typed (the @mention and Teams' HTML
stripped), what a card's button sent back, who is asking, where to answer, and the
`bot.commands.Context` a line runs with.

Nothing here reads a command line: what a line is, the command table says
(`Dispatcher.interpret`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, Attachment, ChannelAccount

from adapters.teams.conversations import destination_of
from adapters.teams.elements import DATA_KEY, DATA_VERSION
from bot.commands import Context
from bot.domain import Actor
from bot.records import Place
from bot.views import BulkProgress

FILE_DOWNLOAD = "application/vnd.microsoft.teams.file.download.info"
# How to hand the bot a CSV in Teams, said when `bulk FILE` comes without one.
FILE_HINT = (
    "Send the CSV file to the bot as an attachment in a personal chat, or type bulk and paste it."
)
_AT_TAG = re.compile(r"<at[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_ID = re.compile(r"[0-9A-Za-z-]{1,64}")  # an Entra tenant or object id (a GUID)


def command_text(activity: Activity) -> str:
    """The typed line without the bot's @mention, Teams' HTML and non-breaking spaces; a
    person @mentioned in it becomes `teams:TENANT:OBJECTID`, the way the grammar names
    someone (`access grant @Dave operator`)."""
    TurnContext.remove_recipient_mention(activity)
    raw = _AT_TAG.sub(" ", _people_named(activity, activity.text or ""))
    raw = _TAG.sub(" ", raw.replace("<br>", " ").replace("<br/>", " "))
    return " ".join(html.unescape(raw).replace("\xa0", " ").split())


def _people_named(activity: Activity, text: str) -> str:
    """`text` with each @mention of a person (not the bot) as `teams:TENANT:OBJECTID`."""
    tenant = tenant_of(activity)
    bot_id = activity.recipient.id if activity.recipient else None
    for entity in activity.entities or []:
        if (getattr(entity, "type", "") or "").lower() != "mention":
            continue
        props = getattr(entity, "additional_properties", None) or {}
        mentioned, tag = props.get("mentioned"), props.get("text")
        if not isinstance(mentioned, dict) or not isinstance(tag, str) or not tag:
            continue
        object_id = str(mentioned.get("aadObjectId") or "")
        if (
            mentioned.get("id") == bot_id
            or not _ID.fullmatch(object_id)
            or not _ID.fullmatch(tenant)
        ):
            continue
        text = text.replace(tag, f" teams:{tenant}:{object_id} ", 1)
    return text


def file_attachment(activity: Activity) -> Attachment | None:
    """The first file sent with the message (Teams allows files in a personal chat only)."""
    return next((a for a in activity.attachments or [] if a.content_type == FILE_DOWNLOAD), None)


def actor_of(activity: Activity) -> Actor:
    who = activity.from_property or ChannelAccount(id="unknown", name="someone")
    return Actor(
        who.aad_object_id or who.id or "unknown",
        who.name or "someone",
        "teams",
        tenant_of(activity),
    )


def tenant_of(activity: Activity) -> str:
    """The tenant the person is in: the conversation says it, and so does channelData."""
    conversation = activity.conversation
    tenant = getattr(conversation, "tenant_id", None) if conversation else None
    data = activity.channel_data or {}
    if not tenant and isinstance(data, dict):
        tenant = (data.get("tenant") or {}).get("id")
    return str(tenant or "")


def place_of(activity: Activity) -> Place:
    conversation = activity.conversation
    kind = (conversation.conversation_type or "personal") if conversation else "personal"
    data = activity.channel_data or {}
    if kind == "channel":
        team = (data.get("team") or {}).get("name")
        channel = (data.get("channel") or {}).get("name")
        label = (
            f"{team} > {channel}"
            if team and channel
            else f"channel {channel}"
            if channel
            else "this Teams channel"
        )
    elif kind == "groupChat":
        label = f"group chat {conversation.name}" if conversation.name else "this group chat"
    else:
        label = "your personal chat with the bot"
    return Place(
        "teams",
        destination_of(activity),
        label,
        direct=kind == "personal",
        timezone=time_zone_of(activity),
    )


def time_zone_of(activity: Activity) -> str:
    """The sender's IANA time zone as their Teams client says it: the `clientInfo` entity
    (`"timezone": "Europe/Berlin"`), else the activity's `localTimezone`; "" if neither."""
    for entity in activity.entities or []:
        if getattr(entity, "type", None) == "clientInfo":
            zone = (entity.additional_properties or {}).get("timezone")
            if isinstance(zone, str) and zone.strip():
                return zone.strip()
    return (activity.local_timezone or "").strip()


def context_of(
    activity: Activity,
    read_file: Callable[[str], tuple[bytes, str]] | None = None,
    progress: Callable[[BulkProgress], None] | None = None,
) -> Context:
    """What a line from this activity runs with: its actor and place, Teams' file hint."""
    return Context(actor_of(activity), place_of(activity), read_file, progress, file_hint=FILE_HINT)


@dataclass(frozen=True)
class SubmitData:
    """What an `Action.Submit` sends back: one of a command line, a form, or a dismissal."""

    card: str = ""  # what the clicked card showed: "customer", "list", "form", ...
    line: str = ""
    form: str = ""
    context: dict[str, str] = field(default_factory=dict)
    dismiss: str = ""
    multi: dict[str, list[str]] = field(default_factory=dict)  # field -> its input ids
    fills: dict[str, Any] = field(default_factory=dict)
    version: int = DATA_VERSION

    @classmethod
    def read(cls, value: Any) -> SubmitData | None:
        """None when the activity's value is not one of ours."""
        if not isinstance(value, dict) or not isinstance(value.get(DATA_KEY), dict):
            return None
        data = value[DATA_KEY]
        return cls(
            card=str(data.get("card", "")),
            line=str(data.get("line", "")),
            form=str(data.get("form", "")),
            context=dict(data.get("context") or {}),
            dismiss=str(data.get("dismiss", "")),
            multi=dict(data.get("multi") or {}),
            fills=dict(data.get("fills") or {}),
            version=int(data.get("v", 0) or 0),
        )

    @property
    def current(self) -> bool:
        """False for a card sent by an earlier version of the bot."""
        return self.version == DATA_VERSION


def inputs_of(value: dict[str, Any]) -> dict[str, Any]:
    """The card's inputs, without our data and Teams' own."""
    return {k: v for k, v in value.items() if k not in (DATA_KEY, "msteams")}
