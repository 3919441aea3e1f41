"""Who may post to /api/messages: the Azure Bot's credentials, the Bot Framework token check,
and the local-clients-only rule when there are no credentials.

With MICROSOFT_APP_ID (and its password) set, every request must carry a Bot Framework JWT.
It is checked here with PyJWT against Microsoft's signing keys (`OpenIdKeys`), which are
fetched and refreshed in the background with a timeout, never on a request's path and never
with a blocking call: the SDK's own validator fetches them with `requests` on the event loop,
so a slow key endpoint froze the whole bot. The SDK's `CloudAdapter` still sends the replies.

With none set, authentication is off, as the Bot Framework Emulator and the Microsoft 365
Agents Playground expect, and a request is accepted only when the bot listens on a loopback
address and the request came straight from loopback (`local_refusal`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import jwt
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity, CallerIdConstants
from botframework.connector.auth import (  # type: ignore[import-untyped]
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)

log = logging.getLogger(__name__)
AUDIENCE_CLAIM = AuthenticationConstants.AUDIENCE_CLAIM
APP_ID_CLAIM = AuthenticationConstants.APP_ID_CLAIM

OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
CHANNEL_ISSUER = "https://api.botframework.com"  # who signs what Teams sends a bot
ALGORITHMS = ["RS256"]  # what Microsoft signs with; never "none" or an HMAC
LEEWAY = 300  # seconds of clock skew, as the Bot Framework SDKs allow
FETCH_TIMEOUT = 10.0  # seconds for the metadata and the keys together
KEY_WAIT = 5.0  # how long a request waits for keys being fetched before it is refused
REFRESH_EVERY = 24 * 3600.0  # Microsoft rotates its keys rarely and announces them early
RETRY_EVERY = 30.0  # after a failed fetch
UNKNOWN_KEY_REFETCH = 300.0  # an unknown key id fetches again at most this often
# Headers a reverse proxy adds: a request that has one did not come straight from this machine.
FORWARDING_HEADERS = (
    "Forwarded",
    "X-Forwarded-For",
    "X-Real-IP",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
    "Via",
)


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


# -- without credentials: this machine only ---------------------------------------------------


def is_local(remote: str | None) -> bool:
    """True for a client on this machine (loopback), the only kind allowed without auth."""
    if not remote:
        return False
    try:
        return ipaddress.ip_address(remote.split("%", 1)[0].strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback_host(host: str) -> bool:
    """Whether HOST (where the server listens) is reachable from this machine only."""
    return host.strip().lower() == "localhost" or is_local(host.strip())


def local_refusal(listen_host: str, remote: str | None, headers: Mapping[str, str]) -> str:
    """Why a request without credentials is refused ("" when it is accepted): the bot must
    listen on loopback, and the request must come straight from loopback, not through a
    proxy on this machine (which would make every client of the proxy look local)."""
    if not is_loopback_host(listen_host):
        return f"HOST={listen_host} is not a loopback address"
    if not is_local(remote):
        return f"the client {remote} is not on this machine"
    forwarded = next((h for h in FORWARDING_HEADERS if h in headers), None)
    if forwarded:
        return f"it came through a proxy ({forwarded} header)"
    return ""


# -- with credentials: the Bot Framework token --------------------------------------------------


class Unauthorized(PermissionError):
    """The request's token is missing or not valid; `reason` is one short line for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SigningKey:
    key: jwt.PyJWK
    endorsements: frozenset[str]  # the channels ("msteams", ...) the key may sign for


