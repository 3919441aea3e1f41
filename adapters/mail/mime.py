"""The MIME message a customer receives: both parts of `bot.mails`, the sender's name, a
Reply-To, and a Message-ID derived from the ledger key, so a re-sent mail is the same one."""

from __future__ import annotations

import hashlib
from datetime import datetime
from email import policy
from email.charset import QP, Charset
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Any

from bot.records import Mail


def ascii_domain(domain: str) -> str:
    """An internationalised domain in its ASCII (IDNA, "xn--") form, as every server takes it."""
    try:
        import idna  # httpx's dependency: IDNA 2008 with UTS 46 mapping

        return idna.encode(domain, uts46=True).decode("ascii")
    except ImportError:  # pragma: no cover
        return domain.encode("idna").decode("ascii")
    except idna.IDNAError:
        return domain.encode("idna").decode("ascii")


def ascii_address(address: str) -> str:
    """`user@bücher.example` → `user@xn--bcher-kva.example`; the local part is left alone
    (a non-ASCII one needs a server with SMTPUTF8)."""
    local, _, domain = address.strip().rpartition("@")
    if not local or not domain or domain.isascii():
        return address.strip()
    return f"{local}@{ascii_domain(domain)}"


def parse_mailbox(text: str) -> Address:
    """`Fabrikam Onboarding <onboarding@fabrikam.com>` or a bare address; ValueError if not one."""
    name, addr = parseaddr(text.strip())
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or " " in addr:
        raise ValueError(f"{text.strip()!r} is not an email address (Name <user@domain>)")
    return Address(display_name=name, username=local, domain=ascii_domain(domain))


def message_id(key: str, domain: str) -> str:
    """The same ledger key always gives the same Message-ID: a mail sent again after a crash
    is recognisably the same message (and mail systems may drop the duplicate)."""
    if not key:
        return make_msgid(domain=domain)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]  # 128 bits
    return f"<{digest}@{domain}>"


def build_message(mail: Mail, sender: Address, reply_to: Address | None, now: datetime) -> Message:
    """multipart/alternative (text, then HTML), headers RFC 2047 encoded for non-ASCII names.

    Built with the `compat32` classes on purpose: the newer `EmailMessage` folding of
    Python 3.11 loses the space between two non-ASCII words of a long subject
    ("Ünïcödé Straße" arrives as "ÜnïcödéStraße"); `email.header.Header` encodes them right.
    """
    msg: Message
    if mail.html:
        msg = MIMEMultipart("alternative")
        msg.attach(_part(mail.body, "plain"))
        msg.attach(_part(mail.html, "html"))
    else:
        msg = _part(mail.body, "plain")
    msg["Subject"] = _header(mail.subject)
    msg["From"] = _mailbox(sender)
    msg["To"] = ascii_address(mail.to)
    if reply_to is not None:
        msg["Reply-To"] = _mailbox(reply_to)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(mail.key, sender.domain)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office loops
    return msg


def wire_bytes(msg: Message) -> bytes:
    """The message as it goes over SMTP: CRLF line ends."""
    return msg.as_bytes(policy=policy.compat32.clone(linesep="\r\n"))


_QP_UTF8 = Charset("utf-8")
_QP_UTF8.body_encoding = QP  # readable in any mail source view, unlike base64


def _part(text: str, subtype: str) -> MIMEText:
    part = MIMEText("", subtype, "utf-8")
    del part["Content-Transfer-Encoding"]
    part.set_payload(text, _QP_UTF8)
    return part


def _header(text: str) -> Any:  # str, or a Header that encodes itself (typeshed says str)
    return text if text.isascii() else Header(text, "utf-8")


def _mailbox(address: Address) -> str:
    return formataddr((address.display_name, address.addr_spec), charset="utf-8")
