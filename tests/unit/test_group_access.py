"""Which partner groups get which GDAP roles, and what Microsoft's answers about them mean:
pure rules beside the domain (no store, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain import (
    AccessState,
    ActivityKind,
    Actor,
    CustomerDetails,
    GdapRequest,
    new_onboarding,
)
from bot.errors import ProviderError
from bot.group_access import (
    AccessAnswer,
    access_plan,
    apply_access,
    needs_asking,
    pending_access,
    unmapped_roles,
)
from bot.records import AccessAssignment, AssignmentState

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ALICE = Actor("U1", "alice", "slack")
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
USERS = "fe930be7-5e62-47db-91af-98c3a49a38b1"
READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
G1, G2 = "group-1", "group-2"


def established(roles=(HELPDESK, USERS, READER)):
    ob, _ = new_onboarding(
        CustomerDetails("ABC Technologies Inc.", "john.doe@abctech.com", "abctech.com", "US"),
        T0,
        ALICE,
    )
    ob.accept_reseller(T0, ALICE, "tenant-1")
    ob.request_gdap(T0, ALICE, GdapRequest("ABC GDAP", 90, list(roles), relationship_id="r1"))
    ob.approve_gdap(T0, ALICE, T0 + timedelta(days=90))
    return ob


def assignment(group, roles, state, detail=""):
    return AccessAssignment(f"as-{group}", group, tuple(roles), state, detail)


def test_each_group_gets_the_approved_roles_mapped_to_it_in_any_case():
    groups = {HELPDESK: G1, USERS.upper(): G1, READER: G2, "not-approved": "group-3"}
    assert access_plan([HELPDESK, USERS, READER], groups) == {G1: [HELPDESK, USERS], G2: [READER]}
    assert access_plan([HELPDESK], {}) == {}
    assert unmapped_roles([HELPDESK, USERS, READER], {HELPDESK: G1}) == [USERS, READER]


def test_groups_are_asked_until_microsoft_settles_them():
    ob = established()
    groups = {HELPDESK: G1, READER: G2}
    assert needs_asking(ob, groups) == [(G1, [HELPDESK]), (G2, [READER])]
    answers = [
        AccessAnswer(G1, [HELPDESK], assignment(G1, [HELPDESK], AssignmentState.PENDING)),
        AccessAnswer(G2, [READER], ProviderError("Graph answered 503")),
    ]
    assert list(apply_access(ob, T0, answers)) == []
    assert [(a.group_id, a.state) for a in ob.gdap.assignments] == [
        (G1, AccessState.PENDING),
        (G2, AccessState.WAITING),
    ]
    assert ob.gdap.assignments[1].detail == "Graph answered 503"
    assert len(pending_access(ob)) == 2
    assert [g for g, _ in needs_asking(ob, groups)] == [G1, G2]


def test_active_and_failed_are_recorded_once():
    ob = established()
    answers = [
        AccessAnswer(G1, [HELPDESK], assignment(G1, [HELPDESK], AssignmentState.ACTIVE)),
        AccessAnswer(G2, [READER], ProviderError("No such group.", permanent=True)),
    ]
    changes = list(apply_access(ob, T0, answers))
    assert [c.kind for c in changes] == [ActivityKind.ACCESS_ACTIVE, ActivityKind.ACCESS_FAILED]
    assert (
        changes[0].message == "GDAP roles assigned: group group-1 now holds Helpdesk Administrator."
    )
    assert changes[1].message == (
        "GDAP roles not assigned to group group-2 (Global Reader): No such group. "
        "Check the group in GDAP_ROLE_GROUPS."
    )
    assert list(apply_access(ob, T0, answers)) == []  # the same answers again change nothing
    assert pending_access(ob) == [] and needs_asking(ob, {HELPDESK: G1, READER: G2}) == []


def test_nothing_is_assigned_on_a_relationship_that_is_not_established():
    ob = established()
    ob.expire_gdap(T0, ALICE)
    answers = [AccessAnswer(G1, [HELPDESK], assignment(G1, [HELPDESK], AssignmentState.ACTIVE))]
    assert list(apply_access(ob, T0, answers)) == []
    assert ob.gdap.assignments == [] and needs_asking(ob, {HELPDESK: G1}) == []


def test_a_refused_group_is_asked_again_once_the_mapping_gives_it_other_roles():
    ob = established()
    refused = [AccessAnswer(G1, [HELPDESK, READER], ProviderError("not approved", permanent=True))]
    list(apply_access(ob, T0, refused))
    assert needs_asking(ob, {HELPDESK: G1, READER: G1}) == []  # the same mapping: not again
    assert needs_asking(ob, {HELPDESK: G1}) == [(G1, [HELPDESK])]
    fixed = [AccessAnswer(G1, [HELPDESK], assignment(G1, [HELPDESK], AssignmentState.ACTIVE))]
    [active] = list(apply_access(ob, T0, fixed))
    assert active.kind is ActivityKind.ACCESS_ACTIVE
    assert ob.gdap.assignments[0].role_ids == [HELPDESK]
