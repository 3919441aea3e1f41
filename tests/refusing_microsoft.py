"""A `MicrosoftPartner` for tests that answers as the sandbox does, except when told to refuse.

Our own port, so a test implementation is allowed here: it wraps the real sandbox backend and
raises `ProviderError` (transient or permanent) on the calls a test names, for the next
`times` calls, or overrides what Microsoft says (no tenant for a domain, a transfer's own
expiry, an assignment stuck pending or failed). Every call is counted, so a test can check
that a retry created nothing twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

from adapters.microsoft.sandbox import SandboxMicrosoft
from bot.errors import ProviderError
from bot.records import (
    AccessAssignment,
    AssignmentState,
    CustomerProfile,
    GdapRelationship,
    Transfer,
)


@dataclass
class Refusal:
    error: ProviderError
    times: int
    after: bool = False  # do the call, then raise: Microsoft acted but the answer was lost


@dataclass
class RefusingMicrosoft:
    sandbox: SandboxMicrosoft
    calls: Counter[str] = field(default_factory=Counter)
    refusals: dict[str, Refusal] = field(default_factory=dict)
    no_tenant: set[str] = field(default_factory=set)  # domains no Entra tenant owns
    transfer_expires_at: datetime | None = None  # what Partner Center says, when set
    assignment_state: AssignmentState | None = None  # every assignment reads as this
    assignment_detail: str = ""
    lapse_known_on_create: bool = True  # False: the created relationship lacks its 90-day end

    def refuse(
        self,
        method: str,
        message: str,
        *,
        permanent: bool = False,
        times: int = 1,
        after: bool = False,
        retry_after: float | None = None,
    ) -> None:
        """The next `times` calls of `method` raise `ProviderError(message, permanent=…)`;
        with `after`, each call is made first (a timeout after Microsoft did the work)."""
        error = ProviderError(message, retry_after, permanent=permanent)
        self.refusals[method] = Refusal(error, times, after)

    def _call(self, method: str) -> None:
        self.calls[method] += 1
        refusal = self.refusals.get(method)
        if refusal and refusal.times > 0 and not refusal.after:
            refusal.times -= 1
            raise refusal.error

    def _answer(self, method: str) -> None:
        """After the call was made: raise if told to lose Microsoft's answer."""
        refusal = self.refusals.get(method)
        if refusal and refusal.times > 0 and refusal.after:
            refusal.times -= 1
            raise refusal.error

    # -- MicrosoftPartner ------------------------------------------------------------------

    def reseller_invitation_url(self) -> str:
        self._call("reseller_invitation_url")
        return self.sandbox.reseller_invitation_url()

    def find_tenant(self, domain: str) -> str | None:
        self._call("find_tenant")
        return None if domain.lower() in self.no_tenant else self.sandbox.find_tenant(domain)

    def find_customer(self, domain: str, tenant_id: str | None = None) -> CustomerProfile | None:
        self._call("find_customer")
        return self.sandbox.find_customer(domain, tenant_id)

    def create_gdap_relationship(
        self,
        *,
        name: str,
        duration_days: int,
        role_ids: list[str],
        auto_extend: bool,
        customer_tenant_id: str | None,
        customer_name: str,
    ) -> GdapRelationship:
        self._call("create_gdap_relationship")
        created = self.sandbox.create_gdap_relationship(
            name=name,
            duration_days=duration_days,
            role_ids=role_ids,
            auto_extend=auto_extend,
            customer_tenant_id=customer_tenant_id,
            customer_name=customer_name,
        )
        self._answer("create_gdap_relationship")
        return created if self.lapse_known_on_create else replace(created, ends_unapproved_at=None)

    def get_gdap_relationship(self, relationship_id: str) -> GdapRelationship:
        self._call("get_gdap_relationship")
        return self.sandbox.get_gdap_relationship(relationship_id)

    def assign_access(
        self, relationship_id: str, group_id: str, role_ids: list[str]
    ) -> AccessAssignment:
        self._call("assign_access")
        assigned = self._as_told(self.sandbox.assign_access(relationship_id, group_id, role_ids))
        self._answer("assign_access")
        return assigned

    def get_access_assignment(self, relationship_id: str, assignment_id: str) -> AccessAssignment:
        self._call("get_access_assignment")
        if self.assignment_state is not None:
            data = self.sandbox.state.get("assignment", assignment_id) or {}
            return AccessAssignment(
                assignment_id,
                str(data.get("group_id", "")),
                tuple(data.get("role_ids", ())),
                self.assignment_state,
                self.assignment_detail,
            )
        return self.sandbox.get_access_assignment(relationship_id, assignment_id)

    def _as_told(self, assignment: AccessAssignment) -> AccessAssignment:
        if self.assignment_state is None:
            return assignment
        return replace(assignment, state=self.assignment_state, detail=self.assignment_detail)

    def create_transfer(
        self,
        *,
        customer_tenant_id: str,
        partner_tenant_id: str,
        partner_name: str,
        customer_email: str,
    ) -> Transfer:
        self._call("create_transfer")
        created = self.sandbox.create_transfer(
            customer_tenant_id=customer_tenant_id,
            partner_tenant_id=partner_tenant_id,
            partner_name=partner_name,
            customer_email=customer_email,
        )
        self._answer("create_transfer")
        return replace(created, expires_at=self.transfer_expires_at)

    def get_transfer(self, customer_tenant_id: str, transfer_id: str) -> Transfer:
        self._call("get_transfer")
        found = self.sandbox.get_transfer(customer_tenant_id, transfer_id)
        return replace(found, expires_at=self.transfer_expires_at)

    def cancel_transfer(self, customer_tenant_id: str, transfer_id: str) -> None:
        self._call("cancel_transfer")
        self.sandbox.cancel_transfer(customer_tenant_id, transfer_id)
