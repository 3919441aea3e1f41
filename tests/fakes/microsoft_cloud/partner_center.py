"""The fake Partner Center REST API: the reseller link (App+User only), customers by id, by
filtered search and their billing profile, P2P transfers (create, read, list, cancel), and the
webhook registration, in Partner Center's wire format (`{code, description, data, source}`
errors, `attributes.objectType`, MS-RequestId / MS-CorrelationId echoed back)."""

from __future__ import annotations

import json
import re
import uuid
from typing import TYPE_CHECKING, Any

from tests.fakes.microsoft_cloud.faults import pc_error
from tests.fakes.microsoft_cloud.http import Recorded, Reply, Route, route
from tests.fakes.microsoft_cloud.state import Customer, Transfer, iso
from tests.fakes.microsoft_cloud.tokens import PARTNER_CENTER_AUDIENCE

if TYPE_CHECKING:
    from tests.fakes.microsoft_cloud.cloud import MicrosoftCloud

MFA_REQUIRED = 900421
PENDING = "Active"  # Partner Center's word for a transfer that waits for the source partner
WEBHOOK_EVENTS = (
    "test-created",
    "subscription-updated",
    "subscription-renewed",
    "invoice-ready",
    "usagerecords-thresholdExceeded",
    "azure-fraud-event-detected",
    "reseller-relationship-accepted-by-customer",
    "indirect-reseller-relationship-accepted-by-customer",
    "dap-admin-relationship-approved",
    "dap-admin-relationship-terminated",
    "dap-admin-relationship-terminated-by-microsoft",
    "granular-admin-relationship-approved",
    "granular-admin-relationship-activated",
    "granular-admin-relationship-expired",
    "granular-admin-relationship-terminated",
    "granular-admin-access-assignment-created",
    "granular-admin-access-assignment-activated",
    "granular-admin-access-assignment-updated",
    "granular-admin-access-assignment-deleted",
    "create-transfer",
    "complete-transfer",
    "fail-transfer",
)


def _authorize(
    cloud: MicrosoftCloud, req: Recorded, *, app_user_only: bool = False
) -> Reply | None:
    missing = [h for h in ("MS-RequestId", "MS-CorrelationId") if not req.headers.get(h)]
    if cloud.require_request_ids and missing:
        return pc_error(
            400, 400, f"The request must carry the {' and '.join(missing)} header (a GUID)."
        )
    found = cloud.token_book.check(
        req.headers.get("Authorization", ""), PARTNER_CENTER_AUDIENCE, cloud.clock.now()
    )
    if isinstance(found, str):
        reply = pc_error(401, 401, f"Unauthorized: {found}")
        reply.headers["WWW-Authenticate"] = (
            f'Bearer error="invalid_token", error_description="{found}"'
        )
        return reply
    if not cloud.partner_center_app_registered:
        return pc_error(
            401,
            401,
            f"Unauthorized: the application '{cloud.client_id}' is not registered in Partner "
            "Center (Account settings > App management).",
        )
    if found.user is not None and not found.mfa:
        return pc_error(
            401,
            MFA_REQUIRED,
            "Multifactor authentication (MFA) is required: the access token has no MFA claim. "
            "Sign in again with MFA.",
        )
    if app_user_only and found.user is None:
        return pc_error(
            403,
            403,
            "Forbidden: this operation requires App+User authentication; app-only tokens are "
            "not supported.",
        )
    return None


def _links_self(cloud: MicrosoftCloud, path: str) -> dict[str, Any]:
    return {"self": {"uri": path.removeprefix("/"), "method": "GET", "headers": []}}


# -- reseller link and customers -------------------------------------------------------------


def relationship_request(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req, app_user_only=True)
    if refused is not None:
        return refused
    url = cloud.reseller_link
    provider = req.query.get("indirectCloudSolutionProviderId")
    if provider:
        url = (
            "https://admin.microsoft.com/Adminportal/Home?invType=IndirectResellerRelationship"
            f"&partnerId={cloud.partner_tenant_id}&msppId={cloud.partner_mpn_id}"
            f"&indirectCSPId={provider}&DAP=false#/BillingAccounts/partner-invitation"
        )
    return Reply(200, {"url": url, "attributes": {"objectType": "RelationshipRequest"}})


