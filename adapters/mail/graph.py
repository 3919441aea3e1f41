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
from collections.abc import Callable
from email.headerregistry import Address
from typing import Any
from urllib.parse import quote

import httpx

from adapters.mail.mime import ascii_address, message_id, parse_mailbox
from adapters.microsoft.live.tokens import (
    GRAPH_SCOPE,
    AppToken,
    TokenRefused,
    certificate_credential,
)
from bot.errors import ProviderError
from bot.records import Mail

log = logging.getLogger(__name__)

__all__ = ["GRAPH_SCOPE", "AppToken", "GraphMailer", "certificate_credential"]

TIMEOUT_SECONDS = 30.0
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_RETRY_AFTER = 60.0  # seconds, when a 429/503 names no Retry-After


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
        try:
            return self.token.get() if isinstance(self.token, AppToken) else self.token()
        except TokenRefused as err:
            # Ours to fix (the app's credentials), not the customer's: the mail waits.
            raise ProviderError(str(err)) from None

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
