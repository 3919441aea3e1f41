"""The onboarding state machine: every transition, every refusal and the overall status rule."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import (
    SYSTEM_ACTOR,
    Actor,
    CustomerDetails,
    GdapRequest,
    GdapStatus,
    HubStatus,
    Lifecycle,
    OverallStatus,
    P2PStatus,
    P2PTransfer,
    ResellerStatus,
    Step,
    new_onboarding,
    reminder_due_at,
)
from bot.errors import NotAllowed
from bot.gdap_roles import GLOBAL_ADMINISTRATOR_ID, RECOMMENDED_ROLE_IDS

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ALICE = Actor("U1", "alice", "slack")


def enrolled():
    ob, activity = new_onboarding(
        CustomerDetails("ABC Technologies Inc.", "john.doe@abctech.com", "abctech.com", "US"),
        T0,
        ALICE,
    )
    return ob, activity


def established():
    ob, _ = enrolled()
    ob.accept_reseller(T0, SYSTEM_ACTOR, "tenant-1")
    return ob


def gdap_request(roles=RECOMMENDED_ROLE_IDS):
    return GdapRequest("ABC GDAP", 730, list(roles), "rel-1", "https://approve/rel-1")


def transfer():
    return P2PTransfer("Old Partner", "0e9b0b5f-0000-4a5d-9c1d-1234567890ab", "ops@old.example")


def completed(with_p2p=False):
    ob = established()
    ob.request_gdap(T0, ALICE, gdap_request())
    ob.approve_gdap(T0, SYSTEM_ACTOR, T0 + timedelta(days=730))
    ob.start_hub(T0, ALICE)
    ob.complete_hub(T0, SYSTEM_ACTOR, "hub-1")
    if with_p2p:
        ob.initiate_p2p(T0, ALICE, transfer())
        ob.complete_p2p(T0, SYSTEM_ACTOR)
    return ob


def test_enrollment_starts_the_reseller_step_in_progress_and_logs_who():
    ob, activity = enrolled()
    assert ob.reseller_status is ResellerStatus.IN_PROGRESS
    assert ob.reseller_started_at == T0
    assert (ob.gdap_status, ob.hub_status, ob.p2p_status) == (
        GdapStatus.NOT_STARTED,
        HubStatus.NOT_STARTED,
        P2PStatus.NOT_STARTED,
    )
    assert ob.overall_status is OverallStatus.ACTIVE
    assert activity.actor == ALICE and activity.kind == "enrolled"
    assert "john.doe@abctech.com" in activity.message
    assert ob.waiting_steps() == [Step.RESELLER]


def test_reseller_accept_once_then_refused():
    ob, _ = enrolled()
    activity = ob.accept_reseller(T0, SYSTEM_ACTOR, "tenant-1")
    assert ob.reseller_status is ResellerStatus.ESTABLISHED
    assert ob.customer_tenant_id == "tenant-1"
    assert activity.actor.id == "system"
    with pytest.raises(NotAllowed, match="already Established"):
        ob.accept_reseller(T0, SYSTEM_ACTOR, "tenant-1")


def test_gdap_needs_the_reseller_relationship_first():
    ob, _ = enrolled()
    with pytest.raises(NotAllowed, match="reseller relationship"):
        ob.request_gdap(T0, ALICE, gdap_request())
    assert ob.gdap_status is GdapStatus.NOT_STARTED


def test_gdap_in_progress_established_expired_and_recovered():
    ob = established()
    ob.request_gdap(T0, ALICE, gdap_request())
    assert ob.gdap_status is GdapStatus.IN_PROGRESS and ob.gdap_started_at == T0
    with pytest.raises(NotAllowed, match="already In Progress"):
        ob.request_gdap(T0, ALICE, gdap_request())
    with pytest.raises(NotAllowed, match="not Established"):
        ob.expire_gdap(T0, SYSTEM_ACTOR)
    ob.approve_gdap(T0, SYSTEM_ACTOR, T0 + timedelta(days=730))
    assert ob.gdap_status is GdapStatus.ESTABLISHED
    with pytest.raises(NotAllowed, match="no GDAP request in progress"):
        ob.approve_gdap(T0, SYSTEM_ACTOR, None)
    ob.expire_gdap(T0, SYSTEM_ACTOR)
    assert ob.overall_status is OverallStatus.FAILED
    assert ob.failure_reason == "GDAP relationship expired."
    assert "gdap" in (ob.recovery_hint() or "")
    ob.request_gdap(T0, ALICE, gdap_request())
    assert ob.overall_status is OverallStatus.ACTIVE and ob.failure_reason is None


def test_gdap_failure_keeps_microsofts_reason():
    ob = established()
    ob.request_gdap(T0, ALICE, gdap_request())
    ob.fail_gdap(T0, SYSTEM_ACTOR, "403 partner security requirements not met")
    assert ob.overall_status is OverallStatus.FAILED
    assert ob.failure_reason == "403 partner security requirements not met"


def test_auto_extend_is_off_only_with_global_administrator():
    assert gdap_request().auto_extend
    assert not gdap_request([*RECOMMENDED_ROLE_IDS, GLOBAL_ADMINISTRATOR_ID]).auto_extend


def test_hub_not_started_in_progress_completed_and_refusals():
    ob, _ = enrolled()
    with pytest.raises(NotAllowed, match="not In Progress"):
        ob.complete_hub(T0, SYSTEM_ACTOR, "hub-1")
    ob.start_hub(T0, ALICE)
    assert ob.hub_status is HubStatus.IN_PROGRESS
    with pytest.raises(NotAllowed, match="already In Progress"):
        ob.start_hub(T0, ALICE)
    ob.complete_hub(T0, SYSTEM_ACTOR, "hub-1")
    assert ob.hub_status is HubStatus.COMPLETED and ob.hub_customer_id == "hub-1"


def test_p2p_pending_then_each_ending():
    for end, status, overall in (
        ("complete_p2p", P2PStatus.COMPLETED, OverallStatus.ACTIVE),
        ("expire_p2p", P2PStatus.EXPIRED, OverallStatus.FAILED),
        ("cancel_p2p", P2PStatus.CANCELLED, OverallStatus.ACTIVE),
    ):
        ob = established()
        ob.initiate_p2p(T0, ALICE, transfer())
        assert ob.p2p_status is P2PStatus.PENDING
        assert ob.p2p.expires_at == T0 + timedelta(days=30)
        assert Step.P2P in ob.waiting_steps()
        getattr(ob, end)(T0, SYSTEM_ACTOR)
        assert ob.p2p_status is status
        assert ob.overall_status is overall
        assert Step.P2P not in ob.waiting_steps()


def test_p2p_refusals():
    ob, _ = enrolled()
    with pytest.raises(NotAllowed, match="reseller relationship"):
        ob.initiate_p2p(T0, ALICE, transfer())
    ob = established()
    with pytest.raises(NotAllowed, match="no P2P transfer to cancel"):
        ob.cancel_p2p(T0, ALICE)
    ob.initiate_p2p(T0, ALICE, transfer())
    with pytest.raises(NotAllowed, match="already Pending"):
        ob.initiate_p2p(T0, ALICE, transfer())
    ob.fail_p2p(T0, SYSTEM_ACTOR, "declined")
    assert ob.failure_reason == "declined"
    with pytest.raises(NotAllowed, match="not Pending"):
        ob.complete_p2p(T0, SYSTEM_ACTOR)
    # A failed transfer can be dropped, and the onboarding is no longer Failed.
    ob.cancel_p2p(T0, ALICE)
    assert ob.overall_status is OverallStatus.ACTIVE and ob.failure_reason is None


def test_completed_needs_every_step_and_a_started_transfer_to_complete():
    ob = completed()
    assert ob.overall_status is OverallStatus.COMPLETED
    ob.initiate_p2p(T0, ALICE, transfer())
    assert ob.overall_status is OverallStatus.ACTIVE
    ob.complete_p2p(T0, SYSTEM_ACTOR)
    assert ob.overall_status is OverallStatus.COMPLETED


def test_finish_only_when_completed_and_names_what_is_left():
    ob = established()
    with pytest.raises(NotAllowed) as refused:
        ob.finish(T0, ALICE)
    assert "GDAP Access is Not started" in str(refused.value)
    assert "MSP Hub Access is Not started" in str(refused.value)
    assert "Reseller" not in str(refused.value)
    ob = completed(with_p2p=True)
    ob.finish(T0, ALICE)
    assert ob.lifecycle is Lifecycle.FINISHED and ob.closed_at == T0
    with pytest.raises(NotAllowed, match="already finished"):
        ob.cancel(T0, ALICE)


def test_cancel_any_time_stops_a_pending_transfer():
    ob = established()
    ob.initiate_p2p(T0, ALICE, transfer())
    ob.cancel(T0, ALICE)
    assert ob.lifecycle is Lifecycle.CANCELLED
    assert ob.p2p_status is P2PStatus.CANCELLED
    with pytest.raises(NotAllowed, match="was cancelled"):
        ob.record_reminder(T0, ALICE, Step.RESELLER, "x@y.com")


def test_reminders_only_for_waiting_steps():
    ob, _ = enrolled()
    activity = ob.record_reminder(T0, ALICE, Step.RESELLER, "john.doe@abctech.com")
    assert activity.details["slot"] is None
    auto = ob.record_reminder(T0, SYSTEM_ACTOR, Step.RESELLER, "john.doe@abctech.com", 2)
    assert auto.message == (
        "2nd of 3 reminders sent to john.doe@abctech.com (Reseller Relationship)."
    )
    assert auto.details["slot"] == 2
    with pytest.raises(NotAllowed, match="nothing to remind"):
        ob.record_reminder(T0, ALICE, Step.GDAP, "john.doe@abctech.com")


def test_a_reminder_only_adds_to_the_log():
    """The scheduler moves a reminded onboarding's version on without writing its fields
    (`touch_all`): that is only right while a reminder changes none of them."""
    ob, _ = enrolled()
    before = copy.deepcopy(ob)
    ob.record_reminder(T0, SYSTEM_ACTOR, Step.RESELLER, "john.doe@abctech.com", 1)
    assert ob == before


def test_reminder_slots_are_24h_48h_and_7_days_after_the_start():
    assert [reminder_due_at(T0, s) - T0 for s in (1, 2, 3)] == [
        timedelta(hours=24),
        timedelta(hours=48),
        timedelta(hours=168),
    ]


# -- requests Microsoft did not answer, refused, or created late -------------------------------


def test_a_gdap_request_microsoft_did_not_answer_waits_on_microsoft_not_the_customer():
    ob = established()
    request = GdapRequest("ABC GDAP", 730, list(RECOMMENDED_ROLE_IDS))
    kept = ob.keep_gdap_request(T0, ALICE, request, "Graph answered 503", T0 + timedelta(minutes=1))
    assert kept.message == (
        'GDAP request "ABC GDAP" kept: Microsoft did not answer (Graph answered 503). '
        "It is sent again automatically from 09:01 UTC."
    )
    assert ob.gdap_status is GdapStatus.IN_PROGRESS and ob.overall_status is OverallStatus.ACTIVE
    assert ob.microsoft_wait(Step.GDAP) == "Graph answered 503"
    assert Step.GDAP not in ob.waiting_steps()  # no reminder for a request the customer lacks
    later = T0 + timedelta(hours=2)
    sent = ob.gdap_created(later, "rel-1", "https://approve/rel-1", later + timedelta(days=90))
    assert sent.message.startswith('GDAP request "ABC GDAP" sent: 730 days')
    assert sent.actor == SYSTEM_ACTOR and ob.gdap_started_at == later
    assert ob.microsoft_wait(Step.GDAP) is None and Step.GDAP in ob.waiting_steps()
    with pytest.raises(NotAllowed, match="waiting for Microsoft"):
        ob.gdap_created(later, "rel-2", "https://approve/rel-2")


def test_a_gdap_request_microsoft_refuses_is_failed_with_its_reason():
    ob = established()
    request = GdapRequest("ABC GDAP", 730, list(RECOMMENDED_ROLE_IDS))
    failed = ob.refuse_gdap(T0, ALICE, request, "The name is taken: choose another name.")
    assert failed.message == (
        'GDAP access Failed: Microsoft refused the request "ABC GDAP": '
        "The name is taken: choose another name."
    )
    assert ob.gdap_status is GdapStatus.FAILED and ob.overall_status is OverallStatus.FAILED
    assert ob.recovery_hint() == 'Create a new GDAP request: gdap "abctech.com"'


def test_a_transfer_keeps_partner_centers_expiry_instead_of_thirty_days():
    ob = established()
    pending = transfer()
    ob.keep_p2p_request(T0, ALICE, pending, "429", T0 + timedelta(minutes=2))
    assert ob.p2p_status is P2PStatus.PENDING and Step.P2P not in ob.waiting_steps()
    later = T0 + timedelta(hours=1)
    sent = ob.p2p_created(later, "tr-1", later + timedelta(days=14))
    assert pending.expires_at == later + timedelta(days=14)
    assert sent.message.endswith(
        f"Partner Center ends it on {later + timedelta(days=14):%d %b %Y}."
    )
    plain = established()
    plain.initiate_p2p(T0, ALICE, transfer())
    assert plain.p2p.expires_at == T0 + timedelta(days=30)
    refused = established()
    refused.refuse_p2p(T0, ALICE, transfer(), "900147: not the current partner's domain.")
    assert refused.p2p_status is P2PStatus.FAILED
    assert refused.failure_reason == (
        "Microsoft refused the transfer request: 900147: not the current partner's domain."
    )
