"""The sandbox Microsoft backend: an in-process Partner Center and Graph, kept in the store.

It behaves like the real services where the bot can tell (unique relationship names, no
auto-extend with Global Administrator, transfers cancellable only while pending) and lets
`sandbox ...` commands play the customer and the current partner, so the whole onboarding can
be shown with no Microsoft account. State lives in the database, so the console and the
server see the same simulated tenant.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.domain import GDAP_AUTO_EXTEND
from bot.errors import ProviderError
from bot.gdap_roles import GLOBAL_ADMINISTRATOR_ID
from bot.ports import Clock
from bot.records import (
    AccessAssignment,
    AssignmentState,
    CustomerProfile,
    GdapRelationship,
    GdapState,
    Transfer,
    TransferState,
)

APPROVAL_URL = (
    "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/"
    "granularAdminRelationships/{id}"
)
UNAPPROVED_LIFETIME = timedelta(days=90)  # Microsoft ends a request nobody approved after this
TENANTS = uuid.UUID("5a1d0b0c-7e1e-4a47-9d55-2f0c5e3a7b11")  # namespace of sandbox tenant ids
INVITATION_URL = (
    "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship"
    "&partnerId={partner}&msppId=0&DAP=false#/BillingAccounts/partner-invitation"
)


class KeyValue(Protocol):
    def get(self, kind: str, key: str) -> dict[str, Any] | None: ...

    def put(self, kind: str, key: str, data: dict[str, Any]) -> None: ...

    def all(self, kind: str) -> list[dict[str, Any]]: ...


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class SandboxMicrosoft:
    """Implements `MicrosoftPartner` and `CustomerSimulator` over a key-value state."""

    def __init__(self, state: KeyValue, clock: Clock, partner_id: str) -> None:
        self.state = state
        self.clock = clock
        self.partner_id = partner_id

    # -- MicrosoftPartner ------------------------------------------------------------------

    def reseller_invitation_url(self) -> str:
        return INVITATION_URL.format(partner=self.partner_id)

    def find_tenant(self, domain: str) -> str | None:
        """Every sandbox domain has a tenant, with the same id however often it is asked (the
        one its customer got on accepting, for customers the sandbox made before tenants)."""
        data = self.state.get("customer", domain.lower())
        if data:
            return str(data["tenant_id"])
        return str(uuid.uuid5(TENANTS, domain.lower()))

    def find_customer(self, domain: str, tenant_id: str | None = None) -> CustomerProfile | None:
        data = self.state.get("customer", domain.lower())
        if not data:
            return None
        if tenant_id and str(data["tenant_id"]).lower() != tenant_id.lower():
            return None  # as live: the tenant id decides, not the domain
        return CustomerProfile(**data)

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
        request = {
            "name": name,
            "duration_days": duration_days,
            "role_ids": sorted(role_ids),
            "customer_tenant_id": customer_tenant_id,
            "auto_extend": auto_extend,
        }
        for existing in self.state.all("gdap"):
            if existing["name"].casefold() != name.casefold():
                continue
            if all(existing.get(k) == v for k, v in request.items()):
                # The same request again (a retry after a timeout): the one created, as live
                # finds it by its unique name.
                return self.get_gdap_relationship(existing["id"])
            raise ProviderError(
                f'A GDAP relationship named "{name}" already exists in Partner Center: '
                "choose another name.",
                permanent=True,
            )
        if auto_extend and GLOBAL_ADMINISTRATOR_ID in role_ids:
            raise ProviderError(
                "Microsoft does not auto-extend a relationship with the Global Administrator "
                "role: request it without auto-extend.",
                permanent=True,
            )
        rel_id = f"{uuid.uuid4()}-{uuid.uuid4()}"
        self.state.put(
            "gdap",
            rel_id,
            {
                **request,
                "id": rel_id,
                "state": "pending",
                "ends_at": None,
                "created_at": self.clock.now().isoformat(),
            },
        )
        return self.get_gdap_relationship(rel_id)

    def get_gdap_relationship(self, relationship_id: str) -> GdapRelationship:
        data = self._get("gdap", relationship_id)
        created = _ts(data.get("created_at"))
        lapses = created + UNAPPROVED_LIFETIME if created else None
        if data["state"] == "pending" and lapses is not None and lapses <= self.clock.now():
            data = {**data, "state": "expired", "ends_at": lapses.isoformat(), "unapproved": True}
            self.state.put("gdap", relationship_id, data)
        ends = _ts(data["ends_at"])
        if data["state"] == "active" and ends is not None and ends <= self.clock.now():
            # As Microsoft does at the end: extend it (GDAP_AUTO_EXTEND), or end it (Global Admin).
            if data.get("auto_extend"):
                while ends <= self.clock.now():
                    ends += GDAP_AUTO_EXTEND
                data = {**data, "ends_at": ends.isoformat()}
            else:
                data = {**data, "state": "expired"}
            self.state.put("gdap", relationship_id, data)
        state = GdapState(data["state"])
        unapproved = state is GdapState.EXPIRED and data.get("unapproved")
        return GdapRelationship(
            data["id"],
            state,
            APPROVAL_URL.format(id=data["id"]),
            _ts(data["ends_at"]),
            detail=(
                f"the customer did not approve it within {UNAPPROVED_LIFETIME.days} days, "
                "so Microsoft ended the request"
                if unapproved
                else ""
            ),
            ends_unapproved_at=lapses if state is GdapState.PENDING else None,
        )

    def assign_access(
        self, relationship_id: str, group_id: str, role_ids: list[str]
    ) -> AccessAssignment:
        rel = self.get_gdap_relationship(relationship_id)
        if rel.state is not GdapState.ACTIVE:
            raise ProviderError(
                f"The GDAP relationship is {rel.state}, not active: Microsoft assigns roles "
                "to groups only once the customer has approved it.",
                permanent=True,
            )
        approved = self._get("gdap", relationship_id).get("role_ids")
        outside = sorted(set(role_ids) - set(approved)) if approved is not None else []
        if outside:
            raise ProviderError(
                "These roles are not in the approved relationship: " + ", ".join(outside),
                permanent=True,
            )
        for existing in self.state.all("assignment"):
            if existing["relationship_id"] == relationship_id and existing["group_id"] == group_id:
                return _assignment(existing)  # as Graph's 409 for the group, read back
        assignment_id = str(uuid.uuid4())
        data = {
            "id": assignment_id,
            "relationship_id": relationship_id,
            "group_id": group_id,
            "role_ids": list(role_ids),
            "state": "pending",
        }
        self.state.put("assignment", assignment_id, data)
        return _assignment(data)

    def get_access_assignment(self, relationship_id: str, assignment_id: str) -> AccessAssignment:
        data = self._get("assignment", assignment_id)
        if data["relationship_id"] != relationship_id:
            raise ProviderError(
                f"404 Not Found: no assignment {assignment_id} on {relationship_id}.",
                permanent=True,
            )
        if data["state"] == "pending":  # Microsoft provisions it by the time it is asked again
            data = {**data, "state": "active"}
            self.state.put("assignment", assignment_id, data)
        return _assignment(data)

    def create_transfer(
        self,
        *,
        customer_tenant_id: str,
        partner_tenant_id: str,
        partner_name: str,
        customer_email: str,
    ) -> Transfer:
        transfer_id = str(uuid.uuid4())
        self.state.put(
            "transfer",
            transfer_id,
            {
                "id": transfer_id,
                "state": "pending",
                "customer_tenant_id": customer_tenant_id,
                "source_partner": partner_tenant_id,
                "detail": "",
            },
        )
        return self.get_transfer(customer_tenant_id, transfer_id)

    def get_transfer(self, customer_tenant_id: str, transfer_id: str) -> Transfer:
        data = self._get("transfer", transfer_id)
        return Transfer(data["id"], TransferState(data["state"]), data.get("detail", ""))

    def cancel_transfer(self, customer_tenant_id: str, transfer_id: str) -> None:
        data = self._get("transfer", transfer_id)
        if data["state"] != "pending":
            raise ProviderError(
                f"400 Bad Request: transfer {transfer_id} is {data['state']}; "
                "only a pending transfer can be cancelled.",
                permanent=True,
            )
        self.state.put("transfer", transfer_id, {**data, "state": "cancelled"})

    # -- CustomerSimulator -----------------------------------------------------------------

    def accept_reseller(self, domain: str, company_name: str, email: str, country: str) -> None:
        first, _, last = email.split("@")[0].replace("_", ".").partition(".")
        self.state.put(
            "customer",
            domain.lower(),
            {
                "tenant_id": self.find_tenant(domain),
                "company_name": company_name,
                "domain": domain,
                "email": email,
                "country": country,
                "first_name": first.capitalize(),
                "last_name": last.replace(".", " ").title(),
            },
        )

    def approve_gdap(self, relationship_id: str) -> None:
        data = self._get("gdap", relationship_id)
        now = self.clock.now()
        ends = now + timedelta(days=data["duration_days"])
        self.state.put(
            "gdap",
            relationship_id,
            {
                **data,
                "state": "active",
                "ends_at": ends.isoformat(),
                "activated_at": now.isoformat(),
            },
        )

    def expire_gdap(self, relationship_id: str) -> None:
        """Ends it now; a request nobody approved ends as Microsoft ends it after 90 days."""
        data = self._get("gdap", relationship_id)
        self.state.put(
            "gdap",
            relationship_id,
            {
                **data,
                "state": "expired",
                "ends_at": self.clock.now().isoformat(),
                "unapproved": data["state"] == "pending",
            },
        )

    def accept_transfer(self, transfer_id: str) -> None:
        self.state.put(
            "transfer", transfer_id, {**self._get("transfer", transfer_id), "state": "completed"}
        )

    def fail_transfer(self, transfer_id: str, reason: str) -> None:
        self.state.put(
            "transfer",
            transfer_id,
            {**self._get("transfer", transfer_id), "state": "failed", "detail": reason},
        )

    def _get(self, kind: str, key: str) -> dict[str, Any]:
        data = self.state.get(kind, key)
        if data is None:
            raise ProviderError(f"404 Not Found: no {kind} {key} in the sandbox.", permanent=True)
        return data


def _assignment(data: dict[str, Any]) -> AccessAssignment:
    return AccessAssignment(
        data["id"],
        data["group_id"],
        tuple(data["role_ids"]),
        AssignmentState(data["state"]),
        data.get("detail", ""),
    )
