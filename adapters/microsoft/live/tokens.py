"""App-only tokens of the partner's Entra app, from msal: one confidential client for every
scope (Graph, Partner Center), msal's own cache, one renewal in flight at a time, and a way
to drop a token Microsoft stopped accepting. Shared by the live backend and Graph mail.

Tokens and credentials never reach a log or a message: errors carry Entra's error code and
the first line of its description, which name what is wrong, not the secret.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from bot.errors import ProviderError

if TYPE_CHECKING:
    from settings import Settings

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PARTNER_CENTER_SCOPE = "https://api.partnercenter.microsoft.com/.default"
PARTNER_CENTER_USER_SCOPE = "https://api.partnercenter.microsoft.com/user_impersonation"

# Entra's answers that mean the app's own credentials or registration are wrong: trying again
# with the same settings cannot help.
_CREDENTIAL_ERRORS = frozenset({"invalid_client", "unauthorized_client", "invalid_request"})


class TokenRefused(ProviderError):
    """Entra refused the app's credentials (a wrong secret, an unknown certificate, an app
    that does not exist in the tenant): permanent until the settings are fixed."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


@dataclass(frozen=True)
class ClientCertificate:
    """PARTNER_CLIENT_CERTIFICATE, read and checked: the key matches the certificate."""

    private_key_pem: str
    certificate_pem: str
    thumbprint: str  # SHA-1, hex upper case: what the Entra admin center shows
    not_valid_after: datetime
    subject: str

    def msal_credential(self) -> dict[str, str]:
        return {"private_key": self.private_key_pem, "thumbprint": self.thumbprint}


def load_certificate(value: str) -> ClientCertificate:
    """PARTNER_CLIENT_CERTIFICATE is the PEM text itself or the path of a PEM file, holding
    the (unencrypted) private key and the certificate. ValueError says what is wrong."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    text = value if "-----BEGIN" in value else ""
    if not text:
        path = Path(value).expanduser()
        if not path.is_file():
            raise ValueError("is neither PEM text nor the path of a readable PEM file")
        text = path.read_text(encoding="ascii", errors="replace")
    if "PRIVATE KEY-----" not in text:
        raise ValueError("holds no private key (PEM with the key and the certificate)")
    start = text.find("-----BEGIN CERTIFICATE-----")
    end = text.find("-----END CERTIFICATE-----", start)
    if start < 0 or end < 0:
        raise ValueError("holds no certificate (PEM with the key and the certificate)")
    certificate_pem = text[start : end + len("-----END CERTIFICATE-----")]
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"cannot be read ({reason[:120]}); it must be unencrypted PEM") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    if key.public_key().public_bytes(encoding, public) != certificate.public_key().public_bytes(
        encoding, public
    ):
        raise ValueError("holds a private key that does not belong to its certificate")
    return ClientCertificate(
        private_key_pem=text,
        certificate_pem=certificate_pem,
        thumbprint=certificate.fingerprint(hashes.SHA1()).hex().upper(),  # as Entra shows it
        not_valid_after=certificate.not_valid_after_utc,
        subject=certificate.subject.rfc4514_string(),
    )


def certificate_credential(value: str) -> dict[str, str]:
    """msal's certificate credential (private key and SHA-1 thumbprint) for the PEM."""
    return load_certificate(value).msal_credential()


def token_claims(token: str) -> dict[str, Any]:
    """The claims of an access token, unverified: only to tell an operator what Entra put
    in it (`roles`, `aud`); the bot never trusts a token for anything."""
    try:
        payload = token.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (IndexError, ValueError):
        return {}


