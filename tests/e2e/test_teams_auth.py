"""Who may post to /api/messages, through HTTP to the real app.

With Bot Framework credentials: the token is checked against a loopback OpenID metadata +
JWKS server (BOT_OPENID_METADATA_URL) with an RSA key made here; a token signed by a key in
that JWKS with the right issuer, audience and serviceUrl passes, every other kind is refused
with 401 and changes nothing, and while the key endpoint hangs the event loop keeps
answering /healthz. Without credentials: only a bot listening on loopback, and only a request
straight from loopback (no proxy headers). A body that is not an activity gets 400 (or 401
first, when a token is required and missing), one log line and no traceback.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app import Bot, build, make_web_app
from settings import Settings
from tests.e2e.teams_support import (
    PERSONAL,
    TENANT,
    FakeConnector,
    TeamsClient,
    TeamsUser,
    loopback_only,
    serving,
)

__all__ = ["loopback_only"]

APP_ID = "00000000-0000-0000-0000-00000000b07a"
ISSUER = "https://api.botframework.com"
KID = "test-key-1"
ENROLL = 'enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US'
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class OpenIdServer:
    """Microsoft's OpenID metadata document and key set, on loopback; `hang` makes the key
    endpoint answer never (until the test ends)."""

    url: str = ""
    hang: bool = False
    requests: list[str] = field(default_factory=list)
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/.well-known/openidconfiguration", self._metadata)
        app.router.add_get("/v1/keys", self._keys)
        return app

    async def _metadata(self, request: web.Request) -> web.Response:
        self.requests.append("metadata")
        return web.json_response(
            {
                "issuer": ISSUER,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": f"{self.url}/v1/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        self.requests.append("keys")
        if self.hang:
            await self._release.wait()
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
        jwk.update(kid=KID, use="sig", endorsements=["msteams"])
        return web.json_response({"keys": [jwk]})

    def release(self) -> None:
        self._release.set()


def claims(service_url: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": APP_ID,
        "iat": now - 10,
        "nbf": now - 10,
        "exp": now + 600,
        "serviceurl": service_url,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def signed(payload: dict[str, Any], key: Any = KEY, kid: str = KID) -> str:
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


def unsigned(payload: dict[str, Any]) -> str:
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": KID}).encode())
    return f"{header}.{b64(json.dumps(payload).encode())}."


def hs256_with_the_public_key(payload: dict[str, Any]) -> str:
    """The algorithm-confusion attack: HMAC keyed with the public key's PEM, which a
    validator that lets the token pick its algorithm would accept."""
    secret = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KID}).encode())
    body = b64(json.dumps(payload).encode())
    mac = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(mac)}"


@dataclass
class Secured:
    bot: Bot
    client: TeamsClient
    connector: FakeConnector
    openid: OpenIdServer
    bot_url: str
    session: aiohttp.ClientSession

    @property
    def service_url(self) -> str:
        return self.connector.url + "/"

    def customers(self) -> int:
        return self.bot.service.customers.dashboard().total

    async def enroll(self, authorization: str | None) -> aiohttp.ClientResponse:
        self.client.headers.clear()
        if authorization is not None:
            self.client.headers["Authorization"] = authorization
        activity = self.client.base(PERSONAL, "message")
        activity["text"] = ENROLL
        return await self.client.post(activity)


@pytest.fixture
def outgoing_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token the bot sends its replies with comes from Entra (msal), which is not under
    test here: a fixed one, so the replies reach the loopback connector."""
    from botframework.connector.auth import MicrosoftAppCredentials

    monkeypatch.setattr(
        MicrosoftAppCredentials, "get_access_token", lambda self, force_refresh=False: "outgoing"
    )


async def _secured(
    tmp_path: Path, openid: OpenIdServer, *, wait_for_keys: bool = True
) -> AsyncIterator[Secured]:
    connector = FakeConnector()
    async with (
        serving(openid.app()) as openid_url,
        serving(connector.app()) as connector_url,
        aiohttp.ClientSession() as session,
    ):
        openid.url, connector.url = openid_url, connector_url
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            microsoft_app_id=APP_ID,
            microsoft_app_password="not-a-real-secret",
            microsoft_app_tenant_id=TENANT,
            bot_openid_metadata_url=f"{openid_url}/v1/.well-known/openidconfiguration",
            bot_admins=f"teams:{TENANT}:{TeamsUser().aad_object_id}",
        )
        bot = build(settings)
        async with serving(make_web_app(bot)) as bot_url:
            if wait_for_keys:
                for _ in range(100):
                    if bot.teams and bot.teams.keys.keys:
                        break
                    await asyncio.sleep(0.02)
            yield Secured(
                bot, TeamsClient(bot_url, connector, session), connector, openid, bot_url, session
            )
            openid.release()
        bot.engine.dispose()


