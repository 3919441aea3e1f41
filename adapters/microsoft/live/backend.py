"""`LiveMicrosoft`: the `MicrosoftPartner` port over Microsoft Graph and Partner Center.

Each port method is one time budget (`RetryPolicy.budget_seconds`): within it Microsoft's
throttling and outages are waited out; past it the method raises a ProviderError that is
not permanent, and the bot tries again later. Creating a GDAP relationship or an access
assignment is idempotent: after an unclear answer (a timeout, a 5xx, a 409) the bot looks
for what it asked for instead of asking twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from adapters.microsoft.live import mapping
from adapters.microsoft.live.errors import MicrosoftRefused
from adapters.microsoft.live.graph import Graph
from adapters.microsoft.live.http import Deadline, MicrosoftUnavailable, Unanswered
from adapters.microsoft.live.partner_center import PartnerCenter
from bot.errors import ProviderError
from bot.gdap_roles import GLOBAL_ADMINISTRATOR_ID
from bot.records import (
    AccessAssignment,
    CustomerProfile,
    GdapRelationship,
    Transfer,
    TransferState,
)

log = logging.getLogger("onboarding.microsoft")

STATE_KIND = "microsoft"  # AdapterState kind of what the live backend keeps
RESELLER_LINK_KEY = "reseller_link"
MAX_NAME = 50  # Graph's limit for displayName
MAX_DAYS = 730  # the product's limit (Graph allows up to P2Y)
LOCK_ATTEMPTS = 3


class KeyValue(Protocol):
    def get(self, kind: str, key: str) -> dict[str, Any] | None: ...

    def put(self, kind: str, key: str, data: dict[str, Any]) -> None: ...


def stored_reseller_link(state: KeyValue) -> str:
    data = state.get(STATE_KIND, RESELLER_LINK_KEY) or {}
    return str(data.get("url") or "")


class LiveMicrosoft:
    """Implements `bot.ports.MicrosoftPartner` against Microsoft."""

    def __init__(
        self,
        graph: Graph,
        partner_center: PartnerCenter,
        state: KeyValue,
        *,
        reseller_link: str = "",
        transfer_type: int = 5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.graph = graph
        self.partner_center = partner_center
        self.state = state
        self.reseller_link = reseller_link.strip()
        self.transfer_type = transfer_type
        self.sleep = sleep
        self._tenants: dict[str, str] = {}

    # -- reseller relationship -------------------------------------------------------------

    def reseller_invitation_url(self) -> str:
        """PARTNER_RESELLER_LINK, else the link `partner-link` stored, verbatim."""
        link = self.reseller_link or stored_reseller_link(self.state)
        if not link:
            raise ProviderError(
                "No reseller invitation link is stored yet: an admin runs python app.py "
                "partner-link once (or sets PARTNER_RESELLER_LINK), then the invitation can "
                "be sent",
                permanent=True,
            )
        return link

    def find_tenant(self, domain: str) -> str | None:
        domain = domain.strip().lower()
        if domain in self._tenants:
            return self._tenants[domain]
        found = self.graph.find_tenant(domain, self.graph.deadline())
        tenant = str(found.get("tenantId") or "") if found else ""
        if tenant:
            self._tenants[domain] = tenant
        return tenant or None

    def find_customer(self, domain: str, tenant_id: str | None = None) -> CustomerProfile | None:
        tenant = tenant_id or self.find_tenant(domain)
        if not tenant:
            return None
        data = self.partner_center.customer(tenant, self.partner_center.deadline())
        return mapping.customer_profile(data, domain) if data else None

    # -- GDAP ----------------------------------------------------------------------------

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
        refuse_before_sending(name, duration_days, role_ids, auto_extend)
        deadline = self.graph.deadline()
        body = mapping.gdap_create_body(
            name=name,
            duration_days=duration_days,
            role_ids=role_ids,
            auto_extend=auto_extend,
            customer_tenant_id=customer_tenant_id,
            customer_name=customer_name,
        )
        try:
            created, conflict = self.graph.create_relationship(body, deadline)
        except Unanswered as unanswered:
            log.info("GDAP create %r unanswered; looking it up by name", name)
            created = self._ours_named(name, customer_tenant_id, role_ids, deadline)
            if created is None:
                raise unanswered from None
        else:
            if created is None:  # 409: the name is taken, perhaps by an earlier try of ours
                created = self._ours_named(name, customer_tenant_id, role_ids, deadline)
                if created is None:
                    raise ProviderError(
                        f'A GDAP relationship named "{name}" already exists in Partner '
                        f"Center: choose another name (Microsoft Graph: {conflict})",
                        permanent=True,
                    )
        if mapping.status_key(created) == "created":
            self._lock(str(created["id"]), deadline)
            created = {**created, "status": "approvalPending"}
        return mapping.gdap_relationship(created)

    def _ours_named(
        self, name: str, customer_tenant_id: str | None, role_ids: list[str], deadline: Deadline
    ) -> dict[str, Any] | None:
        for found in self.graph.relationships_named(name, deadline):
            if mapping.is_our_relationship(found, customer_tenant_id, role_ids):
                return found
        return None

    def _lock(self, relationship_id: str, deadline: Deadline) -> None:
        """Lock for approval. Graph moves a new relationship to `created` asynchronously, so
        a refused or unanswered lock is checked by reading the relationship again."""
        for attempt in range(1, LOCK_ATTEMPTS + 1):
            try:
                self.graph.lock_for_approval(relationship_id, deadline)
                return
            except (Unanswered, MicrosoftRefused) as err:
                if isinstance(err, MicrosoftRefused) and err.said.status in (401, 403):
                    raise
                current = self.graph.get_relationship(relationship_id, deadline)
                if current is not None and mapping.status_key(current) != "created":
                    return
                if attempt == LOCK_ATTEMPTS or deadline.remaining() < attempt:
                    break
                self.sleep(0.5 * attempt)
        raise MicrosoftUnavailable(
            f"Microsoft did not answer in time (GDAP relationship {relationship_id} was "
            "created but not yet sent for approval): the bot will try again"
        )

    def get_gdap_relationship(self, relationship_id: str) -> GdapRelationship:
        data = self.graph.get_relationship(relationship_id, self.graph.deadline())
        if data is None:
            raise ProviderError(
                f"Microsoft Graph has no admin relationship {relationship_id}: it was deleted; "
                "request GDAP again",
                permanent=True,
            )
        return mapping.gdap_relationship(data)

    def assign_access(
        self, relationship_id: str, group_id: str, role_ids: list[str]
    ) -> AccessAssignment:
        deadline = self.graph.deadline()
        body = mapping.access_assignment_body(group_id, role_ids)
        try:
            created = self.graph.create_assignment(relationship_id, body, deadline)
        except Unanswered as unanswered:
            existing = self._assignment_of(relationship_id, group_id, deadline)
            if existing is None:
                raise unanswered from None
            return existing
        if created is None:  # 409: the group already has an assignment on it
            existing = self._assignment_of(relationship_id, group_id, deadline)
            if existing is None:
                raise ProviderError(
                    f"Microsoft Graph says group {group_id} already has an access assignment "
                    f"on {relationship_id} but does not list it: the bot will try again"
                )
            return existing
        return mapping.access_assignment(created)

    def _assignment_of(
        self, relationship_id: str, group_id: str, deadline: Deadline
    ) -> AccessAssignment | None:
        for data in self.graph.assignments(relationship_id, deadline):
            if mapping.group_of(data) == group_id.lower() and mapping.status_key(data) not in (
                "deleting",
                "deleted",
            ):
                return mapping.access_assignment(data)
        return None

    def get_access_assignment(self, relationship_id: str, assignment_id: str) -> AccessAssignment:
        data = self.graph.get_assignment(relationship_id, assignment_id, self.graph.deadline())
        if data is None:
            raise ProviderError(
                f"Microsoft Graph has no access assignment {assignment_id} on {relationship_id}: "
                "it was deleted",
                permanent=True,
            )
        return mapping.access_assignment(data)

    # -- P2P -------------------------------------------------------------------------------

    def create_transfer(
        self,
        *,
        customer_tenant_id: str,
        partner_tenant_id: str,
        partner_name: str,
        customer_email: str,
    ) -> Transfer:
        deadline = self.partner_center.deadline()
        body = mapping.transfer_create_body(
            partner_tenant_id=partner_tenant_id,
            partner_name=partner_name,
            customer_email=customer_email,
            transfer_type=self.transfer_type,
        )
        try:
            data = self.partner_center.create_transfer(customer_tenant_id, body, deadline)
        except MicrosoftRefused as refused:
            if refused.said.code != "900101":  # another transfer in progress: ours?
                raise
            mine = self._pending_transfer_from(customer_tenant_id, partner_tenant_id, deadline)
            if mine is None:
                raise
            return mine
        return mapping.transfer(data)

    def _pending_transfer_from(
        self, customer_tenant_id: str, partner_tenant_id: str, deadline: Deadline
    ) -> Transfer | None:
        for data in self.partner_center.transfers(customer_tenant_id, deadline):
            found = mapping.transfer(data)
            source = str(data.get("sourcePartnerTenantId") or "").lower()
            if found.state is TransferState.PENDING and source == partner_tenant_id.lower():
                return found
        return None

    def get_transfer(self, customer_tenant_id: str, transfer_id: str) -> Transfer:
        data = self.partner_center.get_transfer(
            customer_tenant_id, transfer_id, self.partner_center.deadline()
        )
        return mapping.transfer(data)

    def cancel_transfer(self, customer_tenant_id: str, transfer_id: str) -> None:
        """Only the partner that created a transfer may cancel it, only while it is pending:
        the entity as read, with status "Cancel" (reference §5.3)."""
        deadline = self.partner_center.deadline()
        for attempt in (1, 2):
            data = self.partner_center.get_transfer(customer_tenant_id, transfer_id, deadline)
            current = mapping.transfer(data)
            if current.state is not TransferState.PENDING:
                raise ProviderError(
                    f"Transfer {transfer_id} is {current.state.value} in Partner Center: only a "
                    "pending transfer can be cancelled",
                    permanent=True,
                )
            body = {k: v for k, v in data.items() if k not in ("links", "attributes")}
            try:
                self.partner_center.update_transfer(
                    customer_tenant_id, transfer_id, {**body, "status": "Cancel"}, deadline
                )
                return
            except MicrosoftRefused as refused:
                if refused.said.status != 412 or attempt == 2:
                    raise  # 412: it changed since it was read; read it again, once


def refuse_before_sending(
    name: str, duration_days: int, role_ids: list[str], auto_extend: bool
) -> None:
    """What Microsoft would refuse, refused here with the fix, before anything is sent."""
    problems = []
    if not name.strip() or len(name) > MAX_NAME:
        problems.append(f"the Admin Relationship Name must be 1 to {MAX_NAME} characters")
    if not 1 <= duration_days <= MAX_DAYS:
        problems.append(f"the duration must be 1 to {MAX_DAYS} days")
    if not role_ids or any(not mapping.GUID.match(r) for r in role_ids):
        problems.append("the roles must be Entra built-in role template ids")
    if auto_extend and GLOBAL_ADMINISTRATOR_ID in role_ids:
        problems.append(
            "Microsoft does not auto-extend a relationship with Global Administrator: "
            "request it without auto-extend, or without Global Administrator"
        )
    if problems:
        raise ProviderError(
            "The GDAP request was not sent: " + "; ".join(problems) + ".", permanent=True
        )
