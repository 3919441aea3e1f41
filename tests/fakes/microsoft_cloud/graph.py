"""The fake Graph v1.0: tenant lookup by domain, GDAP relationships (create, list with $filter,
$top and @odata.nextLink, get, PATCH and DELETE under If-Match), their requests and access
assignments, the service-principal check and partner security groups, in Graph's wire format
(OData error envelope, `@odata.etag`, `Location`, `activatedDateTime: ""` before activation)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from bot.gdap_roles import GLOBAL_ADMINISTRATOR_ID, ROLES
from tests.fakes.microsoft_cloud.faults import graph_error
from tests.fakes.microsoft_cloud.http import Recorded, Reply, Route, route
from tests.fakes.microsoft_cloud.state import (
    Assignment,
    Relationship,
    RelationshipRequest,
    iso,
)
from tests.fakes.microsoft_cloud.tokens import GRAPH_AUDIENCE

if TYPE_CHECKING:
    from tests.fakes.microsoft_cloud.cloud import MicrosoftCloud

PCDA_APP_ID = "2832473f-ec63-45fb-976f-5d45a7d4bb91"  # Partner Customer Delegated Administration
GDAP_WRITE = "DelegatedAdminRelationship.ReadWrite.All"
GDAP_READ = "DelegatedAdminRelationship.Read.All"
TENANT_LOOKUP = "CrossTenantInformation.ReadBasic.All"
MAIL_SEND = "Mail.Send"
GROUP_READ = ("GroupMember.Read.All", "Group.Read.All", "Directory.Read.All")
APPLICATION_READ = ("Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All")
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
BUILT_IN_ROLES = frozenset(
    {role.id for role in ROLES}
    | {
        GLOBAL_ADMINISTRATOR_ID,
        "be2f45a1-457d-42af-a067-6ec1fa63bc45",  # External Identity Provider Administrator
        "8329153b-31d0-4727-b945-745eb3bc5f31",  # Domain Name Administrator
    }
)
DEFAULT_PAGE = 100
MAX_TOP = 300
CONTENT_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)
BASE = "/v1.0/tenantRelationships/delegatedAdminRelationships"


def _error(req: Recorded, status: int, code: str, message: str) -> Reply:
    return graph_error(status, code, message, req.headers.get("client-request-id", ""))


def _ok(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, body, headers or {}, CONTENT_TYPE)


def _authorize(cloud: MicrosoftCloud, req: Recorded, *permissions: str) -> Reply | None:
    """Graph's token check (401 with WWW-Authenticate) and app-role check (403)."""
    found = cloud.token_book.check(
        req.headers.get("Authorization", ""), GRAPH_AUDIENCE, cloud.clock.now()
    )
    if isinstance(found, str):
        reply = _error(req, 401, "InvalidAuthenticationToken", found)
        reply.headers["WWW-Authenticate"] = (
            f'Bearer realm="", authorization_uri="{cloud.login_url}/common/oauth2/authorize", '
            f'client_id="{GRAPH_APP_ID}"'
        )
        return reply
    if found.user is None and permissions:
        roles = set(found.claims.get("roles", []))
        # A revoked grant is seen at once, as Entra re-evaluates roles on each call.
        if not roles & set(permissions) or not cloud.granted_permissions & set(permissions):
            return _error(
                req,
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )
    return None


def _gdap_gate(cloud: MicrosoftCloud, req: Recorded, write: bool) -> Reply | None:
    refused = _authorize(cloud, req, *((GDAP_WRITE,) if write else (GDAP_WRITE, GDAP_READ)))
    if refused is not None:
        return refused
    if not cloud.service_principal_provisioned:
        return _error(
            req,
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation. The service principal "
            f"'Partner Customer Delegated Administration' (appId {PCDA_APP_ID}) is not "
            "provisioned in the partner tenant.",
        )
    return None


# -- tenant lookup ---------------------------------------------------------------------------


