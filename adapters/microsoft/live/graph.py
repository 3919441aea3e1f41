"""Microsoft Graph as the live backend calls it (v1.0): GDAP relationships and their access
assignments in the partner tenant, tenant lookup by domain, and what `doctor` reads."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from adapters.microsoft.live.errors import said
from adapters.microsoft.live.http import Deadline, MicrosoftApi

RELATIONSHIPS = "/v1.0/tenantRelationships/delegatedAdminRelationships"
PAGE_SIZE = 300  # Graph's largest $top for delegatedAdminRelationships
MAX_PAGES = 50


def odata_string(value: str) -> str:
    """A string literal for $filter: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


class Graph:
    def __init__(self, api: MicrosoftApi) -> None:
        self.api = api

    def deadline(self, seconds: float | None = None) -> Deadline:
        return self.api.deadline(seconds)

    # -- tenants --------------------------------------------------------------------------

    def find_tenant(self, domain: str, deadline: Deadline) -> dict[str, Any] | None:
        """findTenantInformationByDomainName: the Entra tenant that owns the domain."""
        path = (
            "/v1.0/tenantRelationships/findTenantInformationByDomainName"
            f"(domainName={quote(odata_string(domain), safe=chr(39))})"
        )
        response = self.api.call("GET", path, expect=(404,), deadline=deadline)
        if response.status_code == 404:
            return None
        return dict(response.json())

    # -- GDAP relationships ----------------------------------------------------------------

    def create_relationship(
        self, body: dict[str, Any], deadline: Deadline
    ) -> tuple[dict[str, Any] | None, str]:
        """The new relationship; or None and what Microsoft said when one with this name
        exists (409). Not repeated after a timeout or a 5xx (`Unanswered`): the caller looks
        it up by name."""
        response = self.api.call(
            "POST", RELATIONSHIPS, json=body, expect=(409,), deadline=deadline, repeatable=False
        )
        if response.status_code == 409:
            return None, str(said(response))
        return dict(response.json()), ""

    def relationships_named(self, name: str, deadline: Deadline) -> list[dict[str, Any]]:
        """By displayName: `$filter` first; where Graph refuses the filter (400), every page
        is listed and matched here (reference §4.1: the filter is not documented)."""
        response = self.api.call(
            "GET",
            RELATIONSHIPS,
            params={"$filter": f"displayName eq {odata_string(name)}"},
            expect=(400,),
            deadline=deadline,
        )
        if response.status_code != 400:
            found = list(response.json().get("value") or [])
            return [r for r in found if str(r.get("displayName", "")) == name]
        return [
            r
            for r in self._pages(RELATIONSHIPS, {"$top": str(PAGE_SIZE)}, deadline)
            if str(r.get("displayName", "")) == name
        ]

    def get_relationship(self, relationship_id: str, deadline: Deadline) -> dict[str, Any] | None:
        response = self.api.call(
            "GET", f"{RELATIONSHIPS}/{quote(relationship_id)}", expect=(404,), deadline=deadline
        )
        return None if response.status_code == 404 else dict(response.json())

    def lock_for_approval(self, relationship_id: str, deadline: Deadline) -> None:
        self.api.call(
            "POST",
            f"{RELATIONSHIPS}/{quote(relationship_id)}/requests",
            json={"action": "lockForApproval"},
            deadline=deadline,
            repeatable=False,
        )

    def first_relationships(self, deadline: Deadline) -> list[dict[str, Any]]:
        """One relationship at most: doctor's probe that GDAP calls are allowed."""
        response = self.api.call("GET", RELATIONSHIPS, params={"$top": "1"}, deadline=deadline)
        return list(response.json().get("value") or [])

    # -- access assignments ----------------------------------------------------------------

    def create_assignment(
        self, relationship_id: str, body: dict[str, Any], deadline: Deadline
    ) -> dict[str, Any] | None:
        """The new assignment, or None when the group has one on this relationship (409)."""
        response = self.api.call(
            "POST",
            f"{RELATIONSHIPS}/{quote(relationship_id)}/accessAssignments",
            json=body,
            expect=(409,),
            deadline=deadline,
            repeatable=False,
        )
        return None if response.status_code == 409 else dict(response.json())

    def assignments(self, relationship_id: str, deadline: Deadline) -> list[dict[str, Any]]:
        return list(
            self._pages(
                f"{RELATIONSHIPS}/{quote(relationship_id)}/accessAssignments", None, deadline
            )
        )

    def get_assignment(
        self, relationship_id: str, assignment_id: str, deadline: Deadline
    ) -> dict[str, Any] | None:
        response = self.api.call(
            "GET",
            f"{RELATIONSHIPS}/{quote(relationship_id)}/accessAssignments/{quote(assignment_id)}",
            expect=(404,),
            deadline=deadline,
        )
        return None if response.status_code == 404 else dict(response.json())

    # -- what doctor reads -----------------------------------------------------------------

    def service_principals(self, app_id: str, deadline: Deadline) -> list[dict[str, Any]]:
        response = self.api.call(
            "GET",
            "/v1.0/servicePrincipals",
            params={"$filter": f"appId eq {odata_string(app_id)}", "$select": "id,appId"},
            deadline=deadline,
        )
        return list(response.json().get("value") or [])

    def group(self, group_id: str, deadline: Deadline) -> dict[str, Any] | None:
        response = self.api.call(
            "GET",
            f"/v1.0/groups/{quote(group_id)}",
            params={"$select": "id,displayName,securityEnabled"},
            expect=(404,),
            deadline=deadline,
        )
        return None if response.status_code == 404 else dict(response.json())

    def _pages(
        self, path: str, params: dict[str, str] | None, deadline: Deadline
    ) -> list[dict[str, Any]]:
        """Every page, following @odata.nextLink while it stays on Graph's own host."""
        found: list[dict[str, Any]] = []
        url: str | None = path
        for _ in range(MAX_PAGES):
            if url is None:
                break
            response = self.api.call("GET", url, params=params, deadline=deadline)
            body = response.json()
            found.extend(body.get("value") or [])
            next_link = body.get("@odata.nextLink")
            url = (
                next_link
                if isinstance(next_link, str) and next_link.startswith(self.api.base_url + "/")
                else None
            )
            params = None  # the next link carries them
        return found