@pytest.fixture
async def secured(
    tmp_path: Path, loopback_only: list[str], outgoing_token: None
) -> AsyncIterator[Secured]:
    async for world in _secured(tmp_path, OpenIdServer()):
        yield world
    assert loopback_only == []  # nothing tried to reach Microsoft


async def test_a_token_signed_by_a_key_in_the_jwks_passes(secured: Secured):
    response = await secured.enroll(f"Bearer {signed(claims(secured.service_url))}")
    assert response.status in (200, 201)
    (reply,) = secured.connector.sent
    assert "Enrolled ABC Technologies Inc." in reply.text
    assert secured.connector.headers_seen[0]["Authorization"] == "Bearer outgoing"
    assert secured.customers() == 1
    assert secured.openid.requests == ["metadata", "keys"]  # fetched once, at start


def _bad_tokens(service_url: str) -> dict[str, str | None]:
    return {
        "missing": None,
        "empty": "Bearer",
        "garbage": "Bearer not-a-token",
        "basic": "Basic dXNlcjpwYXNz",
        "wrong-audience": f"Bearer {signed(claims(service_url, aud='someone-else'))}",
        "no-audience": f"Bearer {signed(claims(service_url, aud=None))}",
        "wrong-issuer": f"Bearer {signed(claims(service_url, iss='https://attacker.example'))}",
        "expired": f"Bearer {signed(claims(service_url, exp=int(time.time()) - 3600))}",
        "not-yet-valid": f"Bearer {signed(claims(service_url, nbf=int(time.time()) + 3600))}",
        "alg-none": f"Bearer {unsigned(claims(service_url))}",
        "hs256-public-key": f"Bearer {hs256_with_the_public_key(claims(service_url))}",
        "key-not-in-jwks": f"Bearer {signed(claims(service_url), OTHER_KEY, 'other-key')}",
        "other-key-same-kid": f"Bearer {signed(claims(service_url), OTHER_KEY)}",
        "wrong-service-url": f"Bearer {signed(claims('https://smba.attacker.example/'))}",
        "no-service-url": f"Bearer {signed(claims(service_url, serviceurl=None))}",
    }


BAD = list(_bad_tokens("").keys())


@pytest.mark.parametrize("case", BAD)
async def test_every_other_token_is_refused_and_changes_nothing(
    secured: Secured, case: str, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO)
    response = await secured.enroll(_bad_tokens(secured.service_url)[case])
    assert response.status == 401
    assert secured.connector.sent == []
    assert secured.customers() == 0
    assert "Traceback" not in caplog.text
    refused = [r for r in caplog.records if "refused /api/messages" in r.getMessage()]
    assert len(refused) == 1 and "\n" not in refused[0].getMessage()


async def test_while_the_key_endpoint_hangs_the_bot_keeps_answering(
    tmp_path: Path,
    loopback_only: list[str],
    outgoing_token: None,
    monkeypatch: pytest.MonkeyPatch,
):
    from adapters.teams import auth

    monkeypatch.setattr(auth, "KEY_WAIT", 1.0)
    monkeypatch.setattr(auth, "FETCH_TIMEOUT", 2.0)
    openid = OpenIdServer(hang=True)
    async for world in _secured(tmp_path, openid, wait_for_keys=False):
        token = f"Bearer {signed(claims(world.service_url))}"
        pending = asyncio.create_task(world.enroll(token))
        loop = asyncio.get_running_loop()
        for _ in range(5):
            started = loop.time()
            async with world.session.get(f"{world.bot_url}/healthz") as health:
                assert health.status == 200
            assert loop.time() - started < 0.5, "the event loop was blocked"
            await asyncio.sleep(0.1)
        response = await asyncio.wait_for(pending, 5)
        assert response.status == 401  # fail closed while the keys are unavailable
        assert world.connector.sent == [] and world.customers() == 0
        assert "keys" in openid.requests
    assert loopback_only == []


# -- bodies that are not an activity ---------------------------------------------------------

BODIES = {
    "malformed-json": ("application/json", b'{"type": "message", "text": '),
    "empty-body": ("application/json", b""),
    "json-array": ("application/json", b'[{"type": "message"}]'),
    "no-type": ("application/json", b'{"text": "cancel abctech.com --yes"}'),
    "form-encoded": ("application/x-www-form-urlencoded", b"type=message&text=status"),
    "text-plain": ("text/plain", b'{"type": "message", "text": "status"}'),
}


