"""Partner Center's REST API as the live backend calls it: customers, P2P transfers, the
reseller-relationship link (App+User) and the partner's one webhook registration."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from adapters.microsoft.live.http import Deadline, MicrosoftApi

REGISTRATION = "/webhooks/v1/registration"


class PartnerCenter:
    def __init__(self, api: MicrosoftApi) -> None:
        self.api = api

    def deadline(self, seconds: float | None = None) -> Deadline:
        return self.api.deadline(seconds)

    # -- customers ---------------------------------------------------------------------------

    def customer(self, tenant_id: str, deadline: Deadline) -> dict[str, Any] | None:
        """The customer, or None while it is not one of ours (404; 403 is read the same:
        the reference leaves open which of the two Partner Center answers)."""
        response = self.api.call(
            "GET", f"/v1/customers/{quote(tenant_id)}", expect=(403, 404), deadline=deadline
        )
        return None if response.status_code in (403, 404) else dict(response.json())

    def relationship_request_url(self, bearer: str, deadline: Deadline) -> str:
        """GET /v1/customers/relationshiprequests with a user's token (App+User only)."""
        response = self.api.call(
            "GET", "/v1/customers/relationshiprequests", deadline=deadline, bearer=bearer
        )
        return str(response.json().get("url") or "")

    # -- transfers ---------------------------------------------------------------------------

    def create_transfer(
        self, customer_tenant_id: str, body: dict[str, Any], deadline: Deadline
    ) -> dict[str, Any]:
        """Repeated with the same MS-RequestId when unanswered: Partner Center dedupes it."""
        response = self.api.call(
            "POST",
            f"/v1/customers/{quote(customer_tenant_id)}/transfers",
            json=body,
            deadline=deadline,
        )
        return dict(response.json())

    def transfers(self, customer_tenant_id: str, deadline: Deadline) -> list[dict[str, Any]]:
        response = self.api.call(
            "GET", f"/v1/customers/{quote(customer_tenant_id)}/transfers", deadline=deadline
        )
        body = response.json()
        return list(body.get("items") or []) if isinstance(body, dict) else list(body or [])

    def get_transfer(
        self, customer_tenant_id: str, transfer_id: str, deadline: Deadline
    ) -> dict[str, Any]:
        response = self.api.call(
            "GET",
            f"/v1/customers/{quote(customer_tenant_id)}/transfers/{quote(transfer_id)}",
            deadline=deadline,
        )
        return dict(response.json())

    def update_transfer(
        self, customer_tenant_id: str, transfer_id: str, body: dict[str, Any], deadline: Deadline
    ) -> None:
        self.api.call(
            "PATCH",
            f"/v1/customers/{quote(customer_tenant_id)}/transfers/{quote(transfer_id)}",
            json=body,
            deadline=deadline,
        )

    # -- webhooks ----------------------------------------------------------------------------

    def webhook_events(self, deadline: Deadline) -> list[str]:
        """The events Partner Center offers today (the runtime truth, reference §6.1)."""
        response = self.api.call("GET", f"{REGISTRATION}/events", deadline=deadline)
        body = response.json()
        return [str(e) for e in body] if isinstance(body, list) else []

    def registration(self, deadline: Deadline) -> dict[str, Any] | None:
        """The partner's one registration, or None."""
        response = self.api.call("GET", REGISTRATION, expect=(404,), deadline=deadline)
        if response.status_code in (204, 404) or not response.content.strip():
            return None
        body = response.json()
        if not isinstance(body, dict) or not body.get("WebhookUrl"):
            return None
        return dict(body)

    def register(
        self, body: dict[str, Any], *, replace: bool, deadline: Deadline
    ) -> dict[str, Any]:
        """POST a first registration, PUT over the existing one."""
        response = self.api.call(
            "PUT" if replace else "POST", REGISTRATION, json=body, deadline=deadline
        )
        return dict(response.json()) if response.content.strip() else dict(body)
