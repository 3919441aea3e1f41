"""Microsoft's JSON to the port's records, and back for the bodies the bot sends. Pure
functions: the reference's tables (§3.3, §4.4, §4.6, §5.3) in one place, tested alone.

Only `status` decides a state (never guessed from dates); a status Microsoft adds later is
read as "still pending" and logged, so the bot keeps polling instead of failing a step.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.gdap_roles import GLOBAL_ADMINISTRATOR_ID
from bot.records import (
    AccessAssignment,
    AssignmentState,
    CustomerProfile,
    GdapRelationship,
    GdapState,
    Transfer,
    TransferState,
)

log = logging.getLogger("onboarding.microsoft")

APPROVAL_URL = (
    "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/"
    "granularAdminRelationships/{id}"
)
UNAPPROVED_LIFETIME = timedelta(days=90)  # Microsoft ends a request nobody approved (GDAP FAQ)
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

_GDAP_STATES: dict[str, GdapState] = {
    "created": GdapState.PENDING,
    "approvalpending": GdapState.PENDING,
    "approved": GdapState.PENDING,
    "activating": GdapState.PENDING,
    "active": GdapState.ACTIVE,
    "expiring": GdapState.ACTIVE,
    "expired": GdapState.EXPIRED,
    "terminationrequested": GdapState.TERMINATED,
    "terminating": GdapState.TERMINATED,
    "terminated": GdapState.TERMINATED,
}
_GDAP_DETAIL: dict[str, str] = {
    "created": "created, not yet sent for approval",
    "approvalpending": "waiting for the customer's Global Administrator to approve",
    "approved": "approved by the customer; Microsoft is activating it",
    "activating": "approved by the customer; Microsoft is activating it",
    "expiring": "active, about to lapse",
    "expired": "the admin relationship expired",
    "terminationrequested": "the admin relationship was terminated",
    "terminating": "the admin relationship was terminated",
    "terminated": "the admin relationship was terminated",
}
_ASSIGNMENT_STATES: dict[str, AssignmentState] = {
    "pending": AssignmentState.PENDING,
    "active": AssignmentState.ACTIVE,
    "error": AssignmentState.FAILED,
    "deleting": AssignmentState.FAILED,
    "deleted": AssignmentState.FAILED,
}
_TRANSFER_STATES: dict[str, TransferState] = {
    "active": TransferState.PENDING,
    "inprogress": TransferState.PENDING,
    "pending": TransferState.PENDING,
    "complete": TransferState.COMPLETED,
    "completed": TransferState.COMPLETED,
    "failed": TransferState.FAILED,
    "expired": TransferState.FAILED,
    "cancel": TransferState.CANCELLED,
    "canceled": TransferState.CANCELLED,
    "cancelled": TransferState.CANCELLED,
}


def instant(value: object) -> datetime | None:
    """Graph and Partner Center date-times; "" and null (both seen) are unset. Fractions of
    seconds longer than Python reads (Graph sends 7 digits) are cut to microseconds."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        from datetime import UTC

        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _key(value: object) -> str:
    return str(value or "").replace("_", "").replace(" ", "").lower()


def status_key(data: Mapping[str, Any]) -> str:
    """`status` in the form the tables use: lower case, no separators."""
    return _key(data.get("status"))


# -- GDAP -------------------------------------------------------------------------------


def gdap_create_body(
    *,
    name: str,
    duration_days: int,
    role_ids: list[str],
    auto_extend: bool,
    customer_tenant_id: str | None,
    customer_name: str,
) -> dict[str, Any]:
    """POST /tenantRelationships/delegatedAdminRelationships (reference §4.1). The customer's
    tenant id binds the request, so only that tenant's Global Administrator can approve it.
    Never P180D with Global Administrator: the caller refuses that before building."""
    body: dict[str, Any] = {
        "displayName": name,
        "duration": f"P{duration_days}D",
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": rid} for rid in role_ids]},
        "autoExtendDuration": "P180D"
        if auto_extend and GLOBAL_ADMINISTRATOR_ID not in role_ids
        else "PT0S",
    }
    if customer_tenant_id:
        customer = {"tenantId": customer_tenant_id}
        if customer_name:
            customer["displayName"] = customer_name[:256]
        body["customer"] = customer
    return body


def gdap_relationship(data: Mapping[str, Any]) -> GdapRelationship:
    """GET …/delegatedAdminRelationships/{id} (reference §4.4). `ends_at` only once active
    (Microsoft's create answer already has an endDateTime); `ends_unapproved_at` while
    pending: 90 days after it was created."""
    rel_id = str(data.get("id", ""))
    status = _key(data.get("status"))
    state = _GDAP_STATES.get(status)
    if state is None:
        log.warning(
            "GDAP relationship %s has a status the bot does not know: %r; read as pending",
            rel_id,
            data.get("status"),
        )
        state = GdapState.PENDING
    created = instant(data.get("createdDateTime"))
    return GdapRelationship(
        id=rel_id,
        state=state,
        approval_url=APPROVAL_URL.format(id=rel_id),
        ends_at=instant(data.get("endDateTime")) if state is GdapState.ACTIVE else None,
        detail=_GDAP_DETAIL.get(status, ""),
        ends_unapproved_at=(
            created + UNAPPROVED_LIFETIME if created and state is GdapState.PENDING else None
        ),
    )


