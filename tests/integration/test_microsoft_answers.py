"""What Microsoft's answers mean for the partner, through the service and the scheduler on
both databases: a request Microsoft did not answer is kept ("waiting for Microsoft") and sent
again, once; a refusal is Failed with Microsoft's reason and the way to recover; a request
nobody approves ends after 90 days; a transfer keeps Partner Center's own expiry."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from adapters.clock import FixedClock
from bot.domain import Actor, Step
from bot.errors import NotAllowed
from bot.gdap_roles import RECOMMENDED_ROLE_IDS
from bot.jobs import run_due
from bot.records import TimerKind, TimerState
from tests.services import refusing_service

ALICE = Actor("U1", "alice", "console")
BOB = Actor("U2", "bob", "slack", "T0ACME")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TIMEOUT = "Graph did not answer within 30 s"


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def both(engine, clock):
    return refusing_service(engine, clock, bootstrap_admins=frozenset({BOB.identity}))


@pytest.fixture
def service(both):
    return both[0]


@pytest.fixture
def microsoft(both):
    return both[1]


def accepted(service, domain="abctech.com", name="ABC Technologies Inc."):
    service.enrollment.enroll(
        {"name": name, "email": f"john.doe@{domain}", "domain": domain, "country": "us"}, ALICE
    )
    return service.sandbox.play("accept-reseller", domain)


def request_gdap(service, domain="abctech.com", name="ABC GDAP"):
    values = {"name": name, "duration": "365", "roles": list(RECOMMENDED_ROLE_IDS)}
    return service.gdap.request(domain, values, ALICE)


P2P = {
    "partner": "other",
    "partner_name": "Old Partner Ltd",
    "partner_tenant_id": "0e9b0b5f-0000-4a5d-9c1d-1234567890ab",
    "partner_email": "transfers@oldpartner.com",
}


def gdap_step(card):
    return next(s for s in card.steps if s.title == "GDAP Access")


def p2p_step(card):
    return next(s for s in card.steps if s.title == "P2P Transfer")


def log(service, ref="abctech.com"):
    return [e.message for e in service.customers.activity_log(ref).events]


def mails_to(service, address, ref="abctech.com"):
    return [m for m in service.customers.outbox_mails(ref).mails if m.to == address]


def approval_mails(service):
    return [
        m
        for m in mails_to(service, "john.doe@abctech.com")
        if "granularAdminRelationships" in (m.link or "")
    ]


def tick(service, clock, **delta):
    clock.advance(**delta)
    return run_due(service)


def relationships(microsoft):
    return microsoft.sandbox.state.all("gdap")


def test_a_gdap_request_microsoft_does_not_answer_is_kept_and_sent_again_once(
    service, microsoft, clock
):
    accepted(service)
    microsoft.refuse("create_gdap_relationship", TIMEOUT)
    card = request_gdap(service)
    assert card.row.gdap == "In Progress" and card.row.overall == "Active"
    assert card.tone == "attention"
    assert "Microsoft did not answer yet" in card.headline and "kept" in card.headline
    assert gdap_step(card).detail.startswith(
        f"Waiting for Microsoft since now: {TIMEOUT} · the request is sent again automatically"
    )
    assert "approval link" not in gdap_step(card).detail
    assert not [a for a in card.actions if a.line.endswith(" gdap")]  # no reminder to send
    assert approval_mails(service) == []  # no approval link to mail yet
    assert relationships(microsoft) == []
    assert any('"ABC GDAP" kept: Microsoft did not answer' in m for m in log(service))
    # The partner cannot ask twice while the first waits.
    with pytest.raises(NotAllowed, match="already In Progress"):
        request_gdap(service, name="Second try")

    tick(service, clock, seconds=59)
    assert microsoft.calls["create_gdap_relationship"] == 1  # not before its time
    tick(service, clock, seconds=2)
    card = service.customers.card("abctech.com")
    assert card.row.gdap == "In Progress"
    assert gdap_step(card).detail.startswith("Waiting for the customer to approve since now")
    assert "approval link https://admin.microsoft.com/" in gdap_step(card).detail
    assert [a for a in card.actions if a.line.endswith(" gdap")]  # a reminder can go now
    assert len(relationships(microsoft)) == 1
    approval = approval_mails(service)
    assert len(approval) == 1 and relationships(microsoft)[0]["id"] in approval[0].link
    assert log(service)[-1].startswith('GDAP request "ABC GDAP" sent: 365 days')
    tick(service, clock, minutes=30)  # nothing waits on Microsoft any more
    assert microsoft.calls["create_gdap_relationship"] == 2
    assert len(approval_mails(service)) == 1


def test_a_request_microsoft_made_but_whose_answer_was_lost_is_not_made_twice(
    service, microsoft, clock
):
    accepted(service)
    microsoft.refuse("create_gdap_relationship", TIMEOUT, after=True)
    request_gdap(service)
    assert len(relationships(microsoft)) == 1  # Microsoft has it; the bot does not know yet
    tick(service, clock, minutes=2)
    assert len(relationships(microsoft)) == 1
    card = service.customers.card("abctech.com")
    assert relationships(microsoft)[0]["id"] in gdap_step(card).detail


def test_resending_backs_off_while_microsoft_keeps_failing_then_gives_up_after_a_day(
    service, microsoft, clock
):
    accepted(service)
    microsoft.refuse("create_gdap_relationship", "Graph answered 503", times=10_000)
    request_gdap(service)
    due = []
    for _ in range(8):
        with service.store.transaction() as uow:
            ob = uow.onboardings.find("abctech.com")[0]
            [timer] = uow.timers.of(ob.id, TimerKind.MICROSOFT_RETRY)
        due.append(timer.due_at)
        clock.at = timer.due_at
        run_due(service)
    gaps = [b - a for a, b in itertools.pairwise(due)]
    assert gaps == sorted(gaps) and gaps[0] == timedelta(minutes=1)
    assert all(gap <= timedelta(minutes=30) for gap in gaps)
    assert service.customers.card("abctech.com").row.gdap == "In Progress"
    # A day later Microsoft has still not answered: the step fails and says what to do.
    for _ in range(200):
        run_due(service)
        card = service.customers.card("abctech.com")
        if card.row.gdap != "In Progress":
            break
        clock.advance(minutes=30)
    assert card.row.gdap == "Failed" and card.row.overall == "Failed"
    assert card.failure_reason == (
        'Microsoft did not answer the request "ABC GDAP" for 24 hours (last: Graph answered 503)'
    )
    assert card.recovery_hint == 'Create a new GDAP request: gdap "abctech.com"'
    assert clock.at - T0 >= timedelta(hours=24)
    with service.store.transaction() as uow:
        ob = uow.onboardings.find("abctech.com")[0]
        [timer] = uow.timers.of(ob.id, TimerKind.MICROSOFT_RETRY)
    assert timer.state is TimerState.DONE


def test_microsoft_refusing_the_request_fails_the_step_with_its_reason_and_the_fix(
    service, microsoft
):
    accepted(service)
    refusal = (
        'A GDAP relationship named "ABC GDAP" already exists in Partner Center: '
        "choose another name."
    )
    microsoft.refuse("create_gdap_relationship", refusal, permanent=True)
    card = request_gdap(service)
    assert card.row.gdap == "Failed" and card.tone == "failure"
    assert card.headline == f"Microsoft refused the GDAP request: {refusal}"
    assert card.failure_reason == f'Microsoft refused the request "ABC GDAP": {refusal}'
    assert card.recovery_hint == 'Create a new GDAP request: gdap "abctech.com"'
    assert (
        log(service)[-1]
        == f'GDAP access Failed: Microsoft refused the request "ABC GDAP": {refusal}'
    )
    # Recovering: the same name is free again in the bot (Microsoft refused it), another works.
    assert service.gdap.form("abctech.com").field("name").default == "ABC Technologies Inc. GDAP"
    card = request_gdap(service, name="ABC GDAP 2")
    assert card.row.gdap == "In Progress" and card.row.overall == "Active"
    assert card.failure_reason is None


def test_a_refusal_when_sent_again_fails_the_step(service, microsoft, clock):
    accepted(service)
    microsoft.refuse("create_gdap_relationship", TIMEOUT)
    request_gdap(service)
    microsoft.refuse(
        "create_gdap_relationship",
        "The Partner Customer Delegated Administration service principal is missing in your "
        "tenant: run doctor.",
        permanent=True,
    )
    tick(service, clock, minutes=1)
    card = service.customers.card("abctech.com")
    assert card.row.gdap == "Failed"
    assert card.failure_reason.endswith("service principal is missing in your tenant: run doctor.")
    assert card.recovery_hint == 'Create a new GDAP request: gdap "abctech.com"'


def test_no_reminder_goes_out_while_the_request_waits_on_microsoft(service, microsoft, clock):
    accepted(service)
    microsoft.refuse("create_gdap_relationship", TIMEOUT, times=3)
    request_gdap(service)
    with pytest.raises(NotAllowed, match="waiting for Microsoft: nobody has anything to act on"):
        service.reminders.remind("abctech.com", Step.GDAP, ALICE)
    for _ in range(3):
        tick(service, clock, minutes=5)
    created_at = clock.at
    card = service.customers.card("abctech.com")
    assert gdap_step(card).detail.startswith("Waiting for the customer to approve since now")
    tick(service, clock, hours=24, minutes=1)
    reminders = [m for m in log(service) if "reminders sent to" in m and "GDAP" in m]
    assert reminders == ["1st of 3 reminders sent to john.doe@abctech.com (GDAP Access)."]
    assert clock.at - created_at > timedelta(hours=24)


def test_a_request_nobody_approves_for_90_days_is_failed_with_the_way_to_recover(service, clock):
    accepted(service)
    card = request_gdap(service)
    lapses = T0 + timedelta(days=90)
    [mail] = [m.mail for m in service.customers.outbox.list() if m.mail.kind == "gdap"]
    assert "Microsoft withdraws the request if it is not approved by 31 January 2027." in (
        mail.body
    )
    assert (
        f"Microsoft ends the request {lapses:%Y-%m-%d} (3 months left) unless the customer "
        "approves it" in gdap_step(card).detail
    )
    clock.at = lapses + timedelta(minutes=1)
    service.sync.refresh(card.row.id)
    card = service.customers.card("abctech.com")
    assert card.row.gdap == "Failed" and card.row.overall == "Failed"
    assert card.failure_reason == (
        "the customer did not approve the request within 90 days, so Microsoft ended it"
    )
    assert card.recovery_hint == 'Create a new GDAP request: gdap "abctech.com"'
    assert "unless the customer approves" not in gdap_step(card).detail


def test_a_transfer_microsoft_does_not_answer_is_kept_and_sent_again(service, microsoft, clock):
    accepted(service)
    microsoft.refuse("create_transfer", "Partner Center answered 429", retry_after=120)
    card = service.transfers.initiate("abctech.com", P2P, BOB)
    assert card.row.p2p == "Pending" and card.tone == "attention"
    assert p2p_step(card).detail.startswith(
        "Waiting for Microsoft since now: Partner Center answered 429"
    )
    assert "expires" not in p2p_step(card).detail
    assert mails_to(service, "transfers@oldpartner.com") == []
    tick(service, clock, minutes=1)  # Partner Center asked for two minutes
    assert microsoft.calls["create_transfer"] == 1
    tick(service, clock, minutes=1, seconds=1)
    card = service.customers.card("abctech.com")
    assert card.row.p2p == "Pending"
    assert p2p_step(card).detail.startswith("Waiting for Old Partner Ltd to accept since now")
    assert len(mails_to(service, "transfers@oldpartner.com")) == 1
    expires = clock.at + timedelta(days=30)
    assert f"expires {expires:%Y-%m-%d}" in p2p_step(card).detail
    assert log(service)[-1].startswith("P2P transfer Pending: request sent to Old Partner Ltd")


def test_a_transfer_partner_center_refuses_is_failed_with_its_reason(service, microsoft):
    accepted(service)
    refusal = "Partner Center: the current partner's tenant id does not match its name (900147)."
    microsoft.refuse("create_transfer", refusal, permanent=True)
    card = service.transfers.initiate("abctech.com", P2P, BOB)
    assert card.row.p2p == "Failed" and card.tone == "failure"
    assert card.failure_reason == f"Microsoft refused the transfer request: {refusal}"
    assert card.recovery_hint == (
        'Initiate a new transfer (p2p "abctech.com") or drop it (p2p cancel "abctech.com")'
    )
    assert mails_to(service, "transfers@oldpartner.com") == []


def test_partner_centers_own_expiry_replaces_the_thirty_days(service, microsoft, clock):
    accepted(service)
    ends = T0 + timedelta(days=14)
    microsoft.transfer_expires_at = ends
    card = service.transfers.initiate("abctech.com", P2P, BOB)
    assert f"expires {ends:%Y-%m-%d}" in p2p_step(card).detail
    assert log(service)[-1].endswith(f"Partner Center ends it on {ends:%d %b %Y}.")
    [mail] = [m.mail for m in service.customers.outbox.list() if m.mail.kind == "p2p"]
    assert f"expires on {ends:%d %B %Y}" in mail.body
    clock.at = ends + timedelta(minutes=1)
    run_due(service)
    card = service.customers.card("abctech.com")
    assert card.row.p2p == "Expired"
    assert log(service)[-1] == "P2P transfer Expired: no action before Partner Center's expiry."


def test_partner_center_moving_the_expiry_is_followed(service, microsoft, clock):
    accepted(service)
    card = service.transfers.initiate("abctech.com", P2P, BOB)
    later = T0 + timedelta(days=45)
    microsoft.transfer_expires_at = later
    service.sync.refresh(card.row.id)
    clock.at = T0 + timedelta(days=30, minutes=1)
    run_due(service)
    assert service.customers.card("abctech.com").row.p2p == "Pending"
    clock.at = later + timedelta(minutes=1)
    run_due(service)
    assert service.customers.card("abctech.com").row.p2p == "Expired"


def test_the_sandbox_plays_microsoft_ending_an_unapproved_request(service, microsoft):
    accepted(service)
    microsoft.refuse("create_gdap_relationship", TIMEOUT)
    request_gdap(service)
    with pytest.raises(NotAllowed, match="waiting for Microsoft: there is nothing to approve"):
        service.sandbox.play("approve-gdap", "abctech.com")
    service.gdap.resend(service.customers.card("abctech.com").row.id)
    card = service.sandbox.play("expire-gdap", "abctech.com")
    assert card.row.gdap == "Failed" and card.tone == "failure"
    assert card.failure_reason == (
        "the customer did not approve the request within 90 days, so Microsoft ended it"
    )


def test_a_transfer_the_thirty_days_ended_is_withdrawn_in_partner_center(service, microsoft, clock):
    accepted(service)
    service.transfers.initiate("abctech.com", P2P, BOB)
    [transfer] = microsoft.sandbox.state.all("transfer")
    clock.at = T0 + timedelta(days=30, minutes=1)
    run_due(service)
    assert service.customers.card("abctech.com").row.p2p == "Expired"
    assert microsoft.sandbox.state.get("transfer", transfer["id"])["state"] == "cancelled"


def test_a_transfer_that_cannot_be_withdrawn_says_what_to_do(service, microsoft, clock):
    accepted(service)
    service.transfers.initiate("abctech.com", P2P, BOB)
    microsoft.refuse("cancel_transfer", "Partner Center answered 503")
    clock.at = T0 + timedelta(days=30, minutes=1)
    run_due(service)
    card = service.customers.card("abctech.com")
    assert card.row.p2p == "Expired"
    assert log(service)[-1] == (
        "Could not withdraw the expired transfer at Microsoft: Partner Center answered 503. "
        "Cancel it in Partner Center."
    )


def test_a_transfer_partner_center_expires_itself_is_not_withdrawn(service, microsoft, clock):
    accepted(service)
    microsoft.transfer_expires_at = T0 + timedelta(days=10)
    service.transfers.initiate("abctech.com", P2P, BOB)
    clock.at = T0 + timedelta(days=10, minutes=1)
    run_due(service)
    assert service.customers.card("abctech.com").row.p2p == "Expired"
    assert microsoft.calls["cancel_transfer"] == 0


def test_when_microsoft_ends_an_unapproved_request_is_learnt_on_a_later_read(service, microsoft):
    accepted(service)
    microsoft.lapse_known_on_create = False
    card = request_gdap(service)
    assert "unless the customer approves" not in gdap_step(card).detail
    service.sync.refresh(card.row.id)
    card = service.customers.card("abctech.com")
    lapses = T0 + timedelta(days=90)
    assert f"Microsoft ends the request {lapses:%Y-%m-%d}" in gdap_step(card).detail