class MsalHttp:
    """msal's `http_client` (the `requests`-like get/post it calls) over an httpx.Client,
    so msal shares its TLS settings (SSL_CERT_FILE) and connection pool. msal hands some
    form values as bytes (the signed client assertion); httpx would send their repr, so
    they are decoded here."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def post(
        self,
        url: str,
        params: dict[str, Any] | None = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        timeout = kwargs.get("timeout")
        if isinstance(data, dict):
            form = {k: v.decode() if isinstance(v, bytes) else v for k, v in data.items()}
            return self.http.post(
                url, params=params, data=form, headers=headers, timeout=timeout or 10.0
            )
        return self.http.post(
            url, params=params, content=data, headers=headers, timeout=timeout or 10.0
        )

    def get(
        self,
        url: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        return self.http.get(
            url, params=params, headers=headers, timeout=kwargs.get("timeout") or 10.0
        )

    def close(self) -> None:
        self.http.close()


class AppTokens:
    """App-only tokens of one Entra app, for any scope."""

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        credential: str | dict[str, str],
        login_url: str,
        http: httpx.Client,
    ) -> None:
        self.authority = f"{login_url.rstrip('/')}/{tenant_id}"
        self.client_id = client_id
        self.credential = credential
        self.http = http
        self._app: Any = None
        self._lock = threading.Lock()

    def _client(self) -> Any:
        import msal

        if self._app is None:
            host = urlsplit(self.authority).hostname or ""
            self._app = msal.ConfidentialClientApplication(
                self.client_id,
                authority=self.authority,
                client_credential=self.credential,
                http_client=MsalHttp(self.http),  # honours SSL_CERT_FILE like every client
                # Microsoft's own login hosts are known to msal; any other (a sovereign
                # cloud's proxy, a test's loopback server) is trusted as configured.
                instance_discovery=None if host == "login.microsoftonline.com" else False,
            )
        return self._app

    def get(self, scope: str) -> str:
        """A token for `scope`: msal's cached one while it is fresh, else a new one. The lock
        makes concurrent callers wait for one renewal instead of each asking Entra."""
        with self._lock:
            try:
                result = self._client().acquire_token_for_client(scopes=[scope])
            except (ValueError, RuntimeError, httpx.HTTPError) as err:  # discovery, network
                self._app = None
                said = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
                raise ProviderError(
                    f"cannot get a token from {self.authority}: {said}: the bot will try again"
                ) from None
        if "access_token" not in result:
            code = str(result.get("error", "error"))
            said = "".join(str(result.get("error_description", "")).splitlines()[0:1])[:300]
            message = (
                f"Microsoft refused the app's credentials ({code}: {said}): check "
                "PARTNER_TENANT_ID, PARTNER_CLIENT_ID and PARTNER_CLIENT_CERTIFICATE or "
                "PARTNER_CLIENT_SECRET; run python app.py doctor"
            )
            if code in _CREDENTIAL_ERRORS:
                raise TokenRefused(message)
            raise ProviderError(message)
        return str(result["access_token"])

    def forget(self, scope: str) -> None:
        """After a 401: drop the cached token for `scope`, so the next `get` asks Entra."""
        import msal

        with self._lock:
            if self._app is None:
                return
            cache = self._app.token_cache
            kind = msal.TokenCache.CredentialType.ACCESS_TOKEN
            for entry in list(cache.search(kind, target=[scope])):
                cache.remove_at(entry)

    def scoped(self, scope: str) -> AppToken:
        return AppToken(self, scope)


class AppToken:
    """The tokens of one scope (what one API client needs): `get` and `forget`."""

    def __init__(self, tokens: AppTokens, scope: str = GRAPH_SCOPE) -> None:
        self.tokens = tokens
        self.scope = scope

    def get(self) -> str:
        return self.tokens.get(self.scope)

    def forget(self) -> None:
        self.tokens.forget(self.scope)


def app_tokens(settings: Settings, http: httpx.Client) -> AppTokens:
    """The token provider of the app the settings name (certificate preferred)."""
    credential: str | dict[str, str]
    if settings.partner_client_certificate is not None:
        credential = certificate_credential(settings.partner_client_certificate.get_secret_value())
    else:
        assert settings.partner_client_secret is not None  # settings checked it
        credential = settings.partner_client_secret.get_secret_value()
    return AppTokens(
        tenant_id=settings.partner_tenant_id,
        client_id=settings.partner_client_id,
        credential=credential,
        login_url=settings.microsoft_login_url,
        http=http,
    )
