"""Each kind of mail, text and HTML, against its snapshot; HTML escaping with hostile names;
the MIME message a mail server receives (both parts, headers, RFC 2047, IDN, Message-ID).

A snapshot changes only on purpose: `UPDATE_SNAPSHOTS=1 pytest tests/unit/test_mail_templates.py`
rewrites them, and the diff is reviewed like code.
"""

from __future__ import annotations

import email
import os
from datetime import UTC, datetime, timedelta
from email import policy
from html.parser import HTMLParser
from pathlib import Path

import pytest

from adapters.mail.mime import (
    ascii_address,
    build_message,
    message_id,
    parse_mailbox,
    wire_bytes,
)
from bot import mails
from bot.domain import (
    SYSTEM_ACTOR,
    Actor,
    CustomerDetails,
    GdapRequest,
    P2PTransfer,
    Step,
    new_onboarding,
)
from bot.gdap_roles import RECOMMENDED_ROLE_IDS
from bot.records import Mail

SNAPSHOTS = Path(__file__).parent / "snapshots"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ALICE = Actor("U1", "alice", "slack")
PARTNER = "Fabrikam Cloud"
INVITE = "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&partnerId=p&DAP=false#/BillingAccounts/partner-invitation"
APPROVE = "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/granularAdminRelationships/rel-1"
TRANSFER = "https://partner.microsoft.com/dashboard/v2/customers/list"


def onboarding(name: str = "ABC Technologies Inc.", email_: str = "john.doe@abctech.com"):
    ob, _ = new_onboarding(CustomerDetails(name, email_, "abctech.com", "US"), T0, ALICE)
    ob.id = "53166aa706ce"
    ob.accept_reseller(T0, SYSTEM_ACTOR, "tenant-1")
    ob.request_gdap(
        T0, ALICE, GdapRequest("ABC GDAP", 730, list(RECOMMENDED_ROLE_IDS), "rel-1", APPROVE)
    )
    ob.initiate_p2p(T0, ALICE, P2PTransfer("Old Partner", "0e9b0b5f-0000", "ops@old.example"))
    return ob


def every_kind(ob) -> dict[str, Mail]:
    return {
        "invitation": mails.reseller_invitation(ob, PARTNER, INVITE),
        "gdap_approval": mails.gdap_approval(ob, PARTNER),
        "p2p_request": mails.p2p_request(ob, PARTNER, TRANSFER),
        "reminder_2_of_3": mails.mail_for_step(
            ob, Step.RESELLER, PARTNER, INVITE, TRANSFER, mails.reminder_prefix(2)
        ),
        "manual_reminder": mails.mail_for_step(
            ob, Step.GDAP, PARTNER, INVITE, TRANSFER, mails.reminder_prefix(None)
        ),
    }