def find_tenant(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req, TENANT_LOOKUP)
    if refused is not None:
        return refused
    domain = match["domain"].replace("''", "'")
    tenant = cloud.tenant_by_domain(domain)
    if tenant is None:
        return _error(
            req,
            404,
            "Directory_ObjectNotFound",
            f"Tenant information for domain '{domain}' was not found.",
        )
    return _ok(
        200,
        {
            "@odata.context": f"{cloud.graph_url}/v1.0/$metadata#microsoft.graph.tenantInformation",
            "@odata.type": "#microsoft.graph.tenantInformation",
            "tenantId": tenant.id,
            "displayName": tenant.display_name,
            "defaultDomainName": tenant.default_domain,
            "federationBrandName": None,
        },
    )


# -- relationships ---------------------------------------------------------------------------


def relationship_json(cloud: MicrosoftCloud, rel: Relationship, status: str | None = None) -> dict:
    customer = (
        {"tenantId": rel.customer_tenant_id, "displayName": rel.customer_name or ""}
        if rel.customer_tenant_id
        else None
    )
    end = rel.end_at or rel.created_at + timedelta(days=rel.duration_days)
    return {
        "@odata.type": "#microsoft.graph.delegatedAdminRelationship",
        "@odata.etag": rel.etag,
        "id": rel.id,
        "displayName": rel.display_name,
        "duration": rel.duration,
        "status": status or rel.status,
        "autoExtendDuration": rel.auto_extend,
        "createdDateTime": iso(rel.created_at),
        "lastModifiedDateTime": iso(rel.modified_at),
        "activatedDateTime": iso(rel.activated_at),
        "endDateTime": iso(end),
        "customer": customer,
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in rel.role_ids]},
    }


def _entity_context(cloud: MicrosoftCloud, collection: str) -> str:
    return f"{cloud.graph_url}/v1.0/$metadata#tenantRelationships/{collection}/$entity"


def _role_problem(req: Recorded, role_ids: list[str], auto_extend: str) -> Reply | None:
    unknown = [r for r in role_ids if r not in BUILT_IN_ROLES]
    if unknown:
        return _error(
            req,
            400,
            "badRequest",
            f"The role definition '{unknown[0]}' is not a Microsoft Entra built-in role.",
        )
    if GLOBAL_ADMINISTRATOR_ID in role_ids and auto_extend == "P180D":
        return _error(
            req,
            400,
            "badRequest",
            "A relationship that includes the Global Administrator role can't be auto-extended. "
            "Set autoExtendDuration to PT0S.",
        )
    return None


def _name_taken(cloud: MicrosoftCloud, name: str, but: str | None = None) -> bool:
    return any(
        rel.display_name.casefold() == name.casefold() and rel.id != but
        for rel in cloud.relationships.values()
    )


