"""What the fake Microsoft knows: tenants, Partner Center customers, GDAP relationships with
their access assignments, transfers, device-code sign-ins and queued webhook events. Status
moves with the shared test clock (`settle`), so a test drives time the way the bot sees it."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

STEP = timedelta(minutes=1)  # approved -> activating -> active, pending -> active assignment
UNAPPROVED_LIFETIME = timedelta(days=90)  # Microsoft: an unapproved request ends after 90 days
AUTO_EXTENSION = timedelta(days=180)
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"


def iso(moment: datetime | None) -> str:
    """Graph's and Partner Center's timestamps: UTC with seven fractional digits and Z."""
    if moment is None:
        return ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def etag_of(*parts: object) -> str:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]
    inner = f'"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"'
    return 'W/"' + base64.b64encode(f"'{inner}'".encode()).decode() + '"'


@dataclass
class Tenant:
    id: str
    display_name: str
    domains: list[str]
    default_domain: str


@dataclass
class Customer:
    """A Partner Center customer: a tenant that accepted the partner's reseller invitation."""

    tenant: Tenant
    email: str
    country: str
    first_name: str
    last_name: str
    phone: str
    address_line1: str
    city: str
    state: str
    postal_code: str
    commerce_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    billing_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    indirect: bool = False


@dataclass
class Assignment:
    id: str
    group_id: str
    role_ids: list[str]
    status: str
    created_at: datetime
    modified_at: datetime
    stuck: bool = False
    fails: bool = False
    version: int = 0

    @property
    def etag(self) -> str:
        return etag_of(self.id, self.version, self.status)


@dataclass
class RelationshipRequest:
    id: str
    action: str
    status: str
    created_at: datetime
    modified_at: datetime


@dataclass
class Relationship:
    id: str
    display_name: str
    duration: str
    customer_tenant_id: str | None
    customer_name: str | None
    role_ids: list[str]
    auto_extend: str
    created_at: datetime
    modified_at: datetime
    status: str = "created"
    version: int = 0
    approved_at: datetime | None = None
    activated_at: datetime | None = None
    end_at: datetime | None = None
    terminating_at: datetime | None = None
    lagging_reads: int = 0  # reads that still show `created` after lockForApproval
    requests: list[RelationshipRequest] = field(default_factory=list)
    assignments: dict[str, Assignment] = field(default_factory=dict)

    @property
    def duration_days(self) -> int:
        return int(self.duration[1:-1])

    @property
    def etag(self) -> str:
        return etag_of(self.id, self.version, self.status, self.end_at)

    def touch(self, now: datetime) -> None:
        self.version += 1
        self.modified_at = now


@dataclass
class Transfer:
    id: str
    customer_tenant_id: str
    creator_tenant_id: str  # the target partner that created it; only it may cancel
    body: dict[str, Any]  # what the creator sent
    status: str
    created_at: datetime
    modified_at: datetime
    target_partner_name: str
    expires_at: datetime | None = None
    completed_at: datetime | None = None
    line_items: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DeviceSignIn:
    device_code: str
    user_code: str
    client_id: str
    scope: str
    expires_at: datetime  # wall clock: msal counts the flow's life with time.time()
    completed: bool = False
    declined: bool = False
    mfa: bool = True
    user: str = ""
    redeemed: bool = False


@dataclass
class QueuedEvent:
    body: dict[str, Any]
    delivered: bool = False
