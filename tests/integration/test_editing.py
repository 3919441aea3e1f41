"""Correcting a mistake (`edit`): validated as enrollment is, recorded with old and new values
and the actor; a corrected email gets the waiting mail again with fresh reminders, and the
old address gets nothing more. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.clock import FixedClock
from bot.commands import Context, Dispatcher
from bot.domain import Actor
from bot.errors import NotAllowed, ValidationError
from bot.gdap_roles import RECOMMENDED_ROLE_IDS
from bot.jobs import run_due
from bot.views import CustomerCard, Form, Notice
from tests.services import sandboxed_service

ALICE = Actor("console:alice", "alice", "console")
VIEWER = Actor("U9", "vic", "slack", "T0ACME")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def service(engine, clock):
    return sandboxed_service(
        engine, clock, partner_name="Fabrikam Cloud", organisations={"slack": frozenset({"T0ACME"})}
    )


def enroll(service, name="ABC Technologies Inc.", domain="abctech.com"):
    return service.enrollment.enroll(
        {"name": name, "email": f"john.doe@{domain}", "domain": domain, "country": "us"}, ALICE
    )


def mails_to(service, ref="abctech.com"):
    """Oldest first (the outbox shows the newest first)."""
    return [(m.to, m.subject) for m in reversed(service.customers.outbox_mails(ref).mails)]


def run(service, line, actor=ALICE):
    return Dispatcher(service).handle(line, Context(actor))


def test_a_corrected_email_gets_the_invitation_again_and_fresh_reminders(service, clock):
    enroll(service)
    clock.advance(hours=25)
    run_due(service)  # reminder 1 of 3 to the old address
    clock.advance(hours=1)
    card = run(service, "edit abctech.com email jo.doe@abctech.com")
    assert isinstance(card, CustomerCard), card
    assert card.email == "jo.doe@abctech.com"
    assert card.headline == (
        'Corrected Email Address "john.doe@abctech.com" → "jo.doe@abctech.com". The '
        "invitation sent again to jo.doe@abctech.com; reminders start again."
    )
    assert card.steps[0].detail.startswith(
        "Waiting for the customer to accept since now · next reminder in a day"
    )
    sent = mails_to(service)
    assert sent[-1] == (
        "jo.doe@abctech.com",
        "Fabrikam Cloud invites ABC Technologies Inc. to a reseller relationship",
    )
    # the old address's 48 h and 7 day reminders never go out; the new one gets three
    for hours in (47, 49, 72, 170, 200, 400):
        clock.at = T0 + timedelta(hours=hours)
        run_due(service)
    reminders = [(to, s.split(":")[0]) for to, s in mails_to(service) if s.startswith("Reminder")]
    assert reminders == [
        ("john.doe@abctech.com", "Reminder 1 of 3"),
        ("jo.doe@abctech.com", "Reminder 1 of 3"),
        ("jo.doe@abctech.com", "Reminder 2 of 3"),
        ("jo.doe@abctech.com", "Reminder 3 of 3"),
    ]
    log = service.customers.activity_log("abctech.com").events
    edit = next(e for e in log if e.message.startswith("Corrected"))
    assert edit.actor == "alice (console)"
    assert '"john.doe@abctech.com" → "jo.doe@abctech.com"' in edit.message


def test_mail_still_pending_for_the_old_address_is_withdrawn(engine, clock):
    service = sandboxed_service(engine, clock, deliver_after_commit=False)
    enroll(service)  # the invitation waits in the ledger (the mail server is slow today)
    service.editing.edit("abctech.com", {"email": "jo.doe@abctech.com"}, ALICE)
    service.delivery.deliver_pending()
    assert [to for to, _ in mails_to(service)] == ["jo.doe@abctech.com"]


def test_domain_and_country_only_while_the_tenant_is_not_bound(service):
    enroll(service)
    enroll(service, "Fourth Coffee", "fourthcoffee.com")
    with pytest.raises(ValidationError) as taken:
        service.editing.edit("abctech.com", {"domain": "FourthCoffee.com"}, ALICE)
    assert taken.value.field_errors["domain"].startswith(
        "fourthcoffee.com is already in onboarding as Fourth Coffee"
    )
    with pytest.raises(ValidationError) as bad:
        service.editing.edit("abctech.com", {"country": "Germny", "name": " "}, ALICE)
    assert set(bad.value.field_errors) == {"country", "name"}
    assert "Did you mean: Germany (DE)" in bad.value.field_errors["country"]
    card = service.editing.edit(
        "abctech.com", {"domain": "abc-tech.com", "country": "germany"}, ALICE
    )
    assert (card.row.domain, card.country) == ("abc-tech.com", "DE")
    assert 'Domain Name "abctech.com" → "abc-tech.com"; Country "US" → "DE".' in card.headline
    assert mails_to(service, "abc-tech.com")[-1][0] == "john.doe@abctech.com"  # no new mail
    service.sandbox.play("accept-reseller", "abc-tech.com", ALICE)
    with pytest.raises(NotAllowed) as bound:
        service.editing.edit("abc-tech.com", {"country": "FR"}, ALICE)
    assert str(bound.value).startswith(
        "The domain and country of ABC Technologies Inc. can no longer change: the reseller "
        "relationship is Established, so the customer's tenant ("
    )
    form = service.editing.form("abc-tech.com", ALICE)
    assert [f.name for f in form.fields] == ["name", "email"]
    assert any("can no longer change" in n for n in form.notes)


def test_after_the_reseller_step_a_new_email_gets_the_gdap_request_again(service):
    enroll(service)
    service.sandbox.play("accept-reseller", "abctech.com", ALICE)
    service.gdap.request(
        "abctech.com",
        {"name": "ABC GDAP", "duration": "365", "roles": list(RECOMMENDED_ROLE_IDS)},
        ALICE,
    )
    card = run(service, 'edit abctech.com name "ABC Technologies Ltd"')
    assert card.row.name == "ABC Technologies Ltd"
    card = run(service, "edit abctech.com email it@abctech.com")
    assert "The GDAP approval request sent again to it@abctech.com" in card.headline
    to, subject = mails_to(service)[-1]
    assert to == "it@abctech.com" and subject.startswith("Approve Fabrikam Cloud's admin access")


def test_the_form_is_pre_filled_and_unchanged_values_change_nothing(service):
    enroll(service)
    form = run(service, "edit abctech.com")
    assert isinstance(form, Form) and form.kind == "edit"
    assert {f.name: f.default for f in form.fields} == {
        "name": "ABC Technologies Inc.",
        "email": "john.doe@abctech.com",
        "domain": "abctech.com",
        "country": "US",
    }
    same = service.editing.edit("abctech.com", {f.name: str(f.default) for f in form.fields}, ALICE)
    assert isinstance(same, Notice) and same.text.startswith("Nothing to correct")
    assert "Correct details" in [a.label for a in service.customers.card("abctech.com").actions]


def test_who_may_correct_and_what(service):
    enroll(service)
    refused = run(service, "edit abctech.com email x@abctech.com", VIEWER)
    assert isinstance(refused, Notice) and "operator" in refused.text
    for line in ("edit", "edit abctech.com email"):  # no customer; no value
        usage = run(service, line)
        assert "Use: edit CUSTOMER" in usage.text and "for example: edit abctech.com" in usage.text
    run(service, "cancel abctech.com --yes")
    closed = run(service, "edit abctech.com email x@abctech.com")
    assert closed.text.startswith("The onboarding of ABC Technologies Inc. was cancelled.")
