"""`python app.py teams-package`: the Teams app package (manifest.json, color.png,
outline.png in one zip) to upload in Teams or the Teams admin center.

The bot commands Teams suggests come from the one command table (`bot.commands.COMMANDS`);
the icons are drawn here, so the package needs no files beside the code.
"""

from __future__ import annotations

import io
import json
import struct
import uuid
import zipfile
import zlib
from pathlib import Path
from typing import Any

from bot.commands import COMMANDS
from settings import Settings

MANIFEST_VERSION = "1.19"
SCHEMA = (
    f"https://developer.microsoft.com/en-us/json-schemas/teams/v{MANIFEST_VERSION}/"
    "MicrosoftTeams.schema.json"
)
ACCENT = (0x25, 0x63, 0xEB)  # the colour icon's background, and the manifest's accentColor
DEVELOPER_NAME_MAX = 32  # the manifest schema's maxLength for developer.name
# Microsoft's colour icon: 192×192, the symbol inside the central 96×96 (48 px around it),
# so that Teams' round and rounded-square crops never cut it.
COLOR_SIZE, SAFE_AREA = 192, 96
# Teams shows at most 10 commands per menu: the ones a partner team reaches for first.
MENU = ("help", "status", "search", "show", "enroll", "bulk", "gdap", "remind", "notify", "log")
_APP_NAMESPACE = uuid.UUID("7b0f5b8e-3c1e-4e53-9d57-0b5c1f7a4e21")


class PackageError(Exception):
    """A setting the package needs is missing; the message says which."""


def teams_app_id(settings: Settings) -> str:
    """TEAMS_APP_ID, or one derived from the bot id, so a rebuilt package updates the same
    app instead of adding a second one."""
    return settings.teams_app_id or str(uuid.uuid5(_APP_NAMESPACE, settings.microsoft_app_id))


def bot_commands() -> list[dict[str, str]]:
    by_name = {c.name: c for c in COMMANDS}
    return [
        {"title": name, "description": f"{by_name[name].usage}: {by_name[name].summary}"[:128]}
        for name in MENU
    ]


def developer_name(settings: Settings) -> str:
    """TEAMS_DEVELOPER_NAME (the settings refuse one over 32 characters at start-up, naming
    the limit), else PARTNER_NAME, which serves mail and cards too and so may be longer: cut
    at a word to fit the manifest's 32, with "…"."""
    name = " ".join((settings.teams_developer_name or settings.partner_name).split())
    if len(name) <= DEVELOPER_NAME_MAX:
        return name
    cut = name[: DEVELOPER_NAME_MAX - 1]
    if " " in cut[DEVELOPER_NAME_MAX // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:-–") + "…"


def manifest(settings: Settings) -> dict[str, Any]:
    if not settings.microsoft_app_id:
        raise PackageError(
            "Set MICROSOFT_APP_ID to the Azure Bot's Microsoft App ID first: "
            "the package names the bot by it."
        )
    name = settings.teams_bot_name
    site = settings.teams_website_url.rstrip("/")
    return {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": settings.teams_app_version,
        "id": teams_app_id(settings),
        "developer": {
            "name": developer_name(settings),
            "websiteUrl": site,
            "privacyUrl": f"{site}/privacy",
            "termsOfUseUrl": f"{site}/terms",
        },
        "name": {"short": name[:30], "full": f"{name} – customer onboarding"[:100]},
        "description": {
            "short": "Onboard Microsoft cloud customers from Teams"[:80],
            "full": (
                "Enroll customers, send the reseller invitation, request GDAP access, "
                "create them in the MSP Hub, move billing with a P2P transfer, chase "
                "them with reminders and finish: the Customer Onboarding page, as a "
                "chat. Type help for the commands; notify here posts status changes "
                "to a channel or chat."
            ),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [
            {
                "botId": settings.microsoft_app_id,
                "scopes": ["personal", "team", "groupChat"],
                "supportsFiles": True,
                "isNotificationOnly": False,
                "commandLists": [
                    {"scopes": ["personal", "team", "groupChat"], "commands": bot_commands()}
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [],
    }


def build_package(settings: Settings, output: Path) -> Path:
    data = json.dumps(manifest(settings), indent=2, ensure_ascii=False)
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", data)
        archive.writestr("color.png", color_icon())
        archive.writestr("outline.png", outline_icon())
    return output


# -- icons ------------------------------------------------------------------------------------


def png(width: int, height: int, pixel: Any) -> bytes:
    """An RGBA PNG; `pixel(x, y)` returns (r, g, b, a)."""
    raw = io.BytesIO()
    for y in range(height):
        raw.write(b"\x00")
        raw.write(b"".join(bytes(pixel(x, y)) for x in range(width)))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw.getvalue(), 9))
        + chunk(b"IEND", b"")
    )


def _mark(u: float, v: float) -> bool:
    """A check mark inside a ring, on the unit square: the bot's sign."""
    du, dv = u - 0.5, v - 0.5
    r = (du * du + dv * dv) ** 0.5
    ring = 0.34 <= r <= 0.42

    # the check: two strokes, (0.32,0.52)->(0.45,0.65) and (0.45,0.65)->(0.70,0.38)
    def near(ax: float, ay: float, bx: float, by: float) -> bool:
        px, py = bx - ax, by - ay
        t = max(0.0, min(1.0, ((u - ax) * px + (v - ay) * py) / (px * px + py * py)))
        return ((u - ax - t * px) ** 2 + (v - ay - t * py) ** 2) ** 0.5 <= 0.045

    return ring or near(0.32, 0.52, 0.45, 0.65) or near(0.45, 0.65, 0.70, 0.38)


def color_icon(size: int = COLOR_SIZE) -> bytes:
    """Full-bleed accent background with a white mark inside Microsoft's safe area (the
    central 96×96 of 192×192), as Teams wants the colour icon."""
    white, accent = (255, 255, 255, 255), (*ACCENT, 255)
    safe = size * SAFE_AREA / COLOR_SIZE
    margin = (size - safe) / 2

    def pixel(x: int, y: int) -> tuple[int, ...]:
        u, v = (x + 0.5 - margin) / safe, (y + 0.5 - margin) / safe
        return white if 0 <= u <= 1 and 0 <= v <= 1 and _mark(u, v) else accent

    return png(size, size, pixel)


def outline_icon(size: int = 32) -> bytes:
    """White on transparent, as Teams wants the outline icon."""
    return png(
        size,
        size,
        lambda x, y: (
            (255, 255, 255, 255) if _mark((x + 0.5) / size, (y + 0.5) / size) else (0, 0, 0, 0)
        ),
    )
