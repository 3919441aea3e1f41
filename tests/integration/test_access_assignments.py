"""Access assignments through the service on both databases: once the customer approves,
each partner group of GDAP_ROLE_GROUPS is given its roles, followed to active by the
scheduler, and the card and the activity log say which groups hold which roles."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from adapters.clock import FixedClock
from bot.domain import Actor
from bot.jobs import run_due
from bot.records import AssignmentState, MicrosoftEvent, MicrosoftEventKind, TimerKind
from tests.services import refusing_service

ALICE = Actor("U1", "alice", "console")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
USERS = "fe930be7-5e62-47db-91af-98c3a49a38b1"
READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
DIRECTORY_READERS = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
SUPPORT_GROUP = "11111111-aaaa-4bbb-8ccc-000000000001"
AUDIT_GROUP = "11111111-aaaa-4bbb-8ccc-000000000002"
ROLE_GROUPS = {HELPDESK: SUPPORT_GROUP, USERS: SUPPORT_GROUP, READER.upper(): AUDIT_GROUP}


@pytest.fixture
def clock():
    return FixedClock(T0)


def build(engine, clock, role_groups):
    return refusing_service(engine, clock, role_groups=role_groups)


@pytest.fixture
def both(engine, clock):
    return build(engine, clock, ROLE_GROUPS)


@pytest.fixture
def service(both):
    return both[0]


@pytest.fixture
def microsoft(both):
    return both[1]


def approved(service, roles=(HELPDESK, USERS, READER, DIRECTORY_READERS)):
    service.enrollment.enroll(
        {
            "name": "ABC Technologies Inc.",
            "email": "john.doe@abctech.com",
            "domain": "abctech.com",
            "country": "us",
        },
        ALICE,
    )
    service.sandbox.play("accept-reseller", "abctech.com")
    service.gdap.request(
        "abctech.com", {"name": "ABC GDAP", "duration": "365", "roles": list(roles)}, ALICE
    )
    return service.sandbox.play("approve-gdap", "abctech.com")


def gdap_detail(card):
    return next(s for s in card.steps if s.title == "GDAP Access").detail


def log(service):
    return [e.message for e in service.customers.activity_log("abctech.com").events]


def access_timers(service, card):
    with service.store.transaction() as uow:
        return uow.timers.of(card.row.id, TimerKind.GDAP_ACCESS)


def test_each_group_gets_its_roles_and_the_card_follows_them_to_active(service, microsoft, clock):
    card = approved(service)
    assert card.row.gdap == "Established"
    detail = gdap_detail(card)
    assert detail.startswith("GDAP approved · assigning roles to 2 groups")
    assert (
        f"group {SUPPORT_GROUP} pending since now: Helpdesk Administrator, User Administrator"
        in detail
    )
    assert f"group {AUDIT_GROUP} pending since now: Global Reader" in detail
    assert "no group holds Directory Readers: add them to GDAP_ROLE_GROUPS" in detail
    assert microsoft.calls["assign_access"] == 2  # one call per group
    [timer] = access_timers(service, card)
    assert timer.due_at == clock.at + timedelta(minutes=1)

    clock.advance(minutes=1)
    run_due(service)
    card = service.customers.card("abctech.com")
    detail = gdap_detail(card)
    assert "assigning" not in detail
    assert f"group {SUPPORT_GROUP} holds Helpdesk Administrator, User Administrator" in detail
    assert f"group {AUDIT_GROUP} holds Global Reader" in detail
    assert (
        f"GDAP roles assigned: group {SUPPORT_GROUP} now holds Helpdesk Administrator, "
        "User Administrator." in log(service)
    )
    assert f"GDAP roles assigned: group {AUDIT_GROUP} now holds Global Reader." in log(service)
    [timer] = access_timers(service, card)
    assert timer.state == "done"
    # Nothing is assigned twice, however often Microsoft is asked again.
    service.sync.refresh(card.row.id)
    event = MicrosoftEvent(MicrosoftEventKind.ACCESS, relationship_id=_relationship(microsoft))
    assert service.sync.on_event(event) == []
    assert microsoft.calls["assign_access"] == 2
    assert len(microsoft.sandbox.state.all("assignment")) == 2
    assert sum("GDAP roles assigned" in m for m in log(service)) == 2


def _relationship(microsoft):
    return microsoft.sandbox.state.all("gdap")[0]["id"]


def test_an_assignment_microsoft_refuses_is_shown_failed_with_its_reason(service, microsoft, clock):
    microsoft.refuse(
        "assign_access",
        f"The security group {AUDIT_GROUP} does not exist in your partner tenant.",
        permanent=True,
    )
    card = approved(service, roles=(READER,))
    detail = gdap_detail(card)
    assert (
        f"group {AUDIT_GROUP} failed to get Global Reader (The security group {AUDIT_GROUP} "
        "does not exist in your partner tenant.)" in detail
    )
    assert "assigning" not in detail
    assert card.row.gdap == "Established"
    assert log(service)[-1] == (
        f"GDAP roles not assigned to group {AUDIT_GROUP} (Global Reader): The security group "
        f"{AUDIT_GROUP} does not exist in your partner tenant. Check the group in "
        "GDAP_ROLE_GROUPS."
    )
    assert access_timers(service, card) == []


def test_an_assignment_that_microsoft_drops_is_failed(service, microsoft, clock):
    card = approved(service, roles=(READER,))
    microsoft.assignment_state = AssignmentState.FAILED
    microsoft.assignment_detail = "Microsoft reported the assignment as deleted"
    clock.advance(minutes=1)
    run_due(service)
    card = service.customers.card("abctech.com")
    assert (
        f"group {AUDIT_GROUP} failed to get Global Reader (Microsoft reported the assignment "
        "as deleted)" in gdap_detail(card)
    )
    assert any("not assigned to group" in m for m in log(service))


def test_an_assignment_stuck_pending_is_polled_with_back_off_and_shown_as_pending(
    service, microsoft, clock
):
    microsoft.assignment_state = AssignmentState.PENDING
    card = approved(service, roles=(READER,))
    dues = []
    for _ in range(6):
        [timer] = access_timers(service, card)
        dues.append(timer.due_at)
        clock.at = timer.due_at
        run_due(service)
    gaps = [b - a for a, b in itertools.pairwise(dues)]
    assert gaps == sorted(gaps) and gaps[0] == timedelta(minutes=1)
    card = service.customers.card("abctech.com")
    detail = gdap_detail(card)
    assert detail.startswith("GDAP approved · assigning roles to 1 group")
    assert f"group {AUDIT_GROUP} pending since " in detail and "ago: Global Reader" in detail
    microsoft.assignment_state = None  # Microsoft finishes it
    [timer] = access_timers(service, card)
    clock.at = timer.due_at
    run_due(service)
    assert f"group {AUDIT_GROUP} holds Global Reader" in gdap_detail(
        service.customers.card("abctech.com")
    )


def test_microsoft_not_answering_an_assignment_asks_again(service, microsoft, clock):
    microsoft.refuse("assign_access", "Graph answered 503", times=1)
    card = approved(service, roles=(READER,))
    assert f"group {AUDIT_GROUP} waiting for Microsoft: Graph answered 503 (Global Reader)" in (
        gdap_detail(card)
    )
    clock.advance(minutes=1)
    run_due(service)  # assigned now (pending)
    clock.advance(minutes=1)
    run_due(service)  # and read back active
    assert f"group {AUDIT_GROUP} holds Global Reader" in gdap_detail(
        service.customers.card("abctech.com")
    )
    assert len(microsoft.sandbox.state.all("assignment")) == 1


def test_without_role_groups_the_card_says_nobody_can_use_the_access(engine, clock):
    service, microsoft = build(engine, clock, {})
    card = approved(service)
    detail = gdap_detail(card)
    assert detail.count("nobody in your partner tenant can use this access") == 1
    assert "set GDAP_ROLE_GROUPS" in detail
    assert microsoft.calls["assign_access"] == 0
    assert not any("GDAP roles" in m for m in log(service))
