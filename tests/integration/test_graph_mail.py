"""Mail through Microsoft Graph `sendMail`: the whole bot (`app.build`, MAIL_BACKEND=graph)
against a loopback HTTPS fake of Entra and Graph (trustme CA through SSL_CERT_FILE), msal's
real token code included. The body has Microsoft's documented shape; 429 with Retry-After
and 503 are retried, 401 renews the token, 400 fails the mail on the customer's card."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta

import pytest
import trustme
from sqlalchemy import select

from adapters.clock import FixedClock
from adapters.mail.graph import certificate_credential
from adapters.mail.mime import message_id
from app import build
from bot.activity import Actor
from settings import Settings
from storage.models import DeliveryRow
from tests.fakes.graph_mail import CLIENT_ID, SECRET, TENANT, Answer, GraphMailFake

ALICE = Actor("U1", "alice", "console")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MAILBOX = "onboarding@fabrikam.example"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def graph(ca, tmp_path, monkeypatch):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    with GraphMailFake(context) as fake:
        yield fake


def bot_for(tmp_path, graph, clock, **credential):
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        mail_backend="graph",
        mail_from=f"Fabrikam Onboarding <{MAILBOX}>",
        mail_reply_to="Partner Team <partners@fabrikam.example>",
        partner_tenant_id=TENANT,
        partner_client_id=CLIENT_ID,
        microsoft_login_url=graph.base,
        graph_url=graph.base,
        partner_name="Fabrikam Cloud",
        **(credential or {"partner_client_secret": SECRET}),
    )
    return build(settings, clock)


def enroll(bot, domain="abctech.com", email=None):
    return bot.service.enrollment.enroll(
        {
            "name": "ABC Technologies Inc.",
            "email": email or f"it@{domain}",
            "domain": domain,
            "country": "us",
        },
        ALICE,
    )


def ledger(bot) -> list:
    with bot.engine.connect() as conn:
        return list(conn.execute(select(DeliveryRow).where(DeliveryRow.c.channel == "mail")).all())


def test_sendmail_body_has_microsofts_shape_and_the_html_part(tmp_path, graph):
    bot = bot_for(tmp_path, graph, FixedClock(T0))
    enroll(bot)
    [row] = ledger(bot)
    assert row.state == "sent"
    [(mailbox, body)] = graph.state.attempts
    assert mailbox == MAILBOX  # POST /v1.0/users/{MAIL_FROM}/sendMail
    message = body["message"]
    assert message["subject"] == row.payload["subject"]
    assert message["body"]["contentType"] == "HTML"
    assert message["body"]["content"] == row.payload["html"]
    assert row.payload["link"].replace("&", "&amp;") in message["body"]["content"]
    assert message["toRecipients"] == [{"emailAddress": {"address": "it@abctech.com"}}]
    assert message["replyTo"] == [
        {"emailAddress": {"address": "partners@fabrikam.example", "name": "Partner Team"}}
    ]
    assert message["internetMessageId"] == message_id(row.key, "fabrikam.example")
    assert body["saveToSentItems"] is True
    # msal's real client-credentials request, app-only, Graph's .default scope
    [token] = graph.state.token_requests
    assert token["grant_type"] == ["client_credentials"]
    assert token["scope"][0].split()[0] == "https://graph.microsoft.com/.default"


def test_429_with_retry_after_and_503_are_retried_then_sent_once(tmp_path, graph):
    clock = FixedClock(T0)
    bot = bot_for(tmp_path, graph, clock)
    busy = {"error": {"code": "ApplicationThrottled", "message": "Too many requests"}}
    graph.state.script = [
        Answer(429, {"Retry-After": "7"}, busy),
        Answer(503, {"Retry-After": "20"}, {"error": {"code": "ServiceUnavailable"}}),
    ]
    enroll(bot)
    [row] = ledger(bot)
    assert (row.state, row.attempts) == ("pending", 1) and "429" in row.last_error
    assert row.next_attempt_at.replace(tzinfo=UTC) == T0 + timedelta(seconds=7)
    clock.advance(seconds=8)
    bot.service.delivery.deliver_pending()
    [row] = ledger(bot)
    assert (row.state, row.attempts) == ("pending", 2) and "503" in row.last_error
    clock.advance(seconds=21)
    bot.service.delivery.deliver_pending()
    [row] = ledger(bot)
    assert (row.state, row.attempts) == ("sent", 3)
    assert len(graph.state.sent) == 1 and len(graph.state.attempts) == 3
    ids = {body["message"]["internetMessageId"] for _, body in graph.state.attempts}
    assert len(ids) == 1  # every attempt is the same message


def test_an_expired_token_is_renewed_once(tmp_path, graph):
    bot = bot_for(tmp_path, graph, FixedClock(T0))
    enroll(bot)
    graph.state.valid_tokens.clear()  # Entra revoked it; msal's cache still has it
    enroll(bot, "contoso.com")
    assert [r.state for r in ledger(bot)] == ["sent", "sent"]
    assert len(graph.state.token_requests) == 2 and len(graph.state.sent) == 2


def test_a_refused_recipient_fails_the_mail_and_shows_on_the_card(tmp_path, graph):
    bot = bot_for(tmp_path, graph, FixedClock(T0))
    graph.state.script = [
        Answer(
            400,
            body={
                "error": {
                    "code": "ErrorInvalidRecipients",
                    "message": "At least one recipient is not valid.",
                }
            },
        )
    ]
    enroll(bot, "contoso.com")
    [row] = ledger(bot)
    assert row.state == "failed"
    card = bot.service.customers.card("contoso.com")
    assert any(
        "The invitation to it@contoso.com bounced: 400 ErrorInvalidRecipients: At least one "
        "recipient is not valid. Correct the email address" in e.message
        for e in card.events
    )


def test_a_missing_permission_waits_instead_of_blaming_the_customer(tmp_path, graph):
    bot = bot_for(tmp_path, graph, FixedClock(T0))
    denied = {"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}}
    graph.state.script = [Answer(403, body=denied)]
    enroll(bot)
    [row] = ledger(bot)
    assert row.state == "pending" and "Mail.Send" in row.last_error


def test_a_certificate_credential_signs_the_token_request(tmp_path, graph):
    rsa = trustme.KeyType.RSA  # Entra takes RSA keys
    leaf = trustme.CA(key_type=rsa).issue_cert("fabrikam-onboarding", key_type=rsa)
    pem = tmp_path / "app.pem"
    pem.write_bytes(leaf.private_key_pem.bytes() + leaf.cert_chain_pems[0].bytes())
    assert set(certificate_credential(str(pem))) == {"private_key", "thumbprint"}
    bot = bot_for(tmp_path, graph, FixedClock(T0), partner_client_certificate=str(pem))
    enroll(bot)
    [token] = graph.state.token_requests
    assert token["client_assertion_type"] == [
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    ]
    assert "client_secret" not in token
    assert [r.state for r in ledger(bot)] == ["sent"]
