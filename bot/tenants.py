"""The customer's Microsoft tenant: which Entra tenant owns the domain the partner typed.

Asked at enrollment and kept on the onboarding, so Partner Center is asked about that tenant
and never matched on a company domain (usually the *.onmicrosoft.com one). A domain no tenant
owns still enrolls: the customer must first sign up for Microsoft 365 or verify the domain,
and the card says so until Microsoft knows the tenant.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.activity import SYSTEM_ACTOR, Activity, ActivityKind
from bot.domain import Onboarding, Step
from bot.errors import ProviderError
from bot.wiring import Wiring

log = logging.getLogger(__name__)


def no_tenant_line(domain: str) -> str:
    """What a domain without a tenant means for the partner, as the card and the log say it."""
    return (
        f"Microsoft knows no tenant for {domain} yet: the customer must sign up for "
        f"Microsoft 365 (or verify {domain} in its tenant) before it can accept the invitation."
    )


@dataclass(frozen=True)
class TenantLookup:
    """What Microsoft said about the tenant owning a domain, and when."""

    tenant_id: str | None
    at: datetime

    def apply(self, ob: Onboarding) -> tuple[bool, Activity | None]:
        """Keeps the answer on the onboarding; says whether that changed it, and the activity
        to record when it matters to the partner (no tenant, or a tenant found at last)."""
        if ob.customer_tenant_id is not None:
            return False, None
        known_missing = ob.tenant_checked_at is not None
        ob.customer_tenant_id = self.tenant_id
        ob.tenant_checked_at = self.at
        if self.tenant_id is None:
            if known_missing:
                return True, None
            return True, ob.note(
                self.at,
                SYSTEM_ACTOR,
                ActivityKind.TENANT_MISSING,
                no_tenant_line(ob.domain),
                Step.RESELLER,
            )
        if known_missing:
            return True, ob.note(
                self.at,
                SYSTEM_ACTOR,
                ActivityKind.TENANT_FOUND,
                f"Microsoft now knows the tenant of {ob.domain} ({self.tenant_id}): the "
                "customer can accept the reseller invitation.",
                Step.RESELLER,
            )
        return True, None


def resolve_tenant(w: Wiring, domain: str) -> TenantLookup | None:
    """Asks which tenant owns the domain; None when Microsoft could not say now (asked again
    at the next sync), so a slow or failing lookup never blocks anything."""
    try:
        return TenantLookup(w.microsoft.find_tenant(domain), w.clock.now())
    except ProviderError as err:
        log.warning("tenant of %s not resolved (%s); asked again at the next sync", domain, err)
        return None
