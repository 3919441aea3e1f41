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

    from adapters.microsoft.live.tokens import AppTokens
    from settings import Settings

log = logging.getLogger("onboarding.mail")


def build_mailer(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    *,
    check: bool = True,
    tokens: AppTokens | None = None,
) -> tuple[Mailer, MailOutbox | None]:
    """The mailer MAIL_BACKEND names, and the outbox when it is the outbox. With `check`,
        the mail server (or Graph's token endpoint) is tried once in the background: a server
        that cannot be reached is one line in the log, and the bot stays up (mail waits in the
        delivery ledger and is retried). `tokens`: the partner app's token provider when the live
    Microsoft backend already built one (one msal client for the app, not two)."""
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

        from adapters.mail.graph import GraphMailer
        from adapters.microsoft.live.tokens import GRAPH_SCOPE, AppToken, app_tokens

        http = httpx.Client(timeout=30.0)  # trust_env: SSL_CERT_FILE names a private CA
        token = AppToken(tokens or app_tokens(settings, http), GRAPH_SCOPE)
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
    from adapters.microsoft.live.tokens import AppToken
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
