"""`MicrosoftCloud`: the three loopback Microsoft hosts and the certificate host, the partner's
configuration (each part breakable for doctor tests), the customer's and the current
partner's actions, scripted faults, what was asked, and Partner Center's webhooks."""

from __future__ import annotations

import json
import re
import secrets
import ssl
import threading
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.gdap_roles import find_role
from bot.ports import Clock
from tests.fakes.microsoft_cloud import graph, login, partner_center, webhooks
from tests.fakes.microsoft_cloud.faults import Failure, Stall, matches
from tests.fakes.microsoft_cloud.http import Recorded
from tests.fakes.microsoft_cloud.server import Servers, Site
from tests.fakes.microsoft_cloud.state import (
    AUTO_EXTENSION,
    STEP,
    UNAPPROVED_LIFETIME,
    Assignment,
    Customer,
    QueuedEvent,
    Relationship,
    Tenant,
    Transfer,
)
from tests.fakes.microsoft_cloud.tls import materials, new_app_certificate_pem
from tests.fakes.microsoft_cloud.tokens import TokenBook

RESELLER_LINK = (
    "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship"
    "&partnerId={partner}&msppId=0&DAP=false#/BillingAccounts/partner-invitation"
)
SERVICE_USER = "onboarding-service@partner.example"


def _slug(domain: str) -> str:
    return re.sub(r"[^a-z0-9]", "", domain.split(".")[0].lower()) or "tenant"


