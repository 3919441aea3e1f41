"""The SMTP mail backend (stdlib `smtplib`): STARTTLS or implicit TLS with the server's
certificate verified, optional AUTH, and each server answer mapped to what the delivery
ledger does next: 2xx sent, 4xx / no connection retried with back-off, 5xx given up and
shown on the customer's card.

Synchronous on purpose: the `Mailer` port is called from the ledger's worker threads. One
connection per mail keeps a dropped connection from taking a second mail with it.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from urllib.parse import unquote, urlsplit

from adapters.mail.mime import ascii_address, build_message, parse_mailbox, wire_bytes
from bot.errors import ProviderError
from bot.ports import Clock
from bot.records import Mail

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30.0  # connect and each command; a timeout is a temporary failure


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to connect, from `SMTP_URL` (never logged: it may hold a password)."""

    host: str
    port: int
    implicit_tls: bool
    username: str = ""
    password: str = ""

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpServer:
    """`smtp://user:password@host:587` (STARTTLS) or `smtps://user:password@host:465`
    (implicit TLS); user and password percent-encoded. ValueError says what is wrong
    without repeating the URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("use smtp://USER:PASSWORD@HOST:587 or smtps://USER:PASSWORD@HOST:465")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError("the host is missing (smtp://USER:PASSWORD@HOST:587)")
    if parts.path not in ("", "/") or parts.query:
        raise ValueError("nothing may follow HOST:PORT")
    implicit = parts.scheme == "smtps"
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if implicit else 587),
        implicit_tls=implicit,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def _reply(code: int, text: bytes | str) -> str:
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(said.split())}".strip()


def _refused(code: int, text: bytes | str, what: str) -> ProviderError:
    """5xx: trying again cannot help; anything else (4xx, odd codes) is worth a retry."""
    if 500 <= code < 600:
        return ProviderError(_reply(code, text), permanent=True)
    return ProviderError(f"the mail server deferred {what}: {_reply(code, text)}")


class SmtpMailer:
    """Implements `bot.ports.Mailer` over SMTP."""

    def __init__(
        self,
        server: SmtpServer,
        sender: str,
        clock: Clock,
        *,
        reply_to: str = "",
        require_starttls: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.server = server
        self.sender: Address = parse_mailbox(sender)
        self.reply_to: Address | None = parse_mailbox(reply_to) if reply_to else None
        self.clock = clock
        self.require_starttls = require_starttls
        # The system's trust store; SSL_CERT_FILE / SSL_CERT_DIR add a private CA.
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.timeout = timeout

    def _open(self) -> smtplib.SMTP:
        s = self.server
        smtp: smtplib.SMTP
        if s.implicit_tls:
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=self.ssl_context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if not s.implicit_tls:
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=self.ssl_context)
                    smtp.ehlo()
                elif self.require_starttls:
                    raise ProviderError(
                        f"the mail server {s.where} does not offer STARTTLS, so mail is not "
                        "sent unencrypted (SMTP_STARTTLS=false allows it)"
                    )
            if s.username:
                smtp.login(s.username, s.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, mail: Mail) -> None:
        message = build_message(mail, self.sender, self.reply_to, self.clock.now())
        to = ascii_address(mail.to)
        try:
            smtp = self._open()
        except ProviderError:
            raise
        except smtplib.SMTPAuthenticationError as err:
            # Ours to fix, not the recipient's: the mail waits (and is retried).
            raise ProviderError(
                f"the mail server {self.server.where} refused the login in SMTP_URL: "
                f"{_reply(err.smtp_code, err.smtp_error)}"
            ) from None
        except (smtplib.SMTPException, OSError) as err:
            raise ProviderError(
                f"cannot reach the mail server {self.server.where}: {_describe(err)}"
            ) from None
        options: list[str] = []
        if not to.isascii():  # a non-ASCII local part: only with SMTPUTF8 (RFC 6531)
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        try:
            if options and not smtp.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError("SMTPUTF8 not offered")
            smtp.sendmail(self.sender.addr_spec, [to], wire_bytes(message), options)
        except smtplib.SMTPRecipientsRefused as err:
            code, text = next(iter(err.recipients.values()))
            raise _refused(code, text, "the recipient") from None
        except smtplib.SMTPSenderRefused as err:
            raise _refused(err.smtp_code, err.smtp_error, "the sender") from None
        except smtplib.SMTPNotSupportedError:
            raise ProviderError(
                f"the mail server {self.server.where} does not accept non-ASCII addresses "
                f"(SMTPUTF8), so it cannot deliver to {mail.to}",
                permanent=True,
            ) from None
        except smtplib.SMTPResponseException as err:
            raise _refused(err.smtp_code, err.smtp_error, "the mail") from None
        except (smtplib.SMTPException, OSError) as err:
            raise ProviderError(
                f"the connection to the mail server {self.server.where} failed while "
                f"sending: {_describe(err)}"
            ) from None
        finally:
            _quit(smtp)

    def check(self) -> str | None:
        """Connect, TLS, log in and quit: None when all works, else one line for the log."""
        try:
            _quit(self._open())
        except ProviderError as err:
            return str(err)
        except smtplib.SMTPAuthenticationError as err:
            return (
                f"the mail server {self.server.where} refused the login in SMTP_URL: "
                f"{_reply(err.smtp_code, err.smtp_error)}"
            )
        except (smtplib.SMTPException, OSError) as err:
            return f"cannot reach the mail server {self.server.where}: {_describe(err)}"
        return None


def _quit(smtp: smtplib.SMTP) -> None:
    """The server accepted the mail already (or refused it): a failing QUIT changes nothing."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _describe(err: BaseException) -> str:
    if isinstance(err, ssl.SSLCertVerificationError):
        return f"its TLS certificate is not trusted ({err.verify_message})"
    if isinstance(err, smtplib.SMTPResponseException):
        return _reply(err.smtp_code, err.smtp_error)
    if isinstance(err, TimeoutError):
        return "no answer (timed out)"
    text = str(err) or type(err).__name__
    return text if isinstance(err, smtplib.SMTPException) else f"{type(err).__name__}: {text}"
