"""The Microsoft Graph mail backend: `POST /v1.0/users/{MAIL_FROM}/sendMail` with an
app-only token (application permission `Mail.Send`) of the partner's Entra app, from msal.

Graph takes one body per message, so the HTML part is sent (Exchange adds the plain-text
alternative itself). The Message-ID derived from the ledger key goes in `internetMessageId`,
and the ledger key's digest in an `X-Onboarding-Delivery` header, so a mail sent again after
a crash is recognisably the same message. 429 / 503 / 504 are retried after Retry-After; a
refused recipient (400) is given up and shown on the customer's card. Bounces that Exchange
reports later, as a non-delivery report in the MAIL_FROM mailbox, are not seen by the bot.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from email.headerregistry import Address
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from adapters.mail.mime import ascii_address, message_id, parse_mailbox
from bot.errors import ProviderError
from bot.records import Mail

log = logging.getLogger(__name__)

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
TIMEOUT_SECONDS = 30.0
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_RETRY_AFTER = 60.0  # seconds, when a 429/503 names no Retry-After


def certificate_credential(value: str) -> dict[str, str]:
    """msal's certificate credential from PARTNER_CLIENT_CERTIFICATE: the PEM text itself,
    or the path of a PEM file, holding the private key and the certificate. msal (≥ 1.35)
    computes the SHA-256 thumbprint from the certificate. ValueError says what is missing."""
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
    certificate = text[start : end + len("-----END CERTIFICATE-----")]
    return {"private_key": text, "public_certificate": certificate}


class AppToken:
    """App-only tokens of one Entra app for one scope: msal's cache, one renewal at a time,
    never logged. Shared with the live Microsoft backend when it comes (same settings)."""

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        credential: str | dict[str, str],
        login_url: str,
        http: httpx.Client,
        scope: str = GRAPH_SCOPE,
    ) -> None:
        self.authority = f"{login_url.rstrip('/')}/{tenant_id}"
        self.client_id = client_id
        self.credential = credential
        self.http = http
        self.scope = scope
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
                http_client=self.http,  # honours SSL_CERT_FILE, like every client here
                # Microsoft's own login hosts are known to msal; any other (a sovereign
                # cloud's proxy, a test's loopback server) is trusted as configured.
                instance_discovery=None if host == "login.microsoftonline.com" else False,
            )
        return self._app

    def get(self) -> str:
        with self._lock:
            try:
                result = self._client().acquire_token_for_client(scopes=[self.scope])
            except (ValueError, RuntimeError, httpx.HTTPError) as err:  # discovery, network
                self._app = None
                raise ProviderError(f"cannot get a token from {self.authority}: {err}") from None
        if "access_token" not in result:
            code = result.get("error", "error")
            said = str(result.get("error_description", "")).splitlines()[0:1]
            raise ProviderError(f"the partner app got no token: {code}: {''.join(said)}")
        return str(result["access_token"])

    def forget(self) -> None:
        """After a 401: the next `get` asks Entra again instead of msal's cache."""
        with self._lock:
            self._app = None


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return DEFAULT_RETRY_AFTER


def _graph_error(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
    except (ValueError, AttributeError):
        return response.text[:200].strip()


class GraphMailer:
    """Implements `bot.ports.Mailer` over Graph `sendMail`."""

    def __init__(
        self,
        *,
        sender: str,
        token: Callable[[], str] | AppToken,
        graph_url: str,
        http: httpx.Client,
        reply_to: str = "",
        save_to_sent_items: bool = True,
    ) -> None:
        self.sender: Address = parse_mailbox(sender)
        self.reply_to: Address | None = parse_mailbox(reply_to) if reply_to else None
        self.token = token
        self.url = (
            f"{graph_url.rstrip('/')}/v1.0/users/{quote(self.sender.addr_spec, safe='@')}/sendMail"
        )
        self.http = http
        self.save_to_sent_items = save_to_sent_items
        self._with_message_id = True

    def _bearer(self) -> str:
        return self.token.get() if isinstance(self.token, AppToken) else self.token()

    def body(self, mail: Mail) -> dict[str, Any]:
        """The request body, in Microsoft's documented shape for `user: sendMail`."""
        message: dict[str, Any] = {
            "subject": mail.subject,
            "body": (
                {"contentType": "HTML", "content": mail.html}
                if mail.html
                else {"contentType": "Text", "content": mail.body}
            ),
            "toRecipients": [{"emailAddress": {"address": ascii_address(mail.to)}}],
            "from": {
                "emailAddress": {
                    "address": self.sender.addr_spec,
                    **({"name": self.sender.display_name} if self.sender.display_name else {}),
                }
            },
            "internetMessageHeaders": [
                {
                    "name": "X-Onboarding-Delivery",
                    "value": hashlib.sha256(mail.key.encode()).hexdigest()[:40],
                }
            ],
        }
        if self._with_message_id and mail.key:
            message["internetMessageId"] = message_id(mail.key, self.sender.domain)
        if self.reply_to is not None:
            reply: dict[str, str] = {"address": self.reply_to.addr_spec}
            if self.reply_to.display_name:
                reply["name"] = self.reply_to.display_name
            message["replyTo"] = [{"emailAddress": reply}]
        return {"message": message, "saveToSentItems": self.save_to_sent_items}

    def send(self, mail: Mail) -> None:
        response = self._post(mail)
        if response.status_code == 401:  # an expired or revoked token: once more, fresh
            if isinstance(self.token, AppToken):
                self.token.forget()
            response = self._post(mail)
        if (
            response.status_code == 400
            and self._with_message_id
            and "internetmessageid" in response.text.lower()
        ):
            log.warning("Graph refused internetMessageId; sending without it from now on")
            self._with_message_id = False
            response = self._post(mail)
        status = response.status_code
        if 200 <= status < 300:  # 202 Accepted
            return
        said = _graph_error(response)
        if status in RETRIED_STATUSES:
            raise ProviderError(f"Graph sendMail answered {status} {said}", _retry_after(response))
        if status in (401, 403, 404):
            # The app's permission, the access policy or the MAIL_FROM mailbox: ours to fix,
            # so the mail waits and is retried with back-off.
            raise ProviderError(
                f"Graph sendMail from {self.sender.addr_spec} answered {status} {said} "
                "(check Mail.Send, the application access policy and MAIL_FROM)"
            )
        raise ProviderError(f"{status} {said}", permanent=True)

    def _post(self, mail: Mail) -> httpx.Response:
        try:
            return self.http.post(
                self.url,
                json=self.body(mail),
                headers={"Authorization": f"Bearer {self._bearer()}"},
                timeout=TIMEOUT_SECONDS,
            )
        except httpx.HTTPError as err:
            raise ProviderError(
                f"cannot reach Graph: {type(err).__name__}: {err}".rstrip(": ")
            ) from None
