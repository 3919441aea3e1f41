"""What Microsoft's answers mean for each step: the pure mapping from Partner Center and
Graph states to transitions, beside the domain (no store, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain import (
    ActivityKind,
    Actor,
    CustomerDetails,
    GdapRequest,
    GdapStatus,
    P2PStatus,
    P2PTransfer,
    new_onboarding,
)
from bot.gdap_roles import GLOBAL_ADMINISTRATOR_ID, RECOMMENDED_ROLE_IDS
from bot.records import CustomerProfile, GdapRelationship, GdapState, Transfer, TransferState
from bot.sync import microsoft_transitions

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ALICE = Actor("U1", "alice", "slack")
TENANT = "9a1b2c3d-0000-4000-8000-000000000001"


def onboarding(roles=RECOMMENDED_ROLE_IDS):
    ob, _ = new_onboarding(
        CustomerDetails("ABC Technologies Inc.", "john.doe@abctech.com", "abctech.com", "US"),
        T0,
        ALICE,
    )
    ob.accept_reseller(T0, ALICE, TENANT)
    ob.request_gdap(T0, ALICE, GdapRequest("ABC GDAP", 90, list(roles), relationship_id="r1"))
    return ob


def relationship(state, ends_at=None, detail=""):
    return GdapRelationship("r1", state, "https://approve", ends_at, detail)


def kinds(ob, now=T0, profile=None, rel=None, transfer=None):
    return [a.kind for a in microsoft_transitions(ob, now, profile, rel, transfer)]


def test_the_customer_appearing_in_partner_center_establishes_the_reseller_relationship():
    ob, _ = new_onboarding(
        CustomerDetails("ABC Technologies Inc.", "it@abctech.com", "abctech.com", "US"), T0, ALICE
    )
    profile = CustomerProfile(TENANT, "ABC Technologies Inc.", "abctech.com")
    assert kinds(ob, profile=profile) == [ActivityKind.RESELLER_ESTABLISHED]
    assert ob.customer_tenant_id == TENANT
    assert kinds(ob, profile=profile) == []  # the same answer again changes nothing


def test_an_approved_relationship_is_established_with_its_end():
    ob = onboarding()
    ends = T0 + timedelta(days=90)
    assert kinds(ob, rel=relationship(GdapState.ACTIVE, ends)) == [ActivityKind.GDAP_ESTABLISHED]
    assert ob.gdap_status is GdapStatus.ESTABLISHED and ob.gdap and ob.gdap.ends_at == ends


def test_a_later_end_is_an_extension_and_an_earlier_one_is_not():
    ob = onboarding()
    ends = T0 + timedelta(days=90)
    kinds(ob, rel=relationship(GdapState.ACTIVE, ends))
    later = ends + timedelta(days=180)
    [extended] = list(
        microsoft_transitions(ob, ends, None, relationship(GdapState.ACTIVE, later), None)
    )
    assert extended.kind is ActivityKind.GDAP_EXTENDED
    assert (
        extended.message
        == f"GDAP relationship auto-extended by 180 days, now ends {later:%d %b %Y}."
    )
    assert ob.gdap and ob.gdap.ends_at == later
    assert kinds(ob, rel=relationship(GdapState.ACTIVE, ends)) == []  # never moves back


def test_a_relationship_without_auto_extend_is_not_said_to_auto_extend():
    ob = onboarding([*RECOMMENDED_ROLE_IDS, GLOBAL_ADMINISTRATOR_ID])
    ends = T0 + timedelta(days=90)
    kinds(ob, rel=relationship(GdapState.ACTIVE, ends))
    [moved] = list(
        microsoft_transitions(
            ob, ends, None, relationship(GdapState.ACTIVE, ends + timedelta(days=30)), None
        )
    )
    assert "auto-extended" not in moved.message and "extended" in moved.message


def test_expiry_and_termination():
    ob = onboarding()
    kinds(ob, rel=relationship(GdapState.ACTIVE, T0 + timedelta(days=90)))
    assert kinds(ob, rel=relationship(GdapState.EXPIRED)) == [ActivityKind.GDAP_EXPIRED]
    refused = onboarding()
    assert kinds(refused, rel=relationship(GdapState.TERMINATED, detail="rejected")) == [
        ActivityKind.GDAP_FAILED
    ]
    assert refused.failure_reason == "the request was rejected or terminated"


def test_another_relationship_id_is_ignored():
    ob = onboarding()
    other = GdapRelationship("r2", GdapState.ACTIVE, "https://approve", T0)
    assert kinds(ob, rel=other) == []


def test_transfers_complete_fail_cancel_or_expire_after_thirty_days():
    def pending():
        ob = onboarding()
        ob.initiate_p2p(T0, ALICE, P2PTransfer("Old", TENANT, "old@partner.com", "t1"))
        return ob

    done = pending()
    assert kinds(done, transfer=Transfer("t1", TransferState.COMPLETED)) == [
        ActivityKind.P2P_COMPLETED
    ]
    declined = pending()
    assert kinds(declined, transfer=Transfer("t1", TransferState.FAILED, "no")) == [
        ActivityKind.P2P_FAILED
    ]
    withdrawn = pending()
    assert kinds(withdrawn, transfer=Transfer("t1", TransferState.CANCELLED)) == [
        ActivityKind.P2P_CANCELLED
    ]
    waiting = pending()
    still = Transfer("t1", TransferState.PENDING)
    assert kinds(waiting, T0 + timedelta(days=29), transfer=still) == []
    assert kinds(waiting, T0 + timedelta(days=30), transfer=still) == [ActivityKind.P2P_EXPIRED]
    assert waiting.p2p_status is P2PStatus.EXPIRED
