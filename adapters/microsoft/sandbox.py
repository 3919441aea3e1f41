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
from bot.records import CustomerProfile, GdapRelationship, GdapState, Transfer, TransferState

APPROVAL_URL = (
    "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/"
    "granularAdminRelationships/{id}"
)
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

    def find_customer(self, domain: str) -> CustomerProfile | None:
        data = self.state.get("customer", domain.lower())
        return CustomerProfile(**data) if data else None

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
        if any(r["name"].casefold() == name.casefold() for r in self.state.all("gdap")):
            raise ProviderError(f'409 Conflict: a relationship named "{name}" already exists.')
        if auto_extend and GLOBAL_ADMINISTRATOR_ID in role_ids:
            raise ProviderError(
                "400 Bad Request: auto-extend is not allowed with the Global Administrator role."
            )
        rel_id = f"{uuid.uuid4()}-{uuid.uuid4()}"
        self.state.put(
            "gdap",
            rel_id,
            {
                "id": rel_id,
                "name": name,
                "state": "pending",
                "duration_days": duration_days,
                "ends_at": None,
                "customer_tenant_id": customer_tenant_id,
                "auto_extend": auto_extend,
            },
        )
        return self.get_gdap_relationship(rel_id)

    def get_gdap_relationship(self, relationship_id: str) -> GdapRelationship:
        data = self._get("gdap", relationship_id)
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
        return GdapRelationship(
            data["id"],
            GdapState(data["state"]),
            APPROVAL_URL.format(id=data["id"]),
            _ts(data["ends_at"]),
        )

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
                "only a pending transfer can be cancelled."
            )
        self.state.put("transfer", transfer_id, {**data, "state": "cancelled"})

    # -- CustomerSimulator -----------------------------------------------------------------

    def accept_reseller(self, domain: str, company_name: str, email: str, country: str) -> None:
        first, _, last = email.split("@")[0].replace("_", ".").partition(".")
        self.state.put(
            "customer",
            domain.lower(),
            {
                "tenant_id": str(uuid.uuid4()),
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
        ends = self.clock.now() + timedelta(days=data["duration_days"])
        self.state.put(
            "gdap", relationship_id, {**data, "state": "active", "ends_at": ends.isoformat()}
        )

    def expire_gdap(self, relationship_id: str) -> None:
        data = self._get("gdap", relationship_id)
        self.state.put(
            "gdap",
            relationship_id,
            {**data, "state": "expired", "ends_at": self.clock.now().isoformat()},
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
            raise ProviderError(f"404 Not Found: no {kind} {key} in the sandbox.")
        return data