def snapshot(name: str, actual: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{name} changed (UPDATE_SNAPSHOTS=1)"


@pytest.mark.parametrize("kind", list(every_kind(onboarding())))
def test_each_template_matches_its_text_and_html_snapshot(kind):
    mail = every_kind(onboarding())[kind]
    snapshot(f"{kind}.subject.txt", mail.subject + "\n")
    snapshot(f"{kind}.txt", mail.body)
    snapshot(f"{kind}.html", mail.html)


@pytest.mark.parametrize("kind", list(every_kind(onboarding())))
def test_every_mail_has_the_link_as_button_and_text_and_who_to_contact(kind):
    mail = every_kind(onboarding())[kind]
    assert mail.link and mail.link in mail.body
    links = Links.of(mail.html)
    assert links.hrefs == [mail.link, mail.link]  # the button, then the link as text
    assert mail.link in links.texts  # the link is also readable as text in the HTML
    assert f"Reply to this email to reach {PARTNER}" in mail.body
    assert "Reply to this email to reach <bdi" in mail.html
    assert PARTNER in mail.body and "ABC Technologies Inc." in mail.body


def test_reminders_say_which_one_they_are_and_since_when():
    kinds = every_kind(onboarding())
    assert kinds["reminder_2_of_3"].subject.startswith("Reminder 2 of 3: ")
    assert "Reminder 2 of 3: the request below is still waiting" in kinds["reminder_2_of_3"].body
    assert "We sent it on 02 November 2026." in kinds["reminder_2_of_3"].body
    assert kinds["reminder_2_of_3"].reminder == "Reminder 2 of 3"
    assert kinds["manual_reminder"].subject.startswith("Reminder: ")
    assert kinds["manual_reminder"].reminder == "Reminder"
    assert mails.describe(kinds["reminder_2_of_3"]) == "reminder 2 of 3 of the invitation"
    assert mails.describe(kinds["invitation"]) == "the invitation"


HOSTILE = [
    "<script>alert('x')</script> Corp",
    "\"Quotes\" & 'Apostrophes' <b>Ltd</b>",
    "\u202eevil\u202c Rechts-nach-links GmbH",
    "شركة الاختبار \u200f",
    "Emoji 🚀☁️👩🏽‍💻 Cloud",
    "Ünïcödé Straße & Söhne",
    "L" * 256,
]


class Links(HTMLParser):
    """Every <a href> and every text node; the HTML must parse as what it says."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.texts: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])

    def handle_data(self, data):
        self.texts.append(data)

    @classmethod
    def of(cls, html: str) -> Links:
        parser = cls()
        parser.feed(html)
        return parser


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_names_are_escaped_in_html_and_isolated(name):
    ob = onboarding(name)
    ob.p2p.partner_name = name
    for kind, mail in every_kind(ob).items():
        parsed = Links.of(mail.html)
        assert "script" not in parsed.tags and "b" not in parsed.tags, kind
        assert parsed.hrefs == [mail.link, mail.link], kind
        text = "".join(parsed.texts)
        isolated = f"\u2068{name}\u2069" if any(c in name for c in "\u202e\u200f") else name
        assert name in text, kind  # shown as typed, not interpreted
        assert name in mail.body or isolated in mail.body, kind
        if name != isolated:
            assert isolated in mail.body and isolated in mail.subject, kind
            assert '<bdi dir="auto">' in mail.html
        assert "<script>" not in mail.html and "<b>Ltd" not in mail.html


SENDER = parse_mailbox("Fabrikam Onboarding <onboarding@fabrikam.example>")
REPLY = parse_mailbox("Fabrikam Partner Team <partners@fabrikam.example>")


def received(mail: Mail):
    wire = wire_bytes(build_message(mail, SENDER, REPLY, T0))
    assert all(len(line) <= 998 for line in wire.split(b"\r\n"))  # RFC 5322 line limit
    assert wire.isascii()  # 7-bit headers and bodies: any server takes it
    return email.message_from_bytes(wire, policy=policy.default)


def test_mime_has_both_parts_and_the_headers_a_customer_trusts():
    mail = every_kind(onboarding())["invitation"]
    msg = received(Mail(**{**mail.__dict__, "key": "mail:53166aa706ce:reseller:invite"}))
    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.get_payload()
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert text.get_content().replace("\r\n", "\n") == mail.body
    assert html.get_content().replace("\r\n", "\n") == mail.html
    assert str(msg["From"]) == "Fabrikam Onboarding <onboarding@fabrikam.example>"
    assert str(msg["Reply-To"]) == "Fabrikam Partner Team <partners@fabrikam.example>"
    assert str(msg["To"]) == "john.doe@abctech.com"
    assert msg["Message-ID"].strip() == message_id(
        "mail:53166aa706ce:reseller:invite", "fabrikam.example"
    )
    assert (
        msg["Message-ID"]
        == build_message(
            Mail(**{**mail.__dict__, "key": "mail:53166aa706ce:reseller:invite"}), SENDER, None, T0
        )["Message-ID"]
    )  # deterministic: the same key, the same id
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Date"].datetime == T0


def test_non_ascii_subject_and_names_are_rfc2047_encoded():
    mail = every_kind(onboarding("Ünïcödé Straße & Söhne 🚀"))["gdap_approval"]
    sender = parse_mailbox("Fabrikäm Onboarding <onboarding@fabrikam.example>")
    wire = wire_bytes(build_message(mail, sender, None, T0))
    raw_subject = next(line for line in wire.split(b"\r\n") if line.startswith(b"Subject:"))
    assert b"=?utf-8?" in raw_subject
    msg = email.message_from_bytes(wire, policy=policy.default)
    assert msg["Subject"] == mail.subject
    assert msg["From"].addresses[0].display_name == "Fabrikäm Onboarding"


def test_idn_domains_are_sent_in_ascii_form():
    assert ascii_address("it@bücher.example") == "it@xn--bcher-kva.example"
    assert ascii_address("it@contoso.com") == "it@contoso.com"
    mail = every_kind(onboarding(email_="it@bücher.example"))["invitation"]
    assert str(received(mail)["To"]) == "it@xn--bcher-kva.example"
    assert parse_mailbox("Ops <ops@müller.example>").domain == "xn--mller-kva.example"


def test_a_long_name_folds_without_breaking_the_subject():
    mail = every_kind(onboarding("Very Long Company Name " * 10))["invitation"]
    assert received(mail)["Subject"] == mail.subject


def test_the_message_id_differs_per_ledger_key():
    assert message_id("a", "x.example") != message_id("b", "x.example")
    assert message_id("a", "x.example") == message_id("a", "x.example")
    assert message_id("a", "x.example").endswith("@x.example>")


def test_mail_queued_before_html_existed_still_goes_as_text():
    old = Mail("it@contoso.com", "Subject", "Body\n", "https://x", "ob", "reseller")
    msg = received(old)
    assert msg.get_content_type() == "text/plain" and "Body" in msg.get_content()


def test_gdap_mail_lists_each_role_escaped():
    ob = onboarding()
    mail = mails.gdap_approval(ob, PARTNER)
    assert mail.body.count("  - ") == len(RECOMMENDED_ROLE_IDS)
    assert mail.html.count("<li>") == len(RECOMMENDED_ROLE_IDS)
    assert timedelta(days=ob.gdap.duration_days).days == 730
