"""/api/messages with Bot Framework credentials set: a request without a valid token is refused
with 401 and changes nothing, and nothing tries to reach Microsoft to decide that. Without
credentials, only clients on this machine are accepted."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from app import build, make_web_app
from settings import Settings
from tests.e2e.teams_support import PERSONAL, FakeConnector, TeamsClient, loopback_only, serving

__all__ = ["loopback_only"]


@pytest.fixture
async def secured(
    tmp_path: Path, loopback_only: list[str]
) -> AsyncIterator[tuple[TeamsClient, FakeConnector, list[str]]]:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        microsoft_app_id="00000000-0000-0000-0000-00000000b07a",
        microsoft_app_password="not-a-real-secret",
        microsoft_app_tenant_id="00000000-0000-0000-0000-0000000007e7",
    )
    bot = build(settings)
    connector = FakeConnector()
    async with (
        serving(connector.app()) as connector_url,
        serving(make_web_app(bot)) as bot_url,
        aiohttp.ClientSession() as session,
    ):
        connector.url = connector_url
        yield TeamsClient(bot_url, connector, session), connector, loopback_only
    listing = bot.dispatcher.service.customers.dashboard()
    assert listing.total == 0  # nothing was enrolled by the refused requests
    bot.engine.dispose()


def forged_token(issuer: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    return jwt.encode(
        {
            "iss": issuer,
            "aud": "00000000-0000-0000-0000-00000000b07a",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "serviceurl": "http://127.0.0.1",
        },
        key,
        algorithm="RS256",
        headers={"kid": "forged"},
    )


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer not-a-token",
        "Basic dXNlcjpwYXNz",
        f"Bearer {forged_token('https://attacker.example.com')}",
    ],
    ids=["missing", "empty", "garbage", "basic", "foreign-issuer"],
)
async def test_request_without_a_valid_token_is_refused(secured, authorization):
    client, connector, off_machine = secured
    if authorization:
        client.headers["Authorization"] = authorization
    activity = client.base(PERSONAL, "message")
    activity["text"] = 'enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US'
    response = await client.post(activity)
    assert response.status == 401
    assert connector.sent == []
    assert off_machine == []


async def test_without_credentials_only_local_clients_are_accepted(tmp_path: Path):
    from adapters.teams.auth import is_local

    assert is_local("127.0.0.1") and is_local("::1")
    assert not is_local("10.0.0.7") and not is_local("203.0.113.9") and not is_local(None)


def test_password_is_never_shown():
    settings = Settings(
        _env_file=None,
        microsoft_app_id="app",
        microsoft_app_password="s3cr3t",
        microsoft_app_tenant_id="tenant",
    )
    from adapters.teams.auth import Credentials, bot_config

    credentials = Credentials("app", "s3cr3t", "tenant", settings.teams_app_type)
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in repr(credentials)
    assert "s3cr3t" not in repr(bot_config(credentials))
    assert settings.teams_app_type == "SingleTenant"
