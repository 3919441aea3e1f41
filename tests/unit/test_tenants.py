"""The customer's tenant on the onboarding: kept once Microsoft says, recorded when it
matters to the partner (no tenant, or one found at last)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain import ActivityKind, Actor, CustomerDetails, new_onboarding
from bot.tenants import TenantLookup, no_tenant_line

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ALICE = Actor("U1", "alice", "slack")


def enrolled():
    ob, _ = new_onboarding(CustomerDetails("NewCo", "it@newco.com", "newco.com", "US"), T0, ALICE)
    return ob


def test_a_domain_without_a_tenant_is_said_once_and_a_tenant_found_later_is_said_too():
    ob = enrolled()
    changed, note = TenantLookup(None, T0).apply(ob)
    assert changed and note.kind is ActivityKind.TENANT_MISSING
    assert note.message == no_tenant_line("newco.com")
    assert ob.customer_tenant_id is None and ob.tenant_checked_at == T0
    assert TenantLookup(None, T0 + timedelta(hours=1)).apply(ob)[1] is None  # said once
    changed, note = TenantLookup("tenant-1", T0 + timedelta(days=1)).apply(ob)
    assert changed and note.kind is ActivityKind.TENANT_FOUND
    assert ob.customer_tenant_id == "tenant-1"
    assert TenantLookup("tenant-2", T0).apply(ob) == (False, None)  # kept, never replaced


def test_a_tenant_found_at_enrollment_is_kept_quietly():
    ob = enrolled()
    assert TenantLookup("tenant-1", T0).apply(ob) == (True, None)
    assert ob.customer_tenant_id == "tenant-1"
