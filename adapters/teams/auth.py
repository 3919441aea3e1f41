"""The Bot Framework's CloudAdapter, authenticated from settings.

With MICROSOFT_APP_ID (and its password) set, every request to /api/messages must carry a
Bot Framework JWT, which the SDK validates. With none set, authentication is off, as the Bot
Framework Emulator and the Microsoft 365 Agents Playground expect, and the endpoint accepts
clients on this machine only.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)

from settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BotConfig:
    """The names `ConfigurationBotFrameworkAuthentication` reads; never logged (password)."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TYPE: str
    APP_TENANTID: str

    def __repr__(self) -> str:
        return f"BotConfig(APP_ID={self.APP_ID!r}, APP_TYPE={self.APP_TYPE!r})"


def bot_config(settings: Settings) -> BotConfig:
    return BotConfig(
        settings.microsoft_app_id,
        settings.microsoft_app_password.get_secret_value(),
        settings.teams_app_type,
        settings.microsoft_app_tenant_id,
    )


def authentication_enabled(settings: Settings) -> bool:
    return bool(settings.microsoft_app_id)


def make_adapter(settings: Settings) -> CloudAdapter:
    return CloudAdapter(ConfigurationBotFrameworkAuthentication(bot_config(settings)))


def is_local(remote: str | None) -> bool:
    """True for a client on this machine (loopback), the only kind allowed without auth."""
    if not remote:
        return False
    try:
        return ipaddress.ip_address(remote.split("%", 1)[0]).is_loopback
    except ValueError:
        return False
