"""Real mail over SMTP: the whole bot (`app.build`) sending to a real aiosmtpd server on
loopback, with STARTTLS or implicit TLS (a trustme CA, trusted through SSL_CERT_FILE) and
AUTH. Every kind of mail arrives with both parts, the right headers and the link; the
ledger's count is the server's; 4xx is retried, 5xx shows on the card, in the log and in
subscribed channels."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime

import pytest
import trustme
from sqlalchemy import select

from adapters.clock import FixedClock
from adapters.mail.mime import message_id
from adapters.mail.smtp import SmtpMailer, parse_smtp_url
from app import build
from bot.activity import Actor
from bot.domain import Step
from bot.errors import ProviderError
from bot.jobs import run_due
from bot.notices import NoticePayload
from bot.records import Mail, Place
from bot.tone import Tone
from settings import Settings
from storage.models import DeliveryRow
from tests.fakes.smtp_server import USER, SmtpServer

ALICE = Actor("U1", "alice", "console")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SENDER = "Fabrikam Onboarding <onboarding@fabrikam.example>"
REPLY_TO = "Fabrikam Partner Team <partners@fabrikam.example>"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_context(ca) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def ca_file(ca, tmp_path, monkeypatch) -> str:
    """The test CA as SSL_CERT_FILE: what an operator with a private CA sets."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    return str(path)


@pytest.fixture
def smtp(server_context):
    with SmtpServer(server_context) as server:
        yield server


class Channel:
    """A chat platform that keeps what it is given (the notices go through the real ledger)."""

    platform = "test"

    def __init__(self) -> None:
        self.posts: list[NoticePayload] = []

    def post(self, destination: str, notice: NoticePayload) -> None:
        self.posts.append(notice)


def bot_for(tmp_path, server: SmtpServer, clock, **extra):
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        mail_backend="smtp",
        smtp_url=server.url(),
        mail_from=SENDER,
        mail_reply_to=REPLY_TO,
        partner_name="Fabrikam Cloud",
        **extra,
    )
    return build(settings, clock)


def enroll(bot, domain="abctech.com", email=None, name=None):
    return bot.service.enrollment.enroll(
        {
            "name": name or f"Customer {domain}",
            "email": email or f"it@{domain}",
            "domain": domain,
            "country": "us",
        },
        ALICE,
    )


def ledger(bot) -> list[DeliveryRow]:
    with bot.engine.connect() as conn:
        return list(conn.execute(select(DeliveryRow).where(DeliveryRow.c.channel == "mail")).all())


def test_every_kind_of_mail_arrives_with_both_parts_headers_and_link(
    tmp_path, smtp, ca_file, monkeypatch
):
    clock = FixedClock(T0)
    bot = bot_for(tmp_path, smtp, clock)
    service = bot.service
    enroll(bot, "abctech.com", name="Ünïcödé Straße & Söhne")
    enroll(bot, "waitingco.com")
    service.sandbox.play("accept-reseller", "abctech.com")
    service.gdap.request(
        "abctech.com",
        {"name": "ABC GDAP", "duration": "365", "roles": ["88d8e3e3-8f55-4a1e-953a-9b9898b8876b"]},
        ALICE,
    )
    service.transfers.initiate(
        "abctech.com",
        {
            "partner": "other",
            "partner_name": "Old Partner Ltd",
            "partner_tenant_id": "0e9b0b5f-0000-4a5d-9c1d-1234567890ab",
            "partner_email": "transfers@oldpartner.example",
        },
        ALICE,
    )
    service.reminders.remind("abctech.com", Step.GDAP, ALICE)  # manual reminder
    clock.advance(hours=25)
    run_due(service)  # reminder 1 of 3 of the invitation to waitingco.com

    rows = ledger(bot)
    assert {r.state for r in rows} == {"sent"}
    # 2 invitations, GDAP approval, P2P request, a manual reminder, and reminder 1 of 3 of
    # each of the three waiting steps: the journey's mail is the ledger's, one for one.
    assert len(smtp.handler.received) == len(rows) == 8
    assert set(smtp.handler.logins) == {USER}  # AUTH over STARTTLS

    by_id = {r.message["Message-ID"].strip(): r for r in smtp.handler.received}
    subjects = []
    for row in rows:
        got = by_id[message_id(row.key, "fabrikam.example")]  # deterministic, from the key
        msg = got.message
        mail = Mail(**row.payload)
        assert got.mail_from == "onboarding@fabrikam.example"
        assert got.rcpt_tos == [mail.to]
        assert msg["From"].addresses[0].display_name == "Fabrikam Onboarding"
        assert str(msg["Reply-To"]) == REPLY_TO
        assert msg["Subject"].strip() == mail.subject
        text, html = msg.get_payload()
        assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
        assert mail.link in text.get_content()
        assert html.get_content().count(f'href="{mail.link.replace("&", "&amp;")}"') == 2
        subjects.append(mail.subject)
    assert sorted(s.split(":")[0] for s in subjects if s.startswith("Reminder")) == [
        "Reminder",
        "Reminder 1 of 3",
        "Reminder 1 of 3",
        "Reminder 1 of 3",
    ]
    raw = next(r.data for r in smtp.handler.received if b"abctech.com" in r.data)
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n")[0]  # the non-ASCII name, RFC 2047


