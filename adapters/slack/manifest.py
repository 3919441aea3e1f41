"""What `manifest.yml` must declare, derived from the code: the slash command's usage hint
from the one command table, and the bot scopes from the Web API methods the adapter calls
(`tests/unit/test_slack_manifest.py` checks the file against both)."""

from __future__ import annotations

from bot.commands import COMMANDS

COMMAND = "/onboard"
DESCRIPTION = "Onboard Microsoft cloud customers: enroll, GDAP, MSP Hub, P2P, reminders"

# Every Web API method the Slack adapter calls, and the bot scopes it needs. views.* and
# auth.test need none; `commands` is for the slash command itself.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.postMessage": ("chat:write", "chat:write.public"),  # notices in channels not joined
    "chat.update": ("chat:write",),
    "views.open": (),
    "views.update": (),
    "views.publish": (),
    "files.info": ("files:read",),  # the CSV of the bulk modal's file input
    "files.getUploadURLExternal": ("files:write",),  # the template (files_upload_v2)
    "files.completeUploadExternal": ("files:write",),
    "conversations.open": ("im:write",),  # the user's DM when the template has no channel
    "users.info": ("users:read",),  # the person's time zone (user.tz) for their digest
}
# slack_sdk helpers that call several methods
CLIENT_HELPERS: dict[str, tuple[str, ...]] = {
    "files_upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal"),
}


def usage_hint() -> str:
    return " | ".join(c.name for c in COMMANDS if not c.sandbox_only)


def bot_scopes() -> list[str]:
    scopes = {"commands"} | {s for needed in METHOD_SCOPES.values() for s in needed}
    return sorted(scopes)