def billing_profile_json(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.billing_id,
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "email": customer.email,
        "culture": "en-US",
        "language": "en",
        "companyName": customer.tenant.display_name,
        "defaultAddress": {
            "country": customer.country,
            "city": customer.city,
            "state": customer.state,
            "addressLine1": customer.address_line1,
            "postalCode": customer.postal_code,
            "firstName": customer.first_name,
            "lastName": customer.last_name,
            "phoneNumber": customer.phone,
        },
        "attributes": {
            "etag": str(abs(hash(customer.billing_id)) % 10**19),
            "objectType": "CustomerBillingProfile",
        },
    }


def customer_json(cloud: MicrosoftCloud, customer: Customer) -> dict[str, Any]:
    """§3.3's shape as Partner Center gives it without DAP: no companyProfile.address,
    companyProfile.email or customDomains."""
    tenant = customer.tenant
    return {
        "id": tenant.id,
        "commerceId": customer.commerce_id,
        "companyProfile": {
            "tenantId": tenant.id,
            "domain": tenant.default_domain,
            "companyName": tenant.display_name,
            "attributes": {"objectType": "CustomerCompanyProfile"},
        },
        "billingProfile": billing_profile_json(customer),
        "relationshipToPartner": "reseller",
        "allowDelegatedAccess": False,
        "links": _links_self(cloud, f"/v1/customers/{tenant.id}"),
        "attributes": {"objectType": "Customer"},
    }


def _customer(cloud: MicrosoftCloud, tenant_id: str) -> Customer | Reply:
    customer = cloud.customers.get(tenant_id.lower())
    if customer is None:
        return pc_error(404, 600, f"The customer with tenant id '{tenant_id}' was not found.")
    return customer


def get_customer(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req)
    if refused is not None:
        return refused
    customer = _customer(cloud, match["customer"])
    if isinstance(customer, Reply):
        return customer
    return Reply(200, customer_json(cloud, customer))


def get_billing_profile(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req)
    if refused is not None:
        return refused
    customer = _customer(cloud, match["customer"])
    if isinstance(customer, Reply):
        return customer
    return Reply(200, billing_profile_json(customer))


