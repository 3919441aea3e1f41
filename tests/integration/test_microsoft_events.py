"""The customer's tenant and Partner Center webhooks, through the service on both databases:
the tenant is looked up at enrollment and kept, Partner Center is asked about that tenant, and
an event refreshes exactly the onboardings it names (once, however often it comes)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.clock import FixedClock
from bot.domain import Actor
from bot.gdap_roles import RECOMMENDED_ROLE_IDS
from bot.records import MicrosoftEvent, MicrosoftEventKind
from tests.services import refusing_service

ALICE = Actor("U1", "alice", "console")
BOB = Actor("U2", "bob", "slack", "T0ACME")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


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


def enroll(service, domain="abctech.com", name="ABC Technologies Inc."):
    return service.enrollment.enroll(
        {"name": name, "email": f"john.doe@{domain}", "domain": domain, "country": "us"}, ALICE
    )


def step(card, title):
    return next(s for s in card.steps if s.title == title)


def messages(service, ref):
    return [e.message for e in service.customers.activity_log(ref).events]


def test_enrollment_keeps_the_tenant_that_owns_the_domain(service, microsoft):
    card = enroll(service)
    tenant = microsoft.sandbox.find_tenant("abctech.com")
    assert f"tenant {tenant}" in step(card, "Reseller Relationship").detail
    assert "Waiting for the customer to accept" in step(card, "Reseller Relationship").detail
    service.sandbox.play("accept-reseller", "abctech.com")
    card = service.customers.card("abctech.com")
    assert card.row.reseller == "Established"
    assert f"tenant {tenant}" in step(card, "Reseller Relationship").detail


def test_a_domain_without_a_tenant_still_enrolls_and_the_card_says_what_to_do(
    service, microsoft, clock
):
    microsoft.no_tenant.add("newco.com")
    card = enroll(service, "newco.com", "NewCo")
    detail = step(card, "Reseller Relationship").detail
    assert "Microsoft knows no tenant for newco.com yet" in detail
    assert "sign up for Microsoft 365" in detail and "verify newco.com" in detail
    assert card.tone == "attention"
    assert any("knows no tenant" in m for m in messages(service, "newco.com"))
    assert len(service.customers.outbox_mails("newco.com").mails) == 1  # invitation still sent
    # Later the customer signs up: the next sync finds the tenant and says so, once.
    microsoft.no_tenant.clear()
    clock.advance(hours=2)
    service.sync.refresh(card.row.id)
    service.sync.refresh(card.row.id)
    card = service.customers.card("newco.com")
    detail = step(card, "Reseller Relationship").detail
    assert "knows no tenant" not in detail
    assert f"tenant {microsoft.sandbox.find_tenant('newco.com')}" in detail
    found = [m for m in messages(service, "newco.com") if "now knows the tenant" in m]
    assert len(found) == 1


def test_a_failing_tenant_lookup_does_not_block_enrollment_and_is_asked_again(service, microsoft):
    microsoft.refuse("find_tenant", "Graph timed out after 10 s", times=1)
    card = enroll(service)
    assert card.row.reseller == "In Progress"
    assert "tenant" not in step(card, "Reseller Relationship").detail
    service.sync.refresh(card.row.id)
    card = service.customers.card("abctech.com")
    assert f"tenant {microsoft.sandbox.find_tenant('abctech.com')}" in (
        step(card, "Reseller Relationship").detail
    )
    assert microsoft.calls["find_tenant"] == 2


def test_partner_center_is_asked_about_the_tenant_not_the_domain(service, microsoft):
    card = enroll(service)
    # Another tenant accepted with the same company domain: not our customer.
    microsoft.sandbox.state.put(
        "customer",
        "abctech.com",
        {
            "tenant_id": "99999999-0000-4000-8000-000000000000",
            "company_name": "Other",
            "domain": "abctech.com",
        },
    )
    assert service.sync.refresh(card.row.id) == []
    assert service.customers.card("abctech.com").row.reseller == "In Progress"


def test_a_customer_event_refreshes_the_onboarding_of_that_tenant_once(service, microsoft):
    ours = enroll(service)
    other = enroll(service, "other.com", "Other Co")
    tenant = microsoft.sandbox.find_tenant("abctech.com")
    microsoft.sandbox.accept_reseller(
        "abctech.com", "ABC Technologies Inc.", "john.doe@abctech.com", "US"
    )
    microsoft.sandbox.accept_reseller("other.com", "Other Co", "john.doe@other.com", "US")
    event = MicrosoftEvent(MicrosoftEventKind.CUSTOMER, tenant_id=tenant.upper())
    changes = service.sync.on_event(event)
    assert [a.message for a in changes] == [
        "Reseller relationship Established: the customer accepted."
    ]
    assert service.customers.card(ours.row.id).row.reseller == "Established"
    assert service.customers.card(other.row.id).row.reseller == "In Progress"  # not named
    assert service.sync.on_event(event) == []  # the same event again changes nothing
    assert (
        messages(service, ours.row.id).count(
            "Reseller relationship Established: the customer accepted."
        )
        == 1
    )


def test_gdap_and_transfer_events_are_found_by_their_ids(service, microsoft):
    card = enroll(service)
    service.sandbox.play("accept-reseller", "abctech.com")
    service.gdap.request(
        "abctech.com",
        {"name": "ABC GDAP", "duration": "365", "roles": list(RECOMMENDED_ROLE_IDS)},
        ALICE,
    )
    ob_card = service.customers.card("abctech.com")
    rel_id = next(iter(microsoft.sandbox.state.all("gdap")))["id"]
    microsoft.sandbox.approve_gdap(rel_id)
    changes = service.sync.on_event(MicrosoftEvent(MicrosoftEventKind.GDAP, relationship_id=rel_id))
    assert "GDAP access Established" in changes[0].message
    assert service.customers.card(card.row.id).row.gdap == "Established"
    service.transfers.initiate(
        "abctech.com",
        {
            "partner": "other",
            "partner_name": "Old Partner Ltd",
            "partner_tenant_id": "0e9b0b5f-0000-4a5d-9c1d-1234567890ab",
            "partner_email": "transfers@oldpartner.com",
        },
        BOB,
    )
    transfer_id = next(iter(microsoft.sandbox.state.all("transfer")))["id"]
    microsoft.sandbox.accept_transfer(transfer_id)
    changes = service.sync.on_event(
        MicrosoftEvent(MicrosoftEventKind.TRANSFER, transfer_id=transfer_id)
    )
    assert [a.message for a in changes] == ["P2P transfer Completed: the current partner accepted."]
    assert ob_card.row.id == card.row.id


def test_unknown_ids_change_nothing(service, microsoft):
    card = enroll(service)
    microsoft.sandbox.accept_reseller(
        "abctech.com", "ABC Technologies Inc.", "john.doe@abctech.com", "US"
    )
    for event in (
        MicrosoftEvent(
            MicrosoftEventKind.CUSTOMER, tenant_id="00000000-0000-4000-8000-000000000001"
        ),
        MicrosoftEvent(MicrosoftEventKind.GDAP, relationship_id="no-such-relationship"),
        MicrosoftEvent(MicrosoftEventKind.TRANSFER, transfer_id="no-such-transfer"),
        MicrosoftEvent(MicrosoftEventKind.CUSTOMER),
    ):
        assert service.sync.on_event(event) == []
    assert service.customers.card(card.row.id).row.reseller == "In Progress"


def test_an_event_for_a_closed_onboarding_changes_nothing(service, microsoft):
    card = enroll(service)
    tenant = microsoft.sandbox.find_tenant("abctech.com")
    service.closing.cancel("abctech.com", BOB)
    microsoft.sandbox.accept_reseller(
        "abctech.com", "ABC Technologies Inc.", "john.doe@abctech.com", "US"
    )
    assert (
        service.sync.on_event(MicrosoftEvent(MicrosoftEventKind.CUSTOMER, tenant_id=tenant)) == []
    )
    assert card.row.id not in [r.id for r in service.customers.dashboard().rows]


def test_microsoft_failing_for_one_onboarding_leaves_it_to_the_fallback_sync(service, microsoft):
    card = enroll(service)
    tenant = microsoft.sandbox.find_tenant("abctech.com")
    microsoft.sandbox.accept_reseller(
        "abctech.com", "ABC Technologies Inc.", "john.doe@abctech.com", "US"
    )
    microsoft.refuse("find_customer", "Partner Center answered 503", times=1)
    event = MicrosoftEvent(MicrosoftEventKind.CUSTOMER, tenant_id=tenant)
    assert service.sync.on_event(event) == []
    assert service.customers.card(card.row.id).row.reseller == "In Progress"
    assert len(service.sync.on_event(event)) == 1


def test_a_customer_event_for_a_tenant_made_after_enrollment_finds_its_onboarding(
    service, microsoft
):
    microsoft.no_tenant.update({"newco.com", "later.com"})
    card = enroll(service, "newco.com", "NewCo")
    enroll(service, "later.com", "Later Co")
    # NewCo signs up for Microsoft 365 and accepts; Partner Center says so.
    microsoft.no_tenant.discard("newco.com")
    tenant = microsoft.sandbox.find_tenant("newco.com")
    microsoft.sandbox.accept_reseller("newco.com", "NewCo", "john.doe@newco.com", "US")
    event = MicrosoftEvent(MicrosoftEventKind.CUSTOMER, tenant_id=tenant)
    changes = service.sync.on_event(event)
    assert [a.message for a in changes if "Established" in a.message] == [
        "Reseller relationship Established: the customer accepted."
    ]
    assert service.customers.card(card.row.id).row.reseller == "Established"
    later = service.customers.card("later.com")
    assert later.row.reseller == "In Progress"
    assert (
        "Microsoft knows no tenant for later.com yet" in step(later, "Reseller Relationship").detail
    )
    assert service.sync.on_event(event) == []
