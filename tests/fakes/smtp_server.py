"""A real SMTP server on loopback (aiosmtpd) with a trustme certificate: STARTTLS or implicit
TLS, AUTH, and scripted answers: `nobody@…` is refused for good (550), `flaky@…` is deferred
once (451), and `hold` makes DATA wait until the test lets it go (to kill a sender mid-way)."""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "bot@fabrikam.example", "p@ss:w/rd%"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    deferred: set[str] = field(default_factory=set)
    hold: threading.Event | None = None  # DATA waits on it, once `data_seen` is set
    data_seen: threading.Event = field(default_factory=threading.Event)
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        if address.startswith("flaky@") and address not in self.deferred:
            self.deferred.add(address)
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        )
        self.data_seen.set()
        if self.hold is not None:
            import asyncio

            while not self.hold.is_set():
                await asyncio.sleep(0.05)
        return "250 2.0.0 queued"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
        )
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


class SmtpServer:
    def __init__(
        self, server_context: ssl.SSLContext, *, implicit_tls: bool = False, starttls: bool = True
    ) -> None:
        self.handler = Handler()
        self.port = free_port()
        self.implicit_tls = implicit_tls
        params: dict = {
            "authenticator": self.handler.authenticate,
            "auth_required": True,
            "auth_require_tls": True,
        }
        if implicit_tls:
            params["auth_require_tls"] = False  # the whole session is TLS
            self.controller = Controller(
                self.handler,
                hostname="127.0.0.1",
                port=self.port,
                ssl_context=server_context,
                server_hostname="localhost",
                **params,
            )
        elif starttls:
            self.controller = Controller(
                self.handler,
                hostname="127.0.0.1",
                port=self.port,
                tls_context=server_context,
                require_starttls=True,
                **params,
            )
        else:
            self.controller = Controller(
                self.handler, hostname="127.0.0.1", port=self.port, auth_require_tls=False
            )

    def url(self, user: str = USER, password: str = PASSWORD) -> str:
        from urllib.parse import quote

        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@localhost:{self.port}"

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handler.hold is not None:
            self.handler.hold.set()
        self.controller.stop()