def role_ids_of(data: Mapping[str, Any]) -> list[str]:
    details = data.get("accessDetails") or {}
    roles = details.get("unifiedRoles") or [] if isinstance(details, Mapping) else []
    return [str(r.get("roleDefinitionId", "")).lower() for r in roles if isinstance(r, Mapping)]


def is_our_relationship(
    data: Mapping[str, Any], customer_tenant_id: str | None, role_ids: list[str]
) -> bool:
    """A relationship found by its name is the one an earlier attempt of this request
    created when it is for the same customer with the same roles, and not ended."""
    customer = data.get("customer") or {}
    tenant = str(customer.get("tenantId", "") if isinstance(customer, Mapping) else "")
    same_customer = (tenant or "").lower() == (customer_tenant_id or "").lower()
    same_roles = set(role_ids_of(data)) == {r.lower() for r in role_ids}
    open_status = _GDAP_STATES.get(_key(data.get("status")), GdapState.PENDING) in (
        GdapState.PENDING,
        GdapState.ACTIVE,
    )
    return same_customer and same_roles and open_status


def access_assignment_body(group_id: str, role_ids: list[str]) -> dict[str, Any]:
    """POST …/{id}/accessAssignments (reference §4.6): one security group, its roles."""
    return {
        "accessContainer": {"accessContainerId": group_id, "accessContainerType": "securityGroup"},
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": rid} for rid in role_ids]},
    }


def access_assignment(data: Mapping[str, Any]) -> AccessAssignment:
    assignment_id = str(data.get("id", ""))
    status = _key(data.get("status"))
    state = _ASSIGNMENT_STATES.get(status)
    if state is None:
        log.warning(
            "access assignment %s has a status the bot does not know: %r; read as pending",
            assignment_id,
            data.get("status"),
        )
        state = AssignmentState.PENDING
    container = data.get("accessContainer") or {}
    detail = ""
    if status == "error":
        detail = "Microsoft could not give the group these roles"
    elif status in ("deleting", "deleted"):
        detail = "the access assignment was removed"
    return AccessAssignment(
        id=assignment_id,
        group_id=str(
            container.get("accessContainerId", "") if isinstance(container, Mapping) else ""
        ),
        role_ids=tuple(role_ids_of(data)),
        state=state,
        detail=detail,
    )


def group_of(data: Mapping[str, Any]) -> str:
    container = data.get("accessContainer") or {}
    if not isinstance(container, Mapping):
        return ""
    return str(container.get("accessContainerId", "")).lower()


# -- Partner Center -----------------------------------------------------------------------


def customer_profile(data: Mapping[str, Any], domain: str) -> CustomerProfile:
    """GET /v1/customers/{tenantId} (reference §3.3). Without DAP Partner Center leaves out
    the company address and email, so the billing profile comes first; `domain` is the one
    the MSP typed, not companyProfile.domain (usually the *.onmicrosoft.com one)."""
    company = _mapping(data.get("companyProfile"))
    billing = _mapping(data.get("billingProfile"))
    address = _mapping(billing.get("defaultAddress"))
    company_address = _mapping(company.get("address"))
    return CustomerProfile(
        tenant_id=str(company.get("tenantId") or data.get("id") or ""),
        company_name=str(company.get("companyName") or billing.get("companyName") or ""),
        domain=domain,
        email=str(billing.get("email") or company.get("email") or ""),
        country=str(address.get("country") or company_address.get("country") or "").upper(),
        first_name=str(address.get("firstName") or billing.get("firstName") or ""),
        last_name=str(address.get("lastName") or billing.get("lastName") or ""),
        phone=str(address.get("phoneNumber") or ""),
        address_line1=str(address.get("addressLine1") or ""),
        city=str(address.get("city") or ""),
        state=str(address.get("state") or ""),
        postal_code=str(address.get("postalCode") or ""),
    )


def transfer_create_body(
    *, partner_tenant_id: str, partner_name: str, customer_email: str, transfer_type: int
) -> dict[str, Any]:
    """POST /v1/customers/{c}/transfers (reference §5.2): the SOURCE partner is the current
    one, the customer's partner today; the target (us) comes from the token."""
    return {
        "sourcePartnerTenantId": partner_tenant_id,
        "sourcePartnerName": partner_name,
        "customerEmailId": customer_email,
        "transferType": transfer_type,
    }


def transfer(data: Mapping[str, Any]) -> Transfer:
    """GET /v1/customers/{c}/transfers/{t} (reference §5.3), statuses in any case; what the
    line items' transferError says goes in `detail`."""
    transfer_id = str(data.get("id", ""))
    status = _key(data.get("status"))
    state = _TRANSFER_STATES.get(status)
    if state is None:
        log.warning(
            "transfer %s has a status the bot does not know: %r; read as pending",
            transfer_id,
            data.get("status"),
        )
        state = TransferState.PENDING
    errors = []
    for item in data.get("lineItems") or []:
        if isinstance(item, Mapping) and item.get("transferError"):
            name = item.get("friendlyName") or item.get("subscriptionId") or "a subscription"
            errors.append(f"{name}: {_text(item['transferError'])}")
    detail = "; ".join(errors)[:500]
    if not detail and state is TransferState.FAILED and status == "expired":
        detail = "the transfer request expired before the current partner accepted it"
    return Transfer(
        id=transfer_id,
        state=state,
        detail=detail,
        expires_at=instant(data.get("expirationTime")),
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str:
    if isinstance(value, Mapping):
        return " ".join(
            str(value.get(k)) for k in ("code", "description", "message") if value.get(k)
        ) or str(dict(value))
    return " ".join(str(value).split())