async def _post(
    session: aiohttp.ClientSession, url: str, content_type: str, body: bytes, **headers: str
) -> int:
    async with session.post(
        f"{url}/api/messages", data=body, headers={"Content-Type": content_type, **headers}
    ) as response:
        await response.read()
        return response.status


def _app_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith(("adapters", "aiohttp.server"))]


@pytest.mark.parametrize("case", list(BODIES))
async def test_a_body_that_is_not_an_activity_is_400_in_one_line(
    world_local: Local, case: str, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    content_type, body = BODIES[case]
    assert await _post(world_local.session, world_local.bot_url, content_type, body) == 400
    assert "Traceback" not in caplog.text
    (line,) = _app_lines(caplog)
    assert line.levelno == logging.WARNING and line.exc_info is None
    assert f"({len(body)} bytes)" in line.getMessage()
    assert world_local.connector.sent == [] and world_local.customers() == 0


@pytest.mark.parametrize("case", list(BODIES))
async def test_with_credentials_a_bad_body_without_a_token_is_401_with_one(
    secured: Secured, case: str, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    content_type, body = BODIES[case]
    assert await _post(secured.session, secured.client.bot_url, content_type, body) == 401
    token = f"Bearer {signed(claims(secured.service_url))}"
    status = await _post(
        secured.session, secured.client.bot_url, content_type, body, Authorization=token
    )
    assert status == 400
    assert "Traceback" not in caplog.text
    assert len([r for r in _app_lines(caplog) if "refused" in r.getMessage()]) == 2
    assert secured.connector.sent == [] and secured.customers() == 0


# -- without credentials: this machine only ------------------------------------------------------


@dataclass
class Local:
    bot: Bot
    client: TeamsClient
    connector: FakeConnector
    bot_url: str
    session: aiohttp.ClientSession

    def customers(self) -> int:
        return self.bot.service.customers.dashboard().total


async def _local(tmp_path: Path, host: str) -> AsyncIterator[Local]:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        host=host,
        bot_admins=f"teams:{TENANT}:{TeamsUser().aad_object_id}",
    )
    bot = build(settings)
    connector = FakeConnector()
    async with (
        serving(connector.app()) as connector_url,
        serving(make_web_app(bot)) as bot_url,  # on 127.0.0.1 whatever HOST says
        aiohttp.ClientSession() as session,
    ):
        connector.url = connector_url
        yield Local(bot, TeamsClient(bot_url, connector, session), connector, bot_url, session)
    bot.engine.dispose()


@pytest.fixture
async def world_local(tmp_path: Path, loopback_only: list[str]) -> AsyncIterator[Local]:
    async for world in _local(tmp_path, "127.0.0.1"):
        yield world


async def test_a_local_client_straight_from_loopback_is_served(world_local: Local):
    sent = await world_local.client.say(PERSONAL, ENROLL)
    assert "Enrolled ABC Technologies Inc." in sent[-1].text
    assert world_local.customers() == 1


@pytest.mark.parametrize(
    "header",
    [
        ("X-Forwarded-For", "203.0.113.9"),
        ("Forwarded", "for=203.0.113.9;proto=https"),
        ("X-Real-IP", "203.0.113.9"),
    ],
    ids=lambda h: h[0],
)
async def test_a_request_through_a_proxy_on_this_machine_is_refused(
    world_local: Local, header: tuple[str, str]
):
    world_local.client.headers[header[0]] = header[1]
    activity = world_local.client.base(PERSONAL, "message")
    activity["text"] = ENROLL
    response = await world_local.client.post(activity)
    assert response.status == 401
    assert world_local.connector.sent == [] and world_local.customers() == 0


async def test_without_credentials_on_a_public_host_teams_is_off_and_says_how_to_turn_it_on(
    tmp_path: Path, loopback_only: list[str], caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO)
    async for world in _local(tmp_path, "0.0.0.0"):
        activity = world.client.base(PERSONAL, "message")
        activity["text"] = ENROLL
        response = await world.client.post(activity)  # from 127.0.0.1, no proxy headers
        assert response.status == 401
        assert world.connector.sent == [] and world.customers() == 0
    (line,) = [r for r in caplog.records if "Teams is off" in r.getMessage()]
    assert "HOST=0.0.0.0" in line.getMessage() and "MICROSOFT_APP_ID" in line.getMessage()


def test_local_means_loopback_only():
    from adapters.teams.auth import is_local, is_loopback_host

    assert is_local("127.0.0.1") and is_local("::1")
    assert not is_local("10.0.0.7") and not is_local("203.0.113.9") and not is_local(None)
    assert is_loopback_host("localhost") and is_loopback_host("127.0.0.1")
    assert not is_loopback_host("0.0.0.0") and not is_loopback_host("::")


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