class OpenIdKeys:
    """Microsoft's token signing keys, from the OpenID metadata document's `jwks_uri`: kept in
    memory, fetched in the background with a timeout (at start, every `REFRESH_EVERY`, sooner
    after a failure or for an unknown key id) over async HTTP, so nothing waits on the event
    loop for Microsoft."""

    def __init__(self, metadata_url: str = OPENID_METADATA_URL) -> None:
        self.metadata_url = metadata_url
        self.keys: dict[str, SigningKey] = {}
        self.fetched_at = 0.0  # monotonic time of the last successful fetch
        self.tried_at = -1e9  # and of the last attempt
        self._fetching: asyncio.Task[bool] | None = None
        self._refresher: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Starts the background refresher on the running loop (the first fetch at once)."""
        if self._refresher is None:
            self._refresher = asyncio.get_running_loop().create_task(self._refresh_forever())

    async def stop(self) -> None:
        for task in (self._refresher, self._fetching):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._refresher = self._fetching = None

    async def _refresh_forever(self) -> None:
        while True:
            ok = await self.refresh()
            await asyncio.sleep(REFRESH_EVERY if ok else RETRY_EVERY)

    def refresh(self) -> asyncio.Future[bool]:
        """One fetch at a time: a caller while one runs shares its outcome."""
        if self._fetching is None or self._fetching.done():
            self._fetching = asyncio.get_running_loop().create_task(self._fetch())
        return asyncio.shield(self._fetching)

    async def get(self, kid: str) -> SigningKey | None:
        """The key `kid`; when it is not known, waits at most `KEY_WAIT` for a fetch (one
        running, or one started now if the last attempt is old enough), then None."""
        if kid in self.keys:
            return self.keys[kid]
        running = self._fetching is not None and not self._fetching.done()
        every = UNKNOWN_KEY_REFETCH if self.keys else RETRY_EVERY  # not once per request
        if running or time.monotonic() - self.tried_at > every:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.refresh(), KEY_WAIT)
        return self.keys.get(kid)

    async def _fetch(self) -> bool:
        import httpx  # with credentials only, once running: not part of start-up

        self.tried_at = time.monotonic()
        try:
            keys = await asyncio.wait_for(self._download(), FETCH_TIMEOUT)
        except TimeoutError:
            log.warning("Bot Framework signing keys: no answer in %.0f s", FETCH_TIMEOUT)
            return False
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as err:
            log.warning("Bot Framework signing keys not fetched: %s", _short(err))
            return False
        if not keys:
            log.warning("Bot Framework signing keys: the key set is empty")
            return False
        self.keys, self.fetched_at = keys, time.monotonic()
        log.info("Bot Framework signing keys fetched: %d", len(keys))
        return True

    async def _download(self) -> dict[str, SigningKey]:
        import httpx

        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False) as http:
            metadata = (await http.get(self.metadata_url)).raise_for_status().json()
            jwks_uri = str(metadata["jwks_uri"])
            if urlparse(self.metadata_url).scheme == "https" and not jwks_uri.startswith(
                "https://"
            ):
                raise ValueError("the metadata's jwks_uri is not HTTPS")
            document = (await http.get(jwks_uri)).raise_for_status().json()
        keys: dict[str, SigningKey] = {}
        for entry in document["keys"]:
            if not isinstance(entry, dict) or entry.get("kty") != "RSA" or not entry.get("kid"):
                continue
            try:
                key = jwt.PyJWK(entry, algorithm="RS256")
            except jwt.PyJWTError:
                continue
            endorsements = frozenset(str(e) for e in entry.get("endorsements") or [])
            keys[str(entry["kid"])] = SigningKey(key, endorsements)
        return keys


class TokenValidator:
    """A Bot Framework channel token: RS256, signed by one of Microsoft's keys endorsed for
    the activity's channel, issued by the Bot Framework for this bot (the audience is its app
    id), within its lifetime, and for the `serviceUrl` the activity names."""

    def __init__(self, app_id: str, keys: OpenIdKeys) -> None:
        self.app_id = app_id
        self.keys = keys

    async def validate(
        self, header: str, *, channel_id: str | None = None, service_url: str | None = None
    ) -> dict[str, Any]:
        scheme, _, token = (header or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("no Bearer token")
        token = token.strip()
        try:
            unverified = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("malformed token") from None
        alg = unverified.get("alg")
        if alg not in ALGORITHMS:
            raise Unauthorized(f"token algorithm {str(alg)[:20]!r} is not accepted")
        kid = unverified.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("token names no signing key")
        signing = await self.keys.get(kid)
        if signing is None:
            raise Unauthorized(
                "token signed by an unknown key"
                if self.keys.keys
                else "the Bot Framework signing keys are not available yet"
            )
        if channel_id is not None and channel_id not in signing.endorsements:
            raise Unauthorized(f"the signing key is not endorsed for channel {channel_id[:20]!r}")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                signing.key,
                algorithms=ALGORITHMS,
                audience=self.app_id,
                issuer=CHANNEL_ISSUER,
                leeway=LEEWAY,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as err:
            raise Unauthorized(f"token refused ({type(err).__name__})") from None
        if service_url is not None:
            claimed = str(claims.get("serviceurl") or claims.get("serviceUrl") or "")
            if not claimed or claimed.rstrip("/").lower() != service_url.rstrip("/").lower():
                raise Unauthorized("the token's serviceUrl is not the activity's")
        return claims


class ReusedClients:
    """The SDK's Bot Framework clients, kept from turn to turn.

    `CloudAdapter` asks for a new connector client (the replies) and a new user token client
    on every turn, and each is a new msrest client with a new `requests` session: every
    reply opened a new TCP (and, with Teams, TLS) connection to the connector, and building
    the two clients' retry settings alone cost milliseconds. A client is the same for the
    same bot app id, service URL and audience, so one is made per such key and kept (the
    newest `LIMIT`; the service URLs are Teams' few regional ones). Its session keeps its
    connections open, and its credentials keep and renew their token as before."""

    LIMIT = 64

    def __init__(self) -> None:
        self._clients: OrderedDict[tuple[str, ...], Any] = OrderedDict()

    async def get(self, key: tuple[str, ...], make: Callable[[], Awaitable[Any]]) -> Any:
        client = self._clients.get(key)
        if client is None:
            client = await make()  # a failure (an app id refused) is not kept
            self._clients[key] = client
            while len(self._clients) > self.LIMIT:
                self._clients.popitem(last=False)
        self._clients.move_to_end(key)
        return client


class _ReusingConnectorFactory(ConnectorFactory):
    """The SDK's connector factory for one caller, answering from `ReusedClients`."""

    def __init__(self, inner: ConnectorFactory, app_id: str, clients: ReusedClients) -> None:
        self.inner = inner
        self.app_id = app_id
        self.clients = clients

    async def create(self, service_url: str, audience: str | None = None) -> Any:
        key = ("connector", self.app_id, service_url or "", audience or "")
        return await self.clients.get(key, lambda: self.inner.create(service_url, audience))


def _app_id_of(identity: ClaimsIdentity) -> str:
    """The bot app id the SDK makes a caller's clients for (its `get_app_id`)."""
    claims = (identity.claims if identity is not None else None) or {}
    app_id = claims.get(AUDIENCE_CLAIM)
    if app_id is None:
        app_id = claims.get(APP_ID_CLAIM)
    return str(app_id or "")


class TeamsAuthentication(BotFrameworkAuthentication):
    """The SDK's authentication with the token check replaced by `TokenValidator`; everything
    else (the connector that sends replies, its outgoing credentials) is the SDK's own, its
    clients kept across turns (`ReusedClients`)."""

    def __init__(self, credentials: Credentials, validator: TokenValidator) -> None:
        self.enabled = credentials.enabled
        self.validator = validator
        self.inner = ConfigurationBotFrameworkAuthentication(bot_config(credentials))
        self.clients = ReusedClients()

    def result_for(self, claims: dict[str, Any]) -> AuthenticateRequestResult:
        """What the adapter needs to run a turn whose token `validate` accepted."""
        identity = ClaimsIdentity(claims, True, "Bearer")
        result = AuthenticateRequestResult()
        result.claims_identity = identity
        result.audience = self.inner.get_originating_audience()
        result.caller_id = CallerIdConstants.public_azure_channel
        result.connector_factory = self.create_connector_factory(identity)
        return result

    async def authenticate_request(
        self, activity: Activity, auth_header: str
    ) -> AuthenticateRequestResult:
        if not self.enabled:  # the SDK's anonymous path; it never fetches keys without a header
            result = await self.inner.authenticate_request(activity, "")
            result.connector_factory = self.create_connector_factory(result.claims_identity)
            return result
        claims = await self.validator.validate(
            auth_header, channel_id=activity.channel_id or "", service_url=activity.service_url
        )
        return self.result_for(claims)

    async def authenticate_streaming_request(
        self, auth_header: str, channel_id_header: str
    ) -> AuthenticateRequestResult:
        raise Unauthorized("streaming connections are not served")

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return _ReusingConnectorFactory(
            self.inner.create_connector_factory(claims_identity),
            _app_id_of(claims_identity),
            self.clients,
        )

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        return await self.clients.get(
            ("user token", _app_id_of(claims_identity)),
            lambda: self.inner.create_user_token_client(claims_identity),
        )

    def get_originating_audience(self) -> str:
        return self.inner.get_originating_audience()

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        raise Unauthorized("skill callbacks are not served")


def make_adapter(authentication: TeamsAuthentication) -> CloudAdapter:
    return CloudAdapter(authentication)


def _short(err: Exception) -> str:
    text = " ".join(str(err).split())[:120]
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
