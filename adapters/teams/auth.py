"""The Bot Framework's CloudAdapter, authenticated with the Azure Bot's credentials.

With MICROSOFT_APP_ID (and its password) set, every request to /api/messages must carry a
Bot Framework JWT, which the SDK validates. With none set, authentication is off, as the Bot
Framework Emulator and the Microsoft 365 Agents Playground expect, and the endpoint accepts
clients on this machine only.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field

from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    """The Azure Bot's app registration. With no `app_id`, authentication is off and only
    clients on this machine are accepted; the password is never shown."""

    app_id: str = ""
    password: str = field(default="", repr=False)
    tenant_id: str = ""
    app_type: str = "MultiTenant"  # or "SingleTenant", "UserAssignedMSI"

    @property
    def enabled(self) -> bool:
        return bool(self.app_id)


@dataclass(frozen=True)
class BotConfig:
    """The names `ConfigurationBotFrameworkAuthentication` reads; never logged (password)."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TYPE: str
    APP_TENANTID: str

    def __repr__(self) -> str:
        return f"BotConfig(APP_ID={self.APP_ID!r}, APP_TYPE={self.APP_TYPE!r})"


def bot_config(credentials: Credentials) -> BotConfig:
    return BotConfig(
        credentials.app_id, credentials.password, credentials.app_type, credentials.tenant_id
    )


def make_adapter(credentials: Credentials) -> CloudAdapter:
    return CloudAdapter(ConfigurationBotFrameworkAuthentication(bot_config(credentials)))


def is_local(remote: str | None) -> bool:
    """True for a client on this machine (loopback), the only kind allowed without auth."""
    if not remote:
        return False
    try:
        return ipaddress.ip_address(remote.split("%", 1)[0]).is_loopback
    except ValueError:
        return False
