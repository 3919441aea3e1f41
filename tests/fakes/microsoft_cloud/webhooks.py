"""Partner Center's side of webhooks: the event bodies of §6.2 (ResourceUri and AuditUri as
Microsoft shapes them), their signature (RSASSA-PKCS1-v1_5 with SHA-256 by the leaf whose
`.cer` the certificate host serves), and delivery to the registered URL over real HTTP."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.fakes.microsoft_cloud.http import Handler, Recorded, Reply, Route, route
from tests.fakes.microsoft_cloud.tls import SIGNING_HOST, Materials, SigningChain

if TYPE_CHECKING:
    from tests.fakes.microsoft_cloud.cloud import MicrosoftCloud

PC_BASE = "https://api.partnercenter.microsoft.com"  # Microsoft names its own host in events
GDAP_BASE = "https://partner.microsoft.com"
Chain = Literal["microsoft", "wrong-issuer", "untrusted", "expired", "other-subject"]
CERT_PATHS: dict[str, str] = {
    "microsoft": f"/cert/{SIGNING_HOST}.cer",
    "wrong-issuer": f"/cert/wrong-issuer/{SIGNING_HOST}.cer",
    "untrusted": f"/cert/untrusted/{SIGNING_HOST}.cer",
    "expired": f"/cert/expired/{SIGNING_HOST}.cer",
    "other-subject": "/cert/notifications.example.cer",
}
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def ticks(moment: datetime) -> int:
    """.NET ticks (100 ns since 0001-01-01), as Partner Center's audit record ids carry them."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def change_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00"


def event(name: str, resource: str, uri: str, audit: str | None, at: datetime) -> dict[str, Any]:
    return {
        "EventName": name,
        "ResourceUri": uri,
        "ResourceName": resource,
        "AuditUri": audit,
        "ResourceChangeUtcDate": change_date(at),
    }


def customer_event(name: str, partner_id: str, customer_id: str, at: datetime) -> dict[str, Any]:
    audit_kind = name.replace("-", "")
    record = f"{partner_id}_{customer_id}_{audit_kind}_{ticks(at)}"
    audit = f"{PC_BASE}/auditactivity/v1/auditrecords/{record}"
    return event(name, "Customer", f"{PC_BASE}/v1/customers/{customer_id}", audit, at)


def transfer_event(
    name: str, partner_id: str, customer_id: str, transfer_id: str, at: datetime
) -> dict[str, Any]:
    """§5.3: the ResourceUri names the customer only; the transfer id is AuditUri's third part."""
    kind = name.replace("-", "")
    audit = (
        f"{PC_BASE}/auditactivity/v1/auditrecords/"
        f"{partner_id}_{customer_id}_{transfer_id}_{kind}_{ticks(at)}"
    )
    return event(name, "Transfer", f"{PC_BASE}/v1/customers/{customer_id}", audit, at)


def relationship_event(name: str, relationship_id: str, at: datetime) -> dict[str, Any]:
    uri = f"{GDAP_BASE}/granularAdminRelationships/{relationship_id}"
    return event(name, "GranularAdminRelationship", uri, None, at)


def assignment_event(
    name: str, relationship_id: str, assignment_id: str, at: datetime
) -> dict[str, Any]:
    relationship = f"{GDAP_BASE}/granularAdminRelationships/{relationship_id}"
    uri = f"{relationship}/accessAssignments/{assignment_id}"
    return event(name, "GranularAdminAccessAssignment", uri, None, at)


def validation_event(correlation_id: str, at: datetime) -> dict[str, Any]:
    uri = f"{PC_BASE}/webhooks/v1/registration/validationEvents/{correlation_id}"
    return event("test-created", "test", uri, None, at)


def chain_of(materials: Materials, chain: Chain) -> SigningChain:
    return materials.chain(chain)


def signature_headers(
    body: bytes,
    signer: SigningChain,
    certificate_url: str,
    *,
    in_ms_signature: bool = False,
) -> dict[str, str]:
    signature = signer.leaf_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    value = "Signature " + base64.b64encode(signature).decode("ascii")
    headers = {
        "X-MS-Certificate-Url": certificate_url,
        "X-MS-Signature-Algorithm": "rsa-sha256",
    }
    headers["x-ms-signature" if in_ms_signature else "Authorization"] = value
    return headers


def _certificate(chain: Chain) -> Handler:
    def serve(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
        der = chain_of(cloud.materials, chain).leaf_der
        return Reply(200, der, content_type="application/pkix-cert")

    return serve


CERT_ROUTES: list[Route] = [
    route("GET", re.escape(path), _certificate(chain))  # type: ignore[arg-type]
    for chain, path in CERT_PATHS.items()
]
