"""Mail backends behind `bot.ports.Mailer`: the outbox (the embedded default), SMTP and
Microsoft Graph `sendMail`. `build_mailer` picks one from the settings."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.ports import Clock, Mailer, MailOutbox

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from settings import Settings

log = logging.getLogger("onboarding.mail")


def build_mailer(
    settings: Settings, engine: Engine, clock: Clock, *, check: bool = True
) -> tuple[Mailer, MailOutbox | None]:
    """The mailer MAIL_BACKEND names, and the outbox when it is the outbox. With `check`,
    the mail server (or Graph's token endpoint) is tried once in the background: a server
    that cannot be reached is one line in the log, and the bot stays up (mail waits in the
    delivery ledger and is retried)."""
    if settings.mail_backend == "smtp":
        from adapters.mail.smtp import SmtpMailer, parse_smtp_url

        assert settings.smtp_url is not None  # settings checked it
        smtp = SmtpMailer(
            parse_smtp_url(settings.smtp_url.get_secret_value()),
            settings.mail_from,
            clock,
            reply_to=settings.mail_reply_to,
            require_starttls=settings.smtp_starttls,
        )
        if check:
            _in_background(smtp.check, f"SMTP server {smtp.server.where}")
        return smtp, None
    if settings.mail_backend == "graph":
        import httpx

        from adapters.mail.graph import AppToken, GraphMailer, certificate_credential

        http = httpx.Client(timeout=30.0)  # trust_env: SSL_CERT_FILE names a private CA
        credential: str | dict[str, str]
        if settings.partner_client_certificate is not None:
            credential = certificate_credential(
                settings.partner_client_certificate.get_secret_value()
            )
        else:
            assert settings.partner_client_secret is not None  # settings checked it
            credential = settings.partner_client_secret.get_secret_value()
        token = AppToken(
            tenant_id=settings.partner_tenant_id,
            client_id=settings.partner_client_id,
            credential=credential,
            login_url=settings.microsoft_login_url,
            http=http,
        )
        graph = GraphMailer(
            sender=settings.mail_from,
            token=token,
            graph_url=settings.graph_url,
            http=http,
            reply_to=settings.mail_reply_to,
        )
        if check:
            _in_background(_token_check(token), "Graph sendMail")
        return graph, None
    from adapters.mail.outbox import OutboxMailer

    outbox = OutboxMailer(engine, clock)
    return outbox, outbox


def _token_check(token: object) -> Callable[[], str | None]:
    from adapters.mail.graph import AppToken
    from bot.errors import ProviderError

    def check() -> str | None:
        assert isinstance(token, AppToken)
        try:
            token.get()
        except ProviderError as err:
            return str(err)
        return None

    return check


def _in_background(check: Callable[[], str | None], what: str) -> None:
    def run() -> None:
        problem = check()
        if problem:
            log.warning(
                "mail: %s; mail waits in the delivery ledger and is retried until it works",
                problem,
            )
        else:
            log.info("mail: %s ready", what)

    threading.Thread(target=run, name="mail-check", daemon=True).start()