def get_company_profile(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    """App+User only (PC-2023 get-a-customer-s-company-profile); with a user it has the
    address and email that GET /v1/customers/{id} leaves out."""
    refused = _authorize(cloud, req, app_user_only=True)
    if refused is not None:
        return refused
    customer = _customer(cloud, match["customer"])
    if isinstance(customer, Reply):
        return customer
    tenant = customer.tenant
    return Reply(
        200,
        {
            "tenantId": tenant.id,
            "domain": tenant.default_domain,
            "companyName": tenant.display_name,
            "address": {
                "country": customer.country,
                "region": customer.state.lower(),
                "city": customer.city,
                "addressLine1": customer.address_line1,
                "postalCode": customer.postal_code,
                "phoneNumber": customer.phone,
            },
            "email": customer.email,
            "links": _links_self(cloud, f"/v1/customers/{tenant.id}/profiles/company"),
            "attributes": {"objectType": "CustomerCompanyProfile"},
        },
    )


_SEARCH_FIELDS = {"Domain", "CompanyName", "IndirectReseller", "IndirectCloudSolutionProvider"}


def list_customers(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req)
    if refused is not None:
        return refused
    try:
        size = int(req.query.get("size", "500"))
    except ValueError:
        return pc_error(400, 400, "The size parameter must be a number.")
    customers = list(cloud.customers.values())
    if "filter" in req.query:
        try:
            wanted = json.loads(req.query["filter"])
            field, value, operator = wanted["Field"], str(wanted["Value"]), wanted["Operator"]
        except (ValueError, KeyError, TypeError):
            return pc_error(400, 400, "The filter is not a valid customer search filter.")
        if field not in _SEARCH_FIELDS or operator != "starts_with":
            return pc_error(
                400, 400, f"Unsupported filter: field '{field}' with operator '{operator}'."
            )

        def searched(c: Customer) -> str:
            return c.tenant.default_domain if field == "Domain" else c.tenant.display_name

        customers = [
            c
            for c in customers
            if field in ("Domain", "CompanyName") and searched(c).lower().startswith(value.lower())
        ]
    items = [customer_json(cloud, c) for c in customers[: max(size, 0)]]
    return Reply(
        200,
        {
            "totalCount": len(items),
            "items": items,
            "links": _links_self(cloud, req.path),
            "attributes": {"objectType": "Collection"},
        },
    )


# -- transfers -------------------------------------------------------------------------------


def transfer_json(cloud: MicrosoftCloud, transfer: Transfer) -> dict[str, Any]:
    body = transfer.body
    return {
        "id": transfer.id,
        "status": transfer.status,
        "transferType": body.get("transferType", 5),
        "customerEmailId": body.get("customerEmailId", ""),
        "customerName": body.get("customerName", ""),
        "customerTenantId": transfer.customer_tenant_id,
        "partnertenantid": transfer.creator_tenant_id,
        "createdTime": iso(transfer.created_at),
        "lastModifiedTime": iso(transfer.modified_at),
        "completedTime": iso(transfer.completed_at) or None,
        "expirationTime": iso(transfer.expires_at) or None,
        "lastModifiedUser": "",
        "sourcePartnerName": body.get("sourcePartnerName", ""),
        "sourcePartnerTenantId": body.get("sourcePartnerTenantId", ""),
        "targetPartnerName": transfer.target_partner_name,
        "targetPartnerTenantId": transfer.creator_tenant_id,
        "targetPartnerEmailId": body.get("targetPartnerEmailId", ""),
        "partnerOnRecord": body.get("partnerOnRecord", ""),
        "targetProductTypes": body.get("targetProductTypes"),
        "transferDirection": 1,
        "ignoreEligibilityCheck": False,
        "lineItems": transfer.line_items,
        "links": _links_self(
            cloud, f"/v1/customers/{transfer.customer_tenant_id}/transfers/{transfer.id}"
        ),
        "attributes": {"objectType": "TransferEntity"},
    }


def create_transfer(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req)
    if refused is not None:
        return refused
    tenant_id = match["customer"].lower()
    if tenant_id not in cloud.customers:
        return pc_error(403, 20002, "No relationship between caller and account.")
    body: dict[str, Any] = req.json
    if body["sourcePartnerTenantId"].lower() == cloud.partner_tenant_id:
        return pc_error(
            400,
            900148,
            "Source partner details matched with requesting partner: sourcePartnerTenantId "
            "must be the customer's current partner.",
        )
    if any(
        t.customer_tenant_id == tenant_id and t.status == PENDING for t in cloud.transfers.values()
    ):
        return pc_error(409, 900101, "Another transfer is in progress for this customer.")
    transfer = cloud.new_transfer(tenant_id, cloud.partner_tenant_id, body)
    location = f"{cloud.partner_center_url}/v1/customers/{tenant_id}/transfers/{transfer.id}"
    return Reply(201, transfer_json(cloud, transfer), {"Location": location})


def _transfer(cloud: MicrosoftCloud, match: re.Match[str]) -> Transfer | Reply:
    transfer = cloud.transfers.get(match["transfer"].lower())
    if transfer is None or transfer.customer_tenant_id != match["customer"].lower():
        return pc_error(404, 900100, f"Transfer '{match['transfer']}' was not found.")
    return transfer


def get_transfer(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req)
    if refused is not None:
        return refused
    transfer = _transfer(cloud, match)
    if isinstance(transfer, Reply):
        return transfer
    return Reply(200, transfer_json(cloud, transfer))


def list_transfers(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req)
    if refused is not None:
        return refused
    tenant_id = match["customer"].lower()
    items = [
        transfer_json(cloud, t)
        for t in cloud.transfers.values()
        if t.customer_tenant_id == tenant_id
    ]
    return Reply(
        200,
        {
            "totalCount": len(items),
            "items": items,
            "links": _links_self(cloud, req.path),
            "attributes": {"objectType": "Collection"},
        },
    )


def update_transfer(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req)
    if refused is not None:
        return refused
    transfer = _transfer(cloud, match)
    if isinstance(transfer, Reply):
        return transfer
    body: dict[str, Any] = req.json
    if "id" in body and str(body["id"]).lower() != transfer.id:
        return pc_error(400, 400, "The transfer id in the body does not match the one in the path.")
    if transfer.creator_tenant_id != cloud.partner_tenant_id:
        return pc_error(
            403, 403, "Only the target partner that created the transfer can cancel it."
        )
    if transfer.status != PENDING:
        return pc_error(
            409,
            900104,
            f"The transfer can't be cancelled: its status is '{transfer.status}', and only a "
            "pending transfer can be cancelled.",
        )
    transfer.status = "Cancel"
    transfer.modified_at = cloud.clock.now()
    return Reply(200, transfer_json(cloud, transfer))


# -- webhooks --------------------------------------------------------------------------------


def _no_registration() -> Reply:
    return pc_error(404, 600, "No webhook registration exists for this partner.")


def _unsupported(events: list[str]) -> Reply | None:
    unknown = [e for e in events if e not in WEBHOOK_EVENTS]
    if unknown:
        return pc_error(400, 400, f"Unsupported webhook event: '{unknown[0]}'.")
    return None


def get_registration(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req)
    if refused is not None:
        return refused
    if cloud.registration is None:
        return _no_registration()
    return Reply(200, cloud.registration)


def _store_registration(cloud: MicrosoftCloud, body: dict[str, Any]) -> dict[str, Any]:
    registration: dict[str, Any] = {
        "SubscriberId": cloud.subscriber_id,
        "WebhookUrl": body["WebhookUrl"],
        "WebhookEvents": list(body["WebhookEvents"]),
    }
    if body.get("SignatureTokenToMsSignatureHeader"):
        registration["SignatureTokenToMsSignatureHeader"] = True
    cloud.registration = registration
    return registration


def create_registration(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req) or _unsupported(req.json["WebhookEvents"])
    if refused is not None:
        return refused
    if cloud.registration is not None:
        return pc_error(
            409, 409, "A webhook registration already exists for this partner: update it with PUT."
        )
    return Reply(200, _store_registration(cloud, req.json))


def replace_registration(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req) or _unsupported(req.json["WebhookEvents"])
    if refused is not None:
        return refused
    if cloud.registration is None:
        return _no_registration()
    return Reply(200, _store_registration(cloud, req.json))


def delete_registration(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req)
    if refused is not None:
        return refused
    if cloud.registration is None:
        return _no_registration()
    cloud.registration = None
    return Reply(204)


def registration_events(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req)
    if refused is not None:
        return refused
    return Reply(200, list(WEBHOOK_EVENTS))


def create_validation_event(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req)
    if refused is not None:
        return refused
    registration = cloud.registration
    if registration is None:
        return _no_registration()
    if "test-created" not in registration["WebhookEvents"]:
        return pc_error(400, 400, "The registration is not subscribed to 'test-created'.")
    correlation_id = str(uuid.uuid4())
    cloud.queue_test_event(correlation_id)
    return Reply(200, {"correlationId": correlation_id})


def get_validation_event(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req)
    if refused is not None:
        return refused
    found = cloud.validation_events.get(match["correlation"])
    if found is None:
        return pc_error(404, 600, "No validation event with this correlation id.")
    return Reply(200, found)


CUSTOMER = r"/v1/customers/(?P<customer>[0-9a-fA-F-]{36})"
TRANSFER = CUSTOMER + r"/transfers/(?P<transfer>[0-9a-fA-F-]+)"
ROUTES: list[Route] = [
    route("GET", r"/v1/customers/relationshiprequests", relationship_request),
    route("GET", r"/v1/customers", list_customers),
    route("GET", CUSTOMER, get_customer),
    route("GET", CUSTOMER + r"/profiles/billing", get_billing_profile),
    route("GET", CUSTOMER + r"/profiles/company", get_company_profile),
    route("POST", CUSTOMER + r"/transfers", create_transfer, "pc-transfer-create.request"),
    route("GET", CUSTOMER + r"/transfers", list_transfers),
    route("GET", TRANSFER, get_transfer),
    route("PATCH", TRANSFER, update_transfer, "pc-transfer-update.request"),
    route("GET", r"/webhooks/v1/registration", get_registration),
    route(
        "POST", r"/webhooks/v1/registration", create_registration, "pc-webhook-registration.request"
    ),
    route(
        "PUT", r"/webhooks/v1/registration", replace_registration, "pc-webhook-registration.request"
    ),
    route("DELETE", r"/webhooks/v1/registration", delete_registration),
    route("GET", r"/webhooks/v1/registration/events", registration_events),
    route("POST", r"/webhooks/v1/registration/validationEvents", create_validation_event),
    route(
        "GET",
        r"/webhooks/v1/registration/validationEvents/(?P<correlation>[0-9a-fA-F-]+)",
        get_validation_event,
    ),
]