def test_implicit_tls_and_percent_encoded_credentials(tmp_path, server_context, ca_file):
    with SmtpServer(server_context, implicit_tls=True) as server:
        bot = bot_for(tmp_path, server, FixedClock(T0))
        enroll(bot)
        assert len(server.handler.received) == 1 and set(server.handler.logins) == {USER}
        assert [r.state for r in ledger(bot)] == ["sent"]


def test_a_4xx_answer_is_retried_with_back_off_then_sent_once(tmp_path, smtp, ca_file):
    clock = FixedClock(T0)
    bot = bot_for(tmp_path, smtp, clock)
    enroll(bot, "flakyco.com", email="flaky@flakyco.com")
    [row] = ledger(bot)
    assert (row.state, row.attempts) == ("pending", 1)
    assert "451 4.3.0 try again later" in row.last_error
    assert smtp.handler.received == []
    bot.service.delivery.deliver_pending()  # not due yet: the back-off holds it
    assert smtp.handler.received == []
    clock.advance(minutes=2)
    bot.service.delivery.deliver_pending()
    [row] = ledger(bot)
    assert (row.state, row.attempts) == ("sent", 2)
    assert len(smtp.handler.received) == 1
    card = bot.service.customers.card("flakyco.com")
    assert not any("bounced" in e.message for e in card.events)


def test_a_5xx_answer_fails_the_mail_for_good_on_the_card_log_and_channel(tmp_path, smtp, ca_file):
    clock = FixedClock(T0)
    bot = bot_for(tmp_path, smtp, clock)
    channel = Channel()
    bot.service.notifiers.append(channel)
    bot.service.subscriptions.notify(Place("test", "C1", "#onboarding"), "failures", ALICE)
    enroll(bot, "contoso.com", email="nobody@contoso.com")
    [row] = ledger(bot)
    assert (row.state, row.attempts) == ("failed", 1)
    assert row.last_error == "550 5.1.1 no such user"
    expected = (
        "The invitation to nobody@contoso.com bounced: 550 5.1.1 no such user. Correct the "
        "email address and send a reminder: remind contoso.com reseller."
    )
    card = bot.service.customers.card("contoso.com")
    assert any(e.message == expected for e in card.events), [e.message for e in card.events]
    log = bot.service.customers.activity_log("contoso.com")
    assert any(e.message == expected for e in log.events)
    bot.service.delivery.deliver_pending()
    assert [(p.tone, p.kind) for p in channel.posts] == [(Tone.FAILURE, "mail.bounced")]
    assert expected in channel.posts[0].text
    clock.advance(hours=12)
    bot.service.delivery.deliver_pending()  # given up: never tried again
    assert [r.attempts for r in ledger(bot)] == [1] and smtp.handler.received == []


def test_an_untrusted_certificate_is_a_temporary_failure_that_says_so(tmp_path, smtp, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    bot = bot_for(tmp_path, smtp, FixedClock(T0))
    enroll(bot)
    [row] = ledger(bot)
    assert row.state == "pending" and "certificate is not trusted" in row.last_error
    assert smtp.handler.received == []


def test_no_starttls_offered_means_no_mail_unless_allowed(tmp_path, server_context, ca_file):
    with SmtpServer(server_context, starttls=False) as server:
        plain = f"smtp://localhost:{server.port}"
        mailer = SmtpMailer(parse_smtp_url(plain), SENDER, FixedClock(T0))
        mail = Mail("it@contoso.com", "Hello", "Body", "https://x", None, "reseller", key="k")
        with pytest.raises(ProviderError, match="does not offer STARTTLS") as refused:
            mailer.send(mail)
        assert not refused.value.permanent and "SMTP_STARTTLS=false" in str(refused.value)
        assert mailer.check() is not None
        SmtpMailer(parse_smtp_url(plain), SENDER, FixedClock(T0), require_starttls=False).send(mail)
        assert len(server.handler.received) == 1


def test_a_wrong_password_waits_and_a_refused_connection_is_temporary(tmp_path, smtp, ca_file):
    wrong = SmtpMailer(parse_smtp_url(smtp.url(password="wrong")), SENDER, FixedClock(T0))
    mail = Mail("it@contoso.com", "Hello", "Body", "https://x", None, "reseller", key="k")
    with pytest.raises(ProviderError, match="refused the login") as refused:
        wrong.send(mail)
    assert not refused.value.permanent and "wrong" not in str(refused.value)
    from tests.fakes.smtp_server import free_port

    nowhere = SmtpMailer(parse_smtp_url(f"smtp://localhost:{free_port()}"), SENDER, FixedClock(T0))
    with pytest.raises(ProviderError, match="cannot reach the mail server") as unreachable:
        nowhere.send(mail)
    assert not unreachable.value.permanent
    assert "cannot reach" in (nowhere.check() or "")