def create_relationship(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _gdap_gate(cloud, req, write=True)
    if refused is not None:
        return refused
    body = req.json
    roles = [r["roleDefinitionId"] for r in body["accessDetails"]["unifiedRoles"]]
    auto_extend = body.get("autoExtendDuration", "PT0S")
    problem = _role_problem(req, roles, auto_extend)
    if problem is not None:
        return problem
    days = int(body["duration"][1:-1])
    if not 1 <= days <= 730:
        return _error(req, 400, "badRequest", "The duration must be between P1D and P2Y.")
    if _name_taken(cloud, body["displayName"]):
        return _error(
            req,
            409,
            "Conflict",
            f"A delegated admin relationship with the display name '{body['displayName']}' "
            "already exists.",
        )
    customer = body.get("customer") or {}
    tenant_id = customer.get("tenantId")
    if tenant_id and tenant_id not in cloud.tenants:
        return _error(req, 400, "badRequest", f"The customer tenant '{tenant_id}' was not found.")
    now = cloud.clock.now()
    rel = Relationship(
        id=f"{uuid.uuid4()}-{uuid.uuid4()}",
        display_name=body["displayName"],
        duration=body["duration"],
        customer_tenant_id=tenant_id,
        customer_name=customer.get("displayName")
        or (cloud.tenants[tenant_id].display_name if tenant_id else None),
        role_ids=roles,
        auto_extend=auto_extend,
        created_at=now,
        modified_at=now,
    )
    cloud.relationships[rel.id] = rel
    entity = relationship_json(cloud, rel)
    entity["@odata.context"] = (
        f"{cloud.graph_url}/v1.0/tenantRelationships/$metadata#delegatedAdminRelationships"
    )
    return _ok(201, entity, {"Location": f"{cloud.graph_url}{BASE}/{rel.id}"})


_CLAUSE = re.compile(r"^\s*(\w+(?:/\w+)?)\s+eq\s+'((?:[^']|'')*)'\s*$", re.IGNORECASE)
_FILTERABLE = {"displayname", "status", "customer/tenantid", "id"}


def _filter(text: str) -> list[tuple[str, str]] | None:
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        found = _CLAUSE.match(part)
        if not found or found[1].lower() not in _FILTERABLE:
            return None
        clauses.append((found[1].lower(), found[2].replace("''", "'")))
    return clauses


def _field(entity: dict[str, Any], name: str) -> str:
    if name == "customer/tenantid":
        return str((entity.get("customer") or {}).get("tenantId") or "")
    key = {"displayname": "displayName", "status": "status", "id": "id"}[name]
    return str(entity.get(key) or "")


def list_relationships(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _gdap_gate(cloud, req, write=False)
    if refused is not None:
        return refused
    entities = [relationship_json(cloud, rel) for rel in cloud.relationships.values()]
    if "$filter" in req.query:
        clauses = _filter(req.query["$filter"])
        if clauses is None:
            return _error(req, 400, "badRequest", f"Invalid filter clause: {req.query['$filter']}")
        entities = [
            e
            for e in entities
            if all(_field(e, name).casefold() == value.casefold() for name, value in clauses)
        ]
    try:
        top = min(int(req.query.get("$top", DEFAULT_PAGE)), MAX_TOP)
        skip = int(req.query.get("$skiptoken", "0"))
    except ValueError:
        return _error(req, 400, "badRequest", "Invalid $top or $skiptoken value.")
    if top < 1:
        return _error(req, 400, "badRequest", "Invalid $top value.")
    page = entities[skip : skip + top]
    body: dict[str, Any] = {
        "@odata.context": f"{cloud.graph_url}/v1.0/$metadata#tenantRelationships/"
        "delegatedAdminRelationships",
        "value": page,
    }
    if skip + top < len(entities):
        query = {k: v for k, v in req.query.items() if k != "$skiptoken"}
        query["$top"] = str(top)
        query["$skiptoken"] = str(skip + top)
        body["@odata.nextLink"] = f"{cloud.graph_url}{BASE}?" + "&".join(
            f"{k}={quote(v, safe='')}" for k, v in query.items()
        )
    return _ok(200, body)


def _relationship(cloud: MicrosoftCloud, req: Recorded, rel_id: str) -> Relationship | Reply:
    rel = cloud.relationships.get(rel_id)
    if rel is None:
        return _error(
            req,
            404,
            "Request_ResourceNotFound",
            f"The delegatedAdminRelationship with id '{rel_id}' was not found.",
        )
    return rel


def get_relationship(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _gdap_gate(cloud, req, write=False)
    if refused is not None:
        return refused
    rel = _relationship(cloud, req, match["id"])
    if isinstance(rel, Reply):
        return rel
    shown = None
    if rel.lagging_reads > 0:  # lockForApproval is asynchronous: the lock shows a read later
        rel.lagging_reads -= 1
        shown = "created"
    entity = relationship_json(cloud, rel, shown)
    entity["@odata.context"] = _entity_context(cloud, "delegatedAdminRelationships")
    return _ok(200, entity, {"ETag": rel.etag})


def _if_match(req: Recorded, etag: str) -> Reply | None:
    given = req.headers.get("If-Match")
    if not given:
        return _error(req, 400, "badRequest", "The If-Match header is required for this request.")
    if given != "*" and given != etag:
        return _error(
            req,
            412,
            "preconditionFailed",
            "The resource has been modified since it was read: the If-Match etag does not "
            "match the current one.",
        )
    return None


def update_relationship(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _gdap_gate(cloud, req, write=True)
    if refused is not None:
        return refused
    rel = _relationship(cloud, req, match["id"])
    if isinstance(rel, Reply):
        return rel
    problem = _if_match(req, rel.etag)
    if problem is not None:
        return problem
    body: dict[str, Any] = req.json
    only_extend = set(body) == {"autoExtendDuration"}
    if rel.status != "created" and not (only_extend and rel.status == "active"):
        return _error(
            req,
            400,
            "badRequest",
            f"The relationship can't be updated in status '{rel.status}': only "
            "autoExtendDuration can change once it is active.",
        )
    roles = (
        [r["roleDefinitionId"] for r in body["accessDetails"]["unifiedRoles"]]
        if "accessDetails" in body
        else rel.role_ids
    )
    auto_extend = body.get("autoExtendDuration", rel.auto_extend)
    problem = _role_problem(req, roles, auto_extend)
    if problem is not None:
        return problem
    if "displayName" in body and _name_taken(cloud, body["displayName"], but=rel.id):
        return _error(
            req,
            409,
            "Conflict",
            f"A delegated admin relationship with the display name '{body['displayName']}' "
            "already exists.",
        )
    if "duration" in body:
        rel.duration = body["duration"]
    if "displayName" in body:
        rel.display_name = body["displayName"]
    if "customer" in body:
        rel.customer_tenant_id = body["customer"].get("tenantId", rel.customer_tenant_id)
        rel.customer_name = body["customer"].get("displayName", rel.customer_name)
    rel.role_ids = roles
    rel.auto_extend = auto_extend
    rel.touch(cloud.clock.now())
    entity = relationship_json(cloud, rel)
    entity["@odata.context"] = _entity_context(cloud, "delegatedAdminRelationships")
    return _ok(200, entity, {"ETag": rel.etag})


def delete_relationship(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _gdap_gate(cloud, req, write=True)
    if refused is not None:
        return refused
    rel = _relationship(cloud, req, match["id"])
    if isinstance(rel, Reply):
        return rel
    problem = _if_match(req, rel.etag)
    if problem is not None:
        return problem
    if rel.status != "created":
        return _error(
            req,
            400,
            "badRequest",
            f"Only a relationship in status 'created' can be deleted; this one is '{rel.status}'.",
        )
    del cloud.relationships[rel.id]
    return _ok(204)


def _request_json(cloud: MicrosoftCloud, rel: Relationship, request: RelationshipRequest) -> dict:
    return {
        "@odata.type": "#microsoft.graph.delegatedAdminRelationshipRequest",
        "id": request.id,
        "action": request.action,
        "status": request.status,
        "createdDateTime": iso(request.created_at),
        "lastModifiedDateTime": iso(request.modified_at),
    }


def create_request(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _gdap_gate(cloud, req, write=True)
    if refused is not None:
        return refused
    rel = _relationship(cloud, req, match["id"])
    if isinstance(rel, Reply):
        return rel
    action = req.json["action"]
    allowed_from = {"lockForApproval": ("created",), "terminate": ("active", "expiring")}
    if rel.status not in allowed_from[action]:
        return _error(
            req,
            400,
            "badRequest",
            f"The action '{action}' is not allowed for a relationship in status '{rel.status}'.",
        )
    now = cloud.clock.now()
    if action == "lockForApproval":
        rel.status = "approvalPending"
        rel.lagging_reads = cloud.lock_lag_reads
    else:
        rel.status = "terminationRequested"
        rel.terminating_at = now
    rel.touch(now)
    request = RelationshipRequest(str(uuid.uuid4()), action, "created", now, now)
    rel.requests.append(request)
    entity = _request_json(cloud, rel, request)
    entity["@odata.context"] = f"{cloud.graph_url}/v1.0/tenantRelationships/$metadata#requests"
    location = f"{cloud.graph_url}{BASE}/{rel.id}/requests/{request.id}"
    return _ok(201, entity, {"Location": location})


def list_requests(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _gdap_gate(cloud, req, write=False)
    if refused is not None:
        return refused
    rel = _relationship(cloud, req, match["id"])
    if isinstance(rel, Reply):
        return rel
    return _ok(200, {"value": [_request_json(cloud, rel, r) for r in rel.requests]})


def get_request(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _gdap_gate(cloud, req, write=False)
    if refused is not None:
        return refused
    rel = _relationship(cloud, req, match["id"])
    if isinstance(rel, Reply):
        return rel
    for request in rel.requests:
        if request.id == match["request"]:
            return _ok(200, _request_json(cloud, rel, request))
    return _error(req, 404, "Request_ResourceNotFound", "The request was not found.")


# -- access assignments ----------------------------------------------------------------------


def assignment_json(assignment: Assignment) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.delegatedAdminAccessAssignment",
        "@odata.etag": assignment.etag,
        "id": assignment.id,
        "status": assignment.status,
        "createdDateTime": iso(assignment.created_at),
        "lastModifiedDateTime": iso(assignment.modified_at),
        "accessContainer": {
            "accessContainerId": assignment.group_id,
            "accessContainerType": "securityGroup",
        },
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in assignment.role_ids]},
    }


def create_assignment(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _gdap_gate(cloud, req, write=True)
    if refused is not None:
        return refused
    rel = _relationship(cloud, req, match["id"])
    if isinstance(rel, Reply):
        return rel
    if rel.status not in ("active", "expiring"):
        return _error(
            req,
            400,
            "badRequest",
            f"Access assignments need an active relationship; this one is '{rel.status}'.",
        )
    body = req.json
    group_id = body["accessContainer"]["accessContainerId"]
    roles = [r["roleDefinitionId"] for r in body["accessDetails"]["unifiedRoles"]]
    if group_id not in cloud.groups:
        return _error(
            req,
            400,
            "badRequest",
            f"The security group '{group_id}' was not found in the partner tenant.",
        )
    outside = [r for r in roles if r not in rel.role_ids]
    if outside:
        return _error(
            req,
            400,
            "badRequest",
            f"The role '{outside[0]}' is not among the roles of the relationship: access "
            "assignments can only use roles the customer approved.",
        )
    for existing in rel.assignments.values():
        if existing.group_id == group_id and existing.status not in ("deleted", "deleting"):
            return _error(req, 409, "conflict", "The resource already exists.")
    now = cloud.clock.now()
    assignment = Assignment(
        id=str(uuid.uuid4()),
        group_id=group_id,
        role_ids=roles,
        status="pending",
        created_at=now,
        modified_at=now,
        stuck=cloud.stuck_assignments,
        fails=cloud.failing_assignments,
    )
    rel.assignments[assignment.id] = assignment
    cloud.queue_assignment_event("granular-admin-access-assignment-created", rel, assignment)
    entity = assignment_json(assignment)
    entity["@odata.context"] = (
        f"{cloud.graph_url}/v1.0/tenantRelationships/$metadata#accessAssignments"
    )
    location = f"{cloud.graph_url}{BASE}/{rel.id}/accessAssignments/{assignment.id}"
    return _ok(201, entity, {"Location": location})


def list_assignments(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _gdap_gate(cloud, req, write=False)
    if refused is not None:
        return refused
    rel = _relationship(cloud, req, match["id"])
    if isinstance(rel, Reply):
        return rel
    entities = [assignment_json(a) for a in rel.assignments.values()]
    if "$filter" in req.query:
        found = re.fullmatch(r"\s*status\s+eq\s+'(\w+)'\s*", req.query["$filter"])
        if not found:
            return _error(req, 400, "badRequest", f"Invalid filter clause: {req.query['$filter']}")
        entities = [e for e in entities if e["status"] == found[1]]
    context = (
        f"{cloud.graph_url}/v1.0/$metadata#tenantRelationships/"
        f"delegatedAdminRelationships('{rel.id}')/accessAssignments"
    )
    return _ok(200, {"@odata.context": context, "value": entities})


def get_assignment(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _gdap_gate(cloud, req, write=False)
    if refused is not None:
        return refused
    rel = _relationship(cloud, req, match["id"])
    if isinstance(rel, Reply):
        return rel
    assignment = rel.assignments.get(match["assignment"])
    if assignment is None:
        return _error(
            req,
            404,
            "Request_ResourceNotFound",
            f"The delegatedAdminAccessAssignment with id '{match['assignment']}' was not found.",
        )
    entity = assignment_json(assignment)
    entity["@odata.context"] = _entity_context(cloud, "accessAssignments")
    return _ok(200, entity, {"ETag": assignment.etag})


def list_customers(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    """Customers with at least one active relationship (a cheap "is it managed" check)."""
    refused = _gdap_gate(cloud, req, write=False)
    if refused is not None:
        return refused
    managed: dict[str, dict[str, Any]] = {}
    for rel in cloud.relationships.values():
        if rel.status in ("active", "expiring") and rel.customer_tenant_id:
            managed.setdefault(
                rel.customer_tenant_id,
                {
                    "@odata.type": "#microsoft.graph.delegatedAdminCustomer",
                    "id": rel.customer_tenant_id,
                    "tenantId": rel.customer_tenant_id,
                    "displayName": rel.customer_name or "",
                },
            )
    context = f"{cloud.graph_url}/v1.0/$metadata#tenantRelationships/delegatedAdminCustomers"
    return _ok(200, {"@odata.context": context, "value": list(managed.values())})


# -- directory reads the doctor makes --------------------------------------------------------


def service_principals(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req, *APPLICATION_READ)
    if refused is not None:
        return refused
    wanted = re.fullmatch(r"\s*appId\s+eq\s+'([^']*)'\s*", req.query.get("$filter", ""))
    if not wanted:
        return _error(
            req, 400, "Request_UnsupportedQuery", "Unsupported query: filter on appId eq '…'."
        )
    value = []
    if wanted[1] == PCDA_APP_ID and cloud.service_principal_provisioned:
        value.append(
            {
                "id": cloud.pcda_service_principal_id,
                "appId": PCDA_APP_ID,
                "displayName": "Partner Customer Delegated Administration",
                "servicePrincipalType": "Application",
                "accountEnabled": True,
            }
        )
    context = f"{cloud.graph_url}/v1.0/$metadata#servicePrincipals"
    return _ok(200, {"@odata.context": context, "value": value})


def get_group(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    refused = _authorize(cloud, req, *GROUP_READ)
    if refused is not None:
        return refused
    name = cloud.groups.get(match["id"])
    if name is None:
        return _error(
            req,
            404,
            "Request_ResourceNotFound",
            f"Resource '{match['id']}' does not exist or one of its queried reference-property "
            "objects are not present.",
        )
    return _ok(
        200,
        {
            "@odata.context": f"{cloud.graph_url}/v1.0/$metadata#groups/$entity",
            "id": match["id"],
            "displayName": name,
            "securityEnabled": True,
            "mailEnabled": False,
            "groupTypes": [],
        },
    )


def send_mail(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    """The Graph mail backend on the same GRAPH_URL: application permission Mail.Send."""
    refused = _authorize(cloud, req, MAIL_SEND)
    if refused is not None:
        return refused
    cloud.sent_mail.append((unquote(match["mailbox"]), req.json))
    return _ok(202)


REL = BASE + r"/(?P<id>[0-9a-fA-F-]+)"
ROUTES: list[Route] = [
    route(
        "GET",
        r"/v1\.0/tenantRelationships/findTenantInformationByDomainName"
        r"\(domainName='(?P<domain>(?:[^']|'')*)'\)",
        find_tenant,
    ),
    route("POST", BASE, create_relationship, "gdap-create.request"),
    route("GET", BASE, list_relationships),
    route("GET", REL, get_relationship),
    route("PATCH", REL, update_relationship, "gdap-update.request"),
    route("DELETE", REL, delete_relationship),
    route("POST", REL + "/requests", create_request, "gdap-request.request"),
    route("GET", REL + "/requests", list_requests),
    route("GET", REL + r"/requests/(?P<request>[0-9a-fA-F-]+)", get_request),
    route("POST", REL + "/accessAssignments", create_assignment, "gdap-access-assignment.request"),
    route("GET", REL + "/accessAssignments", list_assignments),
    route("GET", REL + r"/accessAssignments/(?P<assignment>[0-9a-fA-F-]+)", get_assignment),
    route("GET", r"/v1\.0/tenantRelationships/delegatedAdminCustomers", list_customers),
    route("GET", r"/v1\.0/servicePrincipals", service_principals),
    route("GET", r"/v1\.0/groups/(?P<id>[^/]+)", get_group),
    route("POST", r"/v1\.0/users/(?P<mailbox>[^/]+)/sendMail", send_mail, "graph-sendmail.request"),
]