class MicrosoftCloud:
    """See the package docstring for the whole surface, one line per attribute and method."""

    def __init__(self, clock: Clock, tmp_path: Path) -> None:
        self.clock = clock
        self.tmp_path = Path(tmp_path)
        self.materials = materials()
        self.lock = threading.RLock()

        # the partner's side
        self.partner_tenant_id = str(uuid.uuid4())
        self.partner_name = "Fabrikam Cloud Partner"
        self.partner_mpn_id = "6543210"
        self.client_id = str(uuid.uuid4())
        self.client_secret = "fake~" + secrets.token_urlsafe(30)
        self.client_certificate_pem = self.materials.app_certificate_pem
        self.registered_certificate_pem = self.client_certificate_pem
        # what the README tells the operator to grant (reading service principals, which
        # needs Application.Read.All, is not among them: the doctor falls back on GDAP)
        self.granted_permissions: set[str] = {
            graph.GDAP_WRITE,
            graph.TENANT_LOOKUP,
            "GroupMember.Read.All",
        }
        self.partner_center_app_registered = True
        self.service_principal_provisioned = True
        self.pcda_service_principal_id = str(uuid.uuid4())
        self.groups: dict[str, str] = {
            str(uuid.uuid4()): "Helpdesk Administrator",
            str(uuid.uuid4()): "User Administrator",
        }
        self.reseller_link = RESELLER_LINK.format(partner=self.partner_tenant_id)
        self.token_lifetime = timedelta(hours=1)
        self.device_code_interval = 1  # seconds msal waits between device-code polls
        self.public_client_flows = True  # the app's "Allow public client flows" (device code)
        self.token_book = TokenBook(self.materials.token_key)
        self.refresh_tokens: dict[str, tuple[str, bool]] = {}
        self.device_sign_ins: dict[str, Any] = {}
        self._user_ids: dict[str, str] = {}

        # the customers and the current partners
        self.tenants: dict[str, Tenant] = {}
        self.customers: dict[str, Customer] = {}
        self.relationships: dict[str, Relationship] = {}
        self.transfers: dict[str, Transfer] = {}
        self.stuck_assignments = False
        self.failing_assignments = False  # True: new access assignments end in `error`
        self.lock_lag_reads = 1
        self.transfer_expiry: timedelta | None = timedelta(days=30)

        # faults and what was asked
        self.slow_bodies = False
        self.require_request_ids = False  # True: PC answers 400 without MS-RequestId/-CorrelationId
        self.sent_mail: list[tuple[str, Any]] = []  # (mailbox, sendMail body) accepted by Graph
        self.requests: list[Recorded] = []
        self.schema_errors: list[str] = []
        self.internal_errors: list[str] = []
        self.unmatched: list[Recorded] = []
        self._faults: list[Failure | Stall] = []
        # Partner Center writes already answered, by (MS-RequestId, method, path)
        self.answered_writes: dict[tuple[str, str, str], Any] = {}

        # webhooks
        self.registration: dict[str, Any] | None = None
        self.subscriber_id = str(uuid.uuid4())
        self.events: list[QueuedEvent] = []
        self.validation_events: dict[str, dict[str, Any]] = {}
        self.deliveries: list[tuple[dict[str, Any], int]] = []

        self._sites = {
            "login": Site(self, "login", login.ROUTES),
            "graph": Site(self, "graph", graph.ROUTES),
            "partner_center": Site(self, "partner_center", partner_center.ROUTES),
            "cert": Site(self, "cert", webhooks.CERT_ROUTES),
        }
        self._servers = Servers(list(self._sites.values()), self.materials.server_context)
        self.ca_bundle = self.tmp_path / "microsoft-cloud-ca.pem"
        self.ca_bundle.write_bytes(self.materials.ca_bundle_pem())

    # -- lifetime and addresses ------------------------------------------------------------

    def __enter__(self) -> MicrosoftCloud:
        self._servers.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._servers.stop()

    def _url(self, site: str) -> str:
        return f"https://localhost:{self._sites[site].port}"

    @property
    def login_url(self) -> str:
        return self._url("login")

    @property
    def graph_url(self) -> str:
        return self._url("graph")

    @property
    def partner_center_url(self) -> str:
        return self._url("partner_center")

    @property
    def cert_host(self) -> str:
        return f"localhost:{self._sites['cert'].port}"

    @property
    def disallowed_cert_host(self) -> str:
        """The certificate host under another name (it serves the same certificate, and its
        TLS certificate is valid for it): not on the allow-list, so it must be refused."""
        return f"127.0.0.1:{self._sites['cert'].port}"

    def role_groups_setting(self) -> str:
        """GDAP_ROLE_GROUPS from `groups`: each group named after a role maps that role."""
        pairs = []
        for group_id, name in self.groups.items():
            role = find_role(name)
            if role is not None:
                pairs.append(f"{role.name}={group_id}")
        return ";".join(pairs)

    def settings_env(self) -> dict[str, str]:
        certificate = self.tmp_path / "partner-app-certificate.pem"
        certificate.write_text(self.client_certificate_pem, encoding="ascii")
        return {
            "MICROSOFT_BACKEND": "live",
            "PARTNER_TENANT_ID": self.partner_tenant_id,
            "PARTNER_CLIENT_ID": self.client_id,
            "PARTNER_CLIENT_CERTIFICATE": str(certificate),
            "MICROSOFT_LOGIN_URL": self.login_url,
            "GRAPH_URL": self.graph_url,
            "PARTNER_CENTER_URL": self.partner_center_url,
            "PARTNER_CENTER_WEBHOOK_CERT_HOSTS": self.cert_host,
            "SSL_CERT_FILE": str(self.ca_bundle),
            "GDAP_ROLE_GROUPS": self.role_groups_setting(),
        }

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts the fake (for tests that call it directly)."""
        return ssl.create_default_context(cafile=str(self.ca_bundle))

    # -- the partner's identity ------------------------------------------------------------

    def new_certificate_pem(self) -> str:
        """Another key and certificate, not registered on the app (for a wrong credential)."""
        return new_app_certificate_pem()

    def revoke_tokens(self) -> None:
        """Every token issued so far is refused from the next call on (Graph: expired)."""
        with self.lock:
            self.token_book.revoke_all()

    def revoke_refresh_tokens(self) -> None:
        """The service user must sign in again (the next refresh gets invalid_grant)."""
        with self.lock:
            self.refresh_tokens.clear()

    def complete_device_sign_in(self, mfa: bool = True, *, user: str = SERVICE_USER) -> None:
        """The human finishes every waiting device-code sign-in (with MFA or without)."""
        with self.lock:
            waiting = [
                s for s in self.device_sign_ins.values() if not s.completed and not s.declined
            ]
            assert waiting, "no device-code sign-in is waiting (call initiate_device_flow first)"
            for sign_in in waiting:
                sign_in.completed, sign_in.mfa, sign_in.user = True, mfa, user

    def decline_device_sign_in(self) -> None:
        with self.lock:
            for sign_in in self.device_sign_ins.values():
                if not sign_in.completed:
                    sign_in.declined = True

    def device_user_code(self) -> str | None:
        """The code shown to the human by the newest waiting sign-in."""
        with self.lock:
            waiting = [s for s in self.device_sign_ins.values() if not s.completed]
            return waiting[-1].user_code if waiting else None

    def user_object_id(self, user: str) -> str:
        return self._user_ids.setdefault(user, str(uuid.uuid4()))

    # -- tenants and the customer ----------------------------------------------------------

    def add_tenant(self, domain: str, name: str, *, also: Iterable[str] = ()) -> str:
        """An Entra tenant that owns `domain` (and the `also` domains); its id."""
        with self.lock:
            initial = f"{_slug(domain)}.onmicrosoft.com"
            taken = {t.default_domain for t in self.tenants.values()}
            number = 1
            while initial in taken:  # Entra appends a number to a taken initial domain
                number += 1
                initial = f"{_slug(domain)}{number}.onmicrosoft.com"
            tenant = Tenant(
                id=str(uuid.uuid4()),
                display_name=name,
                domains=[domain.lower(), *(d.lower() for d in also)],
                default_domain=initial,
            )
            tenant.domains.append(tenant.default_domain)
            self.tenants[tenant.id] = tenant
            return tenant.id

    def tenant_by_domain(self, domain: str) -> Tenant | None:
        wanted = domain.lower()
        return next((t for t in self.tenants.values() if wanted in t.domains), None)

    def accept_reseller(
        self,
        domain: str,
        *,
        email: str,
        country: str = "US",
        first_name: str = "Ada",
        last_name: str = "Lovelace",
        phone: str = "4255550100",
        address_line1: str = "1 Microsoft Way",
        city: str = "Redmond",
        state: str = "WA",
        postal_code: str = "98052",
        indirect: bool = False,
    ) -> str:
        """The customer's Global Administrator accepts the reseller invitation: Partner Center
        lists the customer (with its billing profile) and sends the webhook. Its tenant id."""
        with self.lock:
            tenant = self.tenant_by_domain(domain)
            assert tenant is not None, f"no tenant owns {domain}: add_tenant first"
            self.customers[tenant.id] = Customer(
                tenant=tenant,
                email=email,
                country=country,
                first_name=first_name,
                last_name=last_name,
                phone=phone,
                address_line1=address_line1,
                city=city,
                state=state,
                postal_code=postal_code,
                indirect=indirect,
            )
            name = ("indirect-" if indirect else "") + "reseller-relationship-accepted-by-customer"
            self._queue(
                webhooks.customer_event(name, self.partner_tenant_id, tenant.id, self.clock.now())
            )
            return tenant.id

    # -- GDAP, as the customer -------------------------------------------------------------

    def _relationship(self, relationship_id: str) -> Relationship:
        self.settle()
        rel = self.relationships.get(relationship_id)
        assert rel is not None, f"no relationship {relationship_id}"
        return rel

    def approve_gdap(self, relationship_id: str, *, tenant_id: str | None = None) -> None:
        """The customer approves: approved now, activating a minute later, active a minute after
        that (by the shared clock). `tenant_id` binds a relationship created without one."""
        with self.lock:
            rel = self._relationship(relationship_id)
            assert rel.status == "approvalPending", f"cannot approve a {rel.status} relationship"
            if rel.customer_tenant_id is None:
                assert tenant_id, "this relationship names no customer: pass tenant_id"
                rel.customer_tenant_id = tenant_id
                rel.customer_name = self.tenants[tenant_id].display_name
            now = self.clock.now()
            rel.status, rel.approved_at, rel.lagging_reads = "approved", now, 0
            rel.touch(now)
            self._queue_relationship("granular-admin-relationship-approved", rel)

    def expire_gdap(self, relationship_id: str) -> None:
        with self.lock:
            rel = self._relationship(relationship_id)
            self._end(rel, "expired")

    def terminate_gdap(self, relationship_id: str) -> None:
        """The customer (or Microsoft) ends the relationship."""
        with self.lock:
            rel = self._relationship(relationship_id)
            self._end(rel, "terminated")

    def _end(self, rel: Relationship, status: str) -> None:
        now = self.clock.now()
        rel.status, rel.lagging_reads = status, 0
        if status == "expired":
            rel.end_at = min(rel.end_at or now, now)
        rel.touch(now)
        self._queue_relationship(f"granular-admin-relationship-{status}", rel)

    def gdap_status(self, relationship_id: str) -> str:
        with self.lock:
            return self._relationship(relationship_id).status

    def latest_relationship(self, tenant_id: str | None = None) -> str | None:
        """The id of the newest relationship (for this customer tenant), as a test that did
        not pick the name finds what the bot created."""
        with self.lock:
            found = [
                r
                for r in self.relationships.values()
                if tenant_id is None or r.customer_tenant_id == tenant_id
            ]
            return found[-1].id if found else None

    def relationship_named(self, display_name: str) -> Relationship | None:
        with self.lock:
            return next(
                (r for r in self.relationships.values() if r.display_name == display_name), None
            )

    # -- transfers, as the current partner -------------------------------------------------

    def new_transfer(self, customer_tenant_id: str, creator: str, body: dict[str, Any]) -> Transfer:
        now = self.clock.now()
        transfer = Transfer(
            id=str(uuid.uuid4()),
            customer_tenant_id=customer_tenant_id,
            creator_tenant_id=creator,
            body=body,
            status=partner_center.PENDING,
            created_at=now,
            modified_at=now,
            target_partner_name=self.partner_name if creator == self.partner_tenant_id else "",
            expires_at=now + self.transfer_expiry if self.transfer_expiry else None,
        )
        self.transfers[transfer.id] = transfer
        if creator == self.partner_tenant_id:
            self._queue_transfer("create-transfer", transfer)
        return transfer

    def latest_transfer(self, customer_tenant_id: str | None = None) -> str | None:
        """The id of the newest transfer we created (for this customer)."""
        with self.lock:
            found = [
                t
                for t in self.transfers.values()
                if t.creator_tenant_id == self.partner_tenant_id
                and (customer_tenant_id is None or t.customer_tenant_id == customer_tenant_id)
            ]
            return found[-1].id if found else None

    def start_other_transfer(self, customer_tenant_id: str, partner_name: str = "Contoso") -> str:
        """A transfer of this customer created by another partner, still pending (ours then
        gets 409 900101, and we may not cancel that one). Its id."""
        with self.lock:
            body = {
                "sourcePartnerTenantId": str(uuid.uuid4()),
                "sourcePartnerName": partner_name,
                "customerEmailId": "admin@customer.example",
            }
            transfer = self.new_transfer(customer_tenant_id.lower(), str(uuid.uuid4()), body)
            transfer.target_partner_name = "Another Partner"
            return transfer.id

    def _transfer(self, transfer_id: str) -> Transfer:
        transfer = self.transfers.get(transfer_id.lower())
        assert transfer is not None, f"no transfer {transfer_id}"
        assert transfer.status == partner_center.PENDING, f"transfer is {transfer.status}"
        return transfer

    def accept_transfer(self, transfer_id: str) -> None:
        """The current partner picks the subscriptions and accepts: Completed."""
        with self.lock:
            transfer = self._transfer(transfer_id)
            now = self.clock.now()
            transfer.line_items = [self._line_item("Completed", None)]
            transfer.status, transfer.completed_at, transfer.modified_at = "Completed", now, now
            self._queue_transfer("complete-transfer", transfer)

    def decline_transfer(self, transfer_id: str, reason: str) -> None:
        """The current partner refuses: Failed, the reason in the line item's transferError."""
        with self.lock:
            transfer = self._transfer(transfer_id)
            transfer.line_items = [self._line_item("Failed", reason)]
            transfer.status, transfer.modified_at = "Failed", self.clock.now()
            self._queue_transfer("fail-transfer", transfer)

    def expire_transfer(self, transfer_id: str) -> None:
        """Partner Center lets a pending transfer lapse (status `Expired`, undocumented)."""
        with self.lock:
            transfer = self._transfer(transfer_id)
            transfer.status, transfer.modified_at = "Expired", self.clock.now()

    @staticmethod
    def _line_item(status: str, error: str | None) -> dict[str, Any]:
        return {
            "id": 0,
            "subscriptionId": str(uuid.uuid4()),
            "quantity": 10,
            "billingCycle": "Monthly",
            "friendlyName": "Microsoft 365 Business Standard",
            "partnerIdOnRecord": "",
            "offerId": "CFQ7TTC0LDPB:0001",
            "addonItems": [],
            "transferError": error,
            "status": status,
        }

    # -- the clock -------------------------------------------------------------------------

    def settle(self) -> None:
        """Move every status to where the clock says it is (and queue the events)."""
        with self.lock:
            now = self.clock.now()
            for rel in self.relationships.values():
                self._settle_relationship(rel, now)
                for assignment in rel.assignments.values():
                    if (
                        assignment.status == "pending"
                        and not assignment.stuck
                        and now >= assignment.created_at + STEP
                    ):
                        assignment.status = "error" if assignment.fails else "active"
                        assignment.modified_at = assignment.created_at + STEP
                        assignment.version += 1
                        event = "updated" if assignment.fails else "activated"
                        self.queue_assignment_event(
                            f"granular-admin-access-assignment-{event}", rel, assignment
                        )

    def _settle_relationship(self, rel: Relationship, now: datetime) -> None:
        for request in rel.requests:
            if request.status == "created" and now >= request.created_at + STEP:
                request.status, request.modified_at = "succeeded", request.created_at + STEP
        if (
            rel.status in ("created", "approvalPending")
            and now >= rel.created_at + UNAPPROVED_LIFETIME
        ):
            rel.end_at = rel.created_at + UNAPPROVED_LIFETIME
            rel.status = "expired"
            rel.touch(now)
            self._queue_relationship("granular-admin-relationship-expired", rel)
        if rel.status == "approved" and rel.approved_at and now >= rel.approved_at + STEP:
            rel.status = "activating"
            rel.touch(rel.approved_at + STEP)
        if rel.status == "activating" and rel.approved_at and now >= rel.approved_at + 2 * STEP:
            rel.status = "active"
            rel.activated_at = rel.approved_at + 2 * STEP
            rel.end_at = rel.activated_at + timedelta(days=rel.duration_days)
            rel.touch(rel.activated_at)
            self._queue_relationship("granular-admin-relationship-activated", rel)
        while rel.status == "active" and rel.end_at and now >= rel.end_at:
            if rel.auto_extend == "P180D":
                rel.end_at += AUTO_EXTENSION
                rel.touch(now)
            else:
                rel.status = "expired"
                rel.touch(now)
                self._queue_relationship("granular-admin-relationship-expired", rel)
        asked = rel.terminating_at
        if rel.status == "terminationRequested" and asked and now >= asked + STEP:
            rel.status = "terminating"
            rel.touch(now)
        if rel.status == "terminating" and asked and now >= asked + 2 * STEP:
            rel.status = "terminated"
            rel.touch(now)
            self._queue_relationship("granular-admin-relationship-terminated", rel)

    # -- faults ----------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        body: Any = None,
        server: str | None = None,
    ) -> None:
        """The next `times` requests matching (method, regex searched in the path) get
        `status` with Microsoft's body for that host (or `body`); Retry-After on 429/503."""
        with self.lock:
            self._faults.append(
                Failure(method.upper(), re.compile(path), times, server, status, retry_after, body)
            )

    def stall(
        self,
        method: str,
        path: str,
        *,
        seconds: float,
        times: int = 1,
        server: str | None = None,
        before: bool = False,
    ) -> None:
        """The next `times` matching requests are answered `seconds` late (a client timeout).
        The work is done at once and only the answer is late (a POST that timed out did create),
        unless `before`: then the fake waits first and does the work after."""
        with self.lock:
            self._faults.append(
                Stall(method.upper(), re.compile(path), times, server, seconds, before)
            )

    def take_faults(
        self, server: str, method: str, path: str
    ) -> tuple[Stall | None, Failure | None]:
        stall = failure = None
        for fault in self._faults:
            if not matches(fault, server, method, path):
                continue
            if isinstance(fault, Stall) and stall is None:
                stall = fault
            elif isinstance(fault, Failure) and failure is None:
                failure = fault
        for used in (stall, failure):
            if used is not None:
                used.times -= 1
        self._faults = [f for f in self._faults if f.times > 0]
        return stall, failure

    # -- what was asked --------------------------------------------------------------------

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        """The recorded requests with this method whose path matches the regex (searched)."""
        with self.lock:
            pattern = re.compile(path)
            return [r for r in self.requests if r.method == method and pattern.search(r.path)]

    # -- webhooks --------------------------------------------------------------------------

    def _queue(self, body: dict[str, Any]) -> None:
        registration = self.registration
        if registration and body["EventName"] in registration.get("WebhookEvents", []):
            self.events.append(QueuedEvent(body))

    def _queue_relationship(self, name: str, rel: Relationship) -> None:
        self._queue(webhooks.relationship_event(name, rel.id, self.clock.now()))

    def queue_assignment_event(self, name: str, rel: Relationship, assignment: Assignment) -> None:
        self._queue(webhooks.assignment_event(name, rel.id, assignment.id, self.clock.now()))

    def _queue_transfer(self, name: str, transfer: Transfer) -> None:
        self._queue(
            webhooks.transfer_event(
                name,
                self.partner_tenant_id,
                transfer.customer_tenant_id,
                transfer.id,
                self.clock.now(),
            )
        )

    def queue_test_event(self, correlation_id: str) -> None:
        self.validation_events[correlation_id] = {
            "correlationId": correlation_id,
            "partnerId": self.partner_tenant_id,
            "status": "pending",
            "callbackUrl": (self.registration or {}).get("WebhookUrl", ""),
            "results": [],
        }
        self._queue(webhooks.validation_event(correlation_id, self.clock.now()))

    @property
    def queued_events(self) -> list[dict[str, Any]]:
        """Events waiting for `deliver_webhooks`, oldest first."""
        with self.lock:
            self.settle()
            return [e.body for e in self.events if not e.delivered]

    def certificate_url(self, chain: webhooks.Chain = "microsoft", host: str | None = None) -> str:
        return f"https://{host or self.cert_host}{webhooks.CERT_PATHS[chain]}"

    def sign(
        self,
        body: bytes,
        *,
        chain: webhooks.Chain = "microsoft",
        cert_host: str | None = None,
        certificate_url: str | None = None,
        in_ms_signature: bool = False,
    ) -> dict[str, str]:
        """Signature headers for `body` as Partner Center sends them. `chain="wrong-issuer"`
        signs with a leaf whose Issuer lacks O=Microsoft Corporation (its root is trusted);
        `chain="untrusted"` with one that claims Microsoft but chains to a root outside
        ca_bundle; `"expired"` with one past its validity; `"other-subject"` with one issued
        to another host; `cert_host=cloud.disallowed_cert_host` names a host off the
        allow-list; `in_ms_signature` puts the signature in x-ms-signature."""
        url = certificate_url or self.certificate_url(chain, cert_host)
        signer = webhooks.chain_of(self.materials, chain)
        return webhooks.signature_headers(body, signer, url, in_ms_signature=in_ms_signature)

    def deliver_webhooks(self, to: str | None = None, *, timeout: float = 10.0) -> list[int]:
        """POST every queued event, signed, to the registered WebhookUrl (or `to`, e.g. the
        bot's loopback address behind a registered public URL); the status codes in order (0
        when the receiver could not be reached). Events not answered 2xx stay queued."""
        with self.lock:
            self.settle()
            pending = [e for e in self.events if not e.delivered]
            registration = dict(self.registration or {})
        return self._post_events(pending, registration, to, timeout)

    def replay_webhooks(self, to: str | None = None, *, timeout: float = 10.0) -> list[int]:
        """POST every event delivered so far once more, signed the same way (Partner Center
        may deliver an event twice): the receiver must not apply it twice."""
        with self.lock:
            delivered = [e for e in self.events if e.delivered]
            registration = dict(self.registration or {})
        return self._post_events(delivered, registration, to, timeout)

    def _post_events(
        self,
        events: list[QueuedEvent],
        registration: dict[str, Any],
        to: str | None,
        timeout: float,
    ) -> list[int]:
        url = to or registration.get("WebhookUrl")
        assert url, "no webhook registration and no `to` address"
        in_ms_signature = bool(registration.get("SignatureTokenToMsSignatureHeader"))
        statuses = []
        with httpx.Client(verify=self.ssl_context(), timeout=timeout) as client:
            for queued in events:
                body = json.dumps(queued.body).encode()
                headers = {"Content-Type": "application/json"}
                headers.update(self.sign(body, in_ms_signature=in_ms_signature))
                try:
                    status = client.post(url, content=body, headers=headers).status_code
                except httpx.HTTPError:
                    status = 0
                statuses.append(status)
                with self.lock:
                    self.deliveries.append((queued.body, status))
                    if 200 <= status < 300:
                        queued.delivered = True
                    self._note_validation(queued.body, status)
        return statuses

    def _note_validation(self, body: dict[str, Any], status: int) -> None:
        if body["EventName"] != "test-created":
            return
        correlation_id = body["ResourceUri"].rsplit("/", 1)[-1]
        found = self.validation_events.get(correlation_id)
        if found is not None:
            found["status"] = "completed" if 200 <= status < 300 else "failed"
            found["results"].append(
                {
                    "responseCode": str(status),
                    "responseMessage": "",
                    "systemError": "" if status else "unreachable",
                    "dateTimeUtc": self.clock.now().isoformat(),
                }
            )
