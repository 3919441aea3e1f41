"""The Microsoft fake talks like Microsoft: msal's real token code gets tokens from it (secret,
certificate, device code), Graph and Partner Center answer with the reference's bodies and
status codes, faults arrive as scripted, request bodies are held to tests/schemas, and the
webhooks it sends verify the way Microsoft's sample verifies them."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import msal
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from adapters.clock import FixedClock
from tests.fakes.microsoft_cloud import MicrosoftCloud, schemas
from tests.fakes.microsoft_cloud.fixtures import microsoft_cloud  # noqa: F401 - the fixture

GRAPH = "https://graph.microsoft.com/.default"
PC = "https://api.partnercenter.microsoft.com/.default"
GA = "62e90394-69f5-4237-9190-012177145e10"
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
RELATIONSHIPS = "/v1.0/tenantRelationships/delegatedAdminRelationships"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def cloud(microsoft_cloud: MicrosoftCloud) -> MicrosoftCloud:  # noqa: F811
    return microsoft_cloud


@pytest.fixture
def http(cloud: MicrosoftCloud) -> Iterator[httpx.Client]:
    with httpx.Client(verify=cloud.ssl_context(), timeout=10) as client:
        yield client


def confidential_app(
    cloud: MicrosoftCloud, http: httpx.Client, credential: Any
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        cloud.client_id,
        authority=f"{cloud.login_url}/{cloud.partner_tenant_id}",
        client_credential=credential,
        http_client=http,
        instance_discovery=False,
    )


def msal_certificate(pem: str, thumbprint: str = "sha256") -> dict[str, str]:
    """msal's certificate credential: with the certificate, msal sends x5t#S256 and PS256;
    with a SHA-1 thumbprint, the legacy x5t and RS256."""
    certificate = pem[pem.index("-----BEGIN CERTIFICATE-----") :]
    if thumbprint == "sha256":
        return {"private_key": pem, "public_certificate": certificate}
    cert = x509.load_pem_x509_certificate(certificate.encode())
    return {"private_key": pem, "thumbprint": cert.fingerprint(hashes.SHA1()).hex()}


def requests_session(cloud: MicrosoftCloud) -> requests.Session:
    """msal's default HTTP client trusting the fake (trust_env off: requests lets
    REQUESTS_CA_BUNDLE override a session's `verify`)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(cloud.ca_bundle)
    return session


def app_token(cloud: MicrosoftCloud, http: httpx.Client, scope: str = GRAPH) -> str:
    result = confidential_app(cloud, http, cloud.client_secret).acquire_token_for_client([scope])
    assert "access_token" in result, result
    return str(result["access_token"])


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


class Api:
    """A bearer-token client for one fake host, as the live adapter calls it."""

    def __init__(self, http: httpx.Client, base: str, token: str) -> None:
        self.http, self.base, self.token = http, base, token

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.http.request(method, self.base + path, headers=headers, **kwargs)


@pytest.fixture
def graph(cloud: MicrosoftCloud, http: httpx.Client) -> Api:
    return Api(http, cloud.graph_url, app_token(cloud, http, GRAPH))


@pytest.fixture
def pc(cloud: MicrosoftCloud, http: httpx.Client) -> Api:
    return Api(http, cloud.partner_center_url, app_token(cloud, http, PC))


def gdap_body(name: str, tenant_id: str, roles: list[str], auto_extend: str = "P180D") -> dict:
    return {
        "displayName": name,
        "duration": "P730D",
        "customer": {"tenantId": tenant_id, "displayName": "ABC Technologies"},
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in roles]},
        "autoExtendDuration": auto_extend,
    }


def active_relationship(cloud: MicrosoftCloud, graph: Api, clock: FixedClock) -> str:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    created = graph(
        "POST", RELATIONSHIPS, json=gdap_body("abc-gdap", tenant_id, [HELPDESK, USER_ADMIN])
    )
    rel_id = created.json()["id"]
    graph("POST", f"{RELATIONSHIPS}/{rel_id}/requests", json={"action": "lockForApproval"})
    cloud.approve_gdap(rel_id)
    clock.advance(minutes=2)
    return str(rel_id)


# -- login: msal's real token code -----------------------------------------------------------


def test_msal_gets_an_app_only_graph_token_with_the_client_secret(
    cloud: MicrosoftCloud, http: httpx.Client
) -> None:
    result = confidential_app(cloud, http, cloud.client_secret).acquire_token_for_client([GRAPH])

    token = claims(result["access_token"])
    assert token["aud"] == "https://graph.microsoft.com"
    assert token["tid"] == cloud.partner_tenant_id
    assert token["appid"] == cloud.client_id
    assert set(token["roles"]) == {
        "DelegatedAdminRelationship.ReadWrite.All",
        "CrossTenantInformation.ReadBasic.All",
        "GroupMember.Read.All",
    }
    assert result["expires_in"] == 3600


@pytest.mark.parametrize("thumbprint", ["sha256", "sha1"])
def test_msal_gets_a_partner_center_token_with_a_certificate_assertion(
    cloud: MicrosoftCloud, http: httpx.Client, thumbprint: str
) -> None:
    credential = msal_certificate(cloud.client_certificate_pem, thumbprint)

    app = msal.ConfidentialClientApplication(  # msal's own HTTP session, trusting the fake
        cloud.client_id,
        authority=f"{cloud.login_url}/{cloud.partner_tenant_id}",
        client_credential=credential,
        http_client=requests_session(cloud),
        instance_discovery=False,
    )
    result = app.acquire_token_for_client([PC])

    assert claims(result["access_token"])["aud"] == "https://api.partnercenter.microsoft.com"
    (token_request,) = cloud.requests_to("POST", r"/oauth2/v2\.0/token$")
    assert "client_secret" not in token_request.form
    header = jwt.get_unverified_header(token_request.form["client_assertion"])
    assert ("x5t#S256" in header) == (thumbprint == "sha256")


def test_an_assertion_stringified_by_httpx_is_malformed_as_entra_says(
    cloud: MicrosoftCloud, http: httpx.Client
) -> None:
    """msal hands the assertion over as bytes; httpx's `data=` turns them into "b'...'"."""
    credential = msal_certificate(cloud.client_certificate_pem)
    result = confidential_app(cloud, http, credential).acquire_token_for_client([GRAPH])
    assert result["error"] == "invalid_request"
    assert result["error_description"].startswith("AADSTS50027")
    assert "bytes literal" in result["error_description"]


def test_a_wrong_secret_or_an_unregistered_certificate_is_refused_as_entra_does(
    cloud: MicrosoftCloud, http: httpx.Client
) -> None:
    wrong_secret = confidential_app(cloud, http, "not-the-secret").acquire_token_for_client([GRAPH])
    assert wrong_secret["error"] == "invalid_client"
    assert wrong_secret["error_description"].startswith("AADSTS7000215: Invalid client secret")

    other = msal_certificate(cloud.new_certificate_pem())
    unregistered = msal.ConfidentialClientApplication(
        cloud.client_id,
        authority=f"{cloud.login_url}/{cloud.partner_tenant_id}",
        client_credential=other,
        http_client=requests_session(cloud),
        instance_discovery=False,
    ).acquire_token_for_client([GRAPH])
    assert unregistered["error"] == "invalid_client"
    assert unregistered["error_description"].startswith("AADSTS700027")


def test_a_token_request_for_another_tenant_or_a_scope_without_default_is_refused(
    cloud: MicrosoftCloud, http: httpx.Client
) -> None:
    url = f"{cloud.login_url}/{cloud.partner_tenant_id}/oauth2/v2.0/token"
    form = {
        "grant_type": "client_credentials",
        "client_id": cloud.client_id,
        "client_secret": cloud.client_secret,
    }
    no_default = http.post(url, data={**form, "scope": "https://graph.microsoft.com/User.Read"})
    assert no_default.status_code == 400
    assert no_default.json()["error"] == "invalid_scope"

    tenant_id = cloud.add_tenant("abctech.com", "ABC")
    elsewhere = http.post(
        url.replace(cloud.partner_tenant_id, tenant_id), data={**form, "scope": GRAPH}
    )
    assert elsewhere.status_code == 400
    assert elsewhere.json()["error_description"].startswith("AADSTS700016")


def test_the_device_code_sign_in_waits_for_the_human_then_reads_the_reseller_link(
    cloud: MicrosoftCloud, http: httpx.Client
) -> None:
    app = msal.PublicClientApplication(
        cloud.client_id,
        authority=f"{cloud.login_url}/{cloud.partner_tenant_id}",
        http_client=http,
        instance_discovery=False,
    )
    flow = app.initiate_device_flow(["https://api.partnercenter.microsoft.com/user_impersonation"])
    assert flow["user_code"] == cloud.device_user_code()
    assert flow["user_code"] in flow["message"]
    result: dict[str, Any] = {}
    polling = threading.Thread(target=lambda: result.update(app.acquire_token_by_device_flow(flow)))
    polling.start()
    while not any(r.status == 400 for r in cloud.requests_to("POST", "/token$")):
        time.sleep(0.05)  # msal has polled once and was told authorization_pending
    cloud.complete_device_sign_in(mfa=True)
    polling.join(timeout=10)

    pending = cloud.requests_to("POST", "/token$")[0]
    assert pending.status == 400
    assert claims(result["access_token"])["amr"] == ["pwd", "mfa"]
    link = Api(http, cloud.partner_center_url, result["access_token"])(
        "GET", "/v1/customers/relationshiprequests"
    )
    assert link.status_code == 200
    assert link.json() == {
        "url": cloud.reseller_link,
        "attributes": {"objectType": "RelationshipRequest"},
    }
    assert app.get_accounts()[0]["username"] == "onboarding-service@partner.example"


def test_without_mfa_partner_center_refuses_the_user_token_with_900421(
    cloud: MicrosoftCloud, http: httpx.Client
) -> None:
    app = msal.PublicClientApplication(
        cloud.client_id,
        authority=f"{cloud.login_url}/{cloud.partner_tenant_id}",
        http_client=http,
        instance_discovery=False,
    )
    flow = app.initiate_device_flow([PC])
    cloud.complete_device_sign_in(mfa=False)
    result = app.acquire_token_by_device_flow(flow)

    refused = Api(http, cloud.partner_center_url, result["access_token"])(
        "GET", "/v1/customers/relationshiprequests"
    )
    assert refused.status_code == 401
    assert refused.json()["code"] == 900421


def test_the_reseller_link_needs_a_user_an_app_only_token_is_refused(pc: Api) -> None:
    refused = pc("GET", "/v1/customers/relationshiprequests")
    assert refused.status_code == 403
    assert set(refused.json()) == {"code", "description", "data", "source"}


# -- Graph -----------------------------------------------------------------------------------


def test_the_tenant_of_a_domain_is_found_and_an_unknown_domain_is_404(
    cloud: MicrosoftCloud, graph: Api
) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    lookup = "/v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='{}')"

    found = graph("GET", lookup.format("ABCTECH.com"))
    missing = graph("GET", lookup.format("nobody.example"))

    assert found.status_code == 200
    assert found.json()["tenantId"] == tenant_id
    assert found.json()["defaultDomainName"] == "abctech.onmicrosoft.com"
    assert missing.status_code == 404
    assert set(missing.json()["error"]) == {"code", "message", "innerError"}


def test_a_created_relationship_has_microsofts_shape(cloud: MicrosoftCloud, graph: Api) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")

    created = graph("POST", RELATIONSHIPS, json=gdap_body("abc-gdap", tenant_id, [HELPDESK]))

    body = created.json()
    assert created.status_code == 201
    assert created.headers["Location"] == f"{cloud.graph_url}{RELATIONSHIPS}/{body['id']}"
    assert body["status"] == "created"
    assert body["activatedDateTime"] == ""
    assert body["@odata.etag"].startswith('W/"')
    assert len(body["id"]) == 73  # two GUIDs joined by "-"
    assert body["customer"] == {"tenantId": tenant_id, "displayName": "ABC Technologies"}


def test_a_duplicate_display_name_gets_409_with_an_odata_body(
    cloud: MicrosoftCloud, graph: Api
) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    graph("POST", RELATIONSHIPS, json=gdap_body("abc-gdap", tenant_id, [HELPDESK]))

    again = graph("POST", RELATIONSHIPS, json=gdap_body("ABC-gdap", tenant_id, [HELPDESK]))

    assert again.status_code == 409
    assert "already exists" in again.json()["error"]["message"]
    found = graph("GET", RELATIONSHIPS, params={"$filter": "displayName eq 'abc-gdap'"})
    assert [r["displayName"] for r in found.json()["value"]] == ["abc-gdap"]


def test_global_administrator_with_p180d_gets_400_and_breaks_the_schema(
    cloud: MicrosoftCloud, graph: Api
) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")

    refused = graph("POST", RELATIONSHIPS, json=gdap_body("abc-ga", tenant_id, [GA], "P180D"))
    allowed = graph("POST", RELATIONSHIPS, json=gdap_body("abc-ga", tenant_id, [GA], "PT0S"))

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "badRequest"
    assert allowed.status_code == 201
    assert len(cloud.schema_errors) == 1
    assert "autoExtendDuration" in cloud.schema_errors[0]
    cloud.schema_errors.clear()  # sent on purpose


def test_patch_and_delete_need_the_current_etag(cloud: MicrosoftCloud, graph: Api) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    created = graph("POST", RELATIONSHIPS, json=gdap_body("abc-gdap", tenant_id, [HELPDESK])).json()
    url = f"{RELATIONSHIPS}/{created['id']}"

    stale = graph("PATCH", url, json={"duration": "P30D"}, headers={"If-Match": 'W/"old"'})
    updated = graph(
        "PATCH", url, json={"duration": "P30D"}, headers={"If-Match": created["@odata.etag"]}
    )
    gone_stale = graph("DELETE", url, headers={"If-Match": created["@odata.etag"]})
    deleted = graph("DELETE", url, headers={"If-Match": updated.json()["@odata.etag"]})

    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "preconditionFailed"
    assert updated.status_code == 200
    assert updated.json()["duration"] == "P30D"
    assert updated.json()["@odata.etag"] != created["@odata.etag"]
    assert gone_stale.status_code == 412
    assert deleted.status_code == 204
    assert graph("GET", url).status_code == 404


def test_the_status_moves_with_the_clock_from_lock_to_active(
    cloud: MicrosoftCloud, graph: Api, clock: FixedClock
) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    created = graph("POST", RELATIONSHIPS, json=gdap_body("abc-gdap", tenant_id, [HELPDESK])).json()
    url = f"{RELATIONSHIPS}/{created['id']}"

    lock = graph("POST", f"{url}/requests", json={"action": "lockForApproval"})
    seen = [graph("GET", url).json()["status"], graph("GET", url).json()["status"]]
    cloud.approve_gdap(created["id"])
    for _ in range(3):
        seen.append(graph("GET", url).json()["status"])
        clock.advance(minutes=1)
    active = graph("GET", url).json()

    assert lock.status_code == 201
    assert lock.headers["Location"].startswith(f"{cloud.graph_url}{url}/requests/")
    assert seen == ["created", "approvalPending", "approved", "activating", "active"]
    assert active["activatedDateTime"] == "2026-12-01T09:02:00.0000000Z"
    assert active["endDateTime"] == "2028-11-30T09:02:00.0000000Z"  # 730 days (2028 is a leap year)


def test_an_unapproved_request_expires_after_90_days_and_active_ones_end_or_extend(
    cloud: MicrosoftCloud, graph: Api, clock: FixedClock
) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    waiting = graph("POST", RELATIONSHIPS, json=gdap_body("waits", tenant_id, [HELPDESK])).json()
    graph("POST", f"{RELATIONSHIPS}/{waiting['id']}/requests", json={"action": "lockForApproval"})
    extended = graph("POST", RELATIONSHIPS, json=gdap_body("extends", tenant_id, [HELPDESK])).json()
    ends = graph("POST", RELATIONSHIPS, json=gdap_body("ends", tenant_id, [GA], "PT0S")).json()
    for rel in (extended, ends):
        graph("POST", f"{RELATIONSHIPS}/{rel['id']}/requests", json={"action": "lockForApproval"})
        cloud.approve_gdap(rel["id"])

    clock.advance(days=90)
    assert cloud.gdap_status(waiting["id"]) == "expired"
    clock.advance(days=731)
    graph = Api(graph.http, cloud.graph_url, app_token(cloud, graph.http))  # the old one expired

    assert graph("GET", f"{RELATIONSHIPS}/{ends['id']}").json()["status"] == "expired"
    kept = graph("GET", f"{RELATIONSHIPS}/{extended['id']}").json()
    assert kept["status"] == "active"
    assert kept["endDateTime"] == "2029-05-29T09:02:00.0000000Z"  # 730 days + 180


def test_lists_filter_by_status_and_page_with_next_link(cloud: MicrosoftCloud, graph: Api) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    for n in range(5):
        graph("POST", RELATIONSHIPS, json=gdap_body(f"rel-{n}", tenant_id, [HELPDESK]))

    first = graph(
        "GET", RELATIONSHIPS, params={"$filter": "status eq 'created'", "$top": "2"}
    ).json()
    names = [r["displayName"] for r in first["value"]]
    link = first.get("@odata.nextLink")
    while link:
        page = graph.http.get(link, headers={"Authorization": f"Bearer {graph.token}"}).json()
        names += [r["displayName"] for r in page["value"]]
        link = page.get("@odata.nextLink")

    assert names == [f"rel-{n}" for n in range(5)]
    bad = graph("GET", RELATIONSHIPS, params={"$filter": "startswith(displayName,'r')"})
    assert bad.status_code == 400


def test_access_assignments_go_active_a_duplicate_group_is_409_and_stuck_stays_pending(
    cloud: MicrosoftCloud, graph: Api, clock: FixedClock
) -> None:
    rel_id = active_relationship(cloud, graph, clock)
    helpdesk_group, users_group = list(cloud.groups)
    url = f"{RELATIONSHIPS}/{rel_id}/accessAssignments"

    def assign(group: str, role: str) -> httpx.Response:
        body = {
            "accessContainer": {"accessContainerId": group, "accessContainerType": "securityGroup"},
            "accessDetails": {"unifiedRoles": [{"roleDefinitionId": role}]},
        }
        return graph("POST", url, json=body)

    created = assign(helpdesk_group, HELPDESK)
    duplicate = assign(helpdesk_group, HELPDESK)
    cloud.stuck_assignments = True
    stuck = assign(users_group, USER_ADMIN)
    outside = assign(users_group, GA)
    clock.advance(minutes=5)

    assert created.status_code == 201
    assert created.json()["status"] == "pending"
    assert created.headers["Location"].endswith(created.json()["id"])
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "conflict"
    assert outside.status_code == 400
    statuses = {a["id"]: a["status"] for a in graph("GET", url).json()["value"]}
    assert statuses == {created.json()["id"]: "active", stuck.json()["id"]: "pending"}
    assert graph("GET", f"{url}/{created.json()['id']}").json()["status"] == "active"


def test_gdap_is_403_without_the_service_principal_or_the_permission(
    cloud: MicrosoftCloud, graph: Api, http: httpx.Client
) -> None:
    sp_filter = {"$filter": "appId eq '2832473f-ec63-45fb-976f-5d45a7d4bb91'"}
    not_granted = graph("GET", "/v1.0/servicePrincipals", params=sp_filter)
    cloud.granted_permissions.add("Application.Read.All")
    graph = Api(http, cloud.graph_url, app_token(cloud, http))
    assert not_granted.status_code == 403  # reading service principals: Application.Read.All
    assert len(graph("GET", "/v1.0/servicePrincipals", params=sp_filter).json()["value"]) == 1

    cloud.service_principal_provisioned = False
    no_sp = graph("GET", RELATIONSHIPS)
    assert graph("GET", "/v1.0/servicePrincipals", params=sp_filter).json()["value"] == []
    cloud.service_principal_provisioned = True
    cloud.granted_permissions.discard("DelegatedAdminRelationship.ReadWrite.All")
    without_permission = Api(http, cloud.graph_url, app_token(cloud, http))("GET", RELATIONSHIPS)

    assert no_sp.status_code == 403
    assert "2832473f-ec63-45fb-976f-5d45a7d4bb91" in no_sp.json()["error"]["message"]
    assert without_permission.status_code == 403
    assert without_permission.json()["error"]["code"] == "Authorization_RequestDenied"


def test_an_expired_or_revoked_token_gets_401_with_www_authenticate(
    cloud: MicrosoftCloud, graph: Api, http: httpx.Client, clock: FixedClock
) -> None:
    clock.advance(hours=1)
    expired = graph("GET", RELATIONSHIPS)
    fresh = Api(http, cloud.graph_url, app_token(cloud, http))
    assert fresh("GET", RELATIONSHIPS).status_code == 200
    cloud.revoke_tokens()
    revoked = fresh("GET", RELATIONSHIPS)
    wrong_audience = Api(http, cloud.graph_url, app_token(cloud, http, PC))("GET", RELATIONSHIPS)

    for refused in (expired, revoked, wrong_audience):
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer ")
        assert refused.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "expired" in revoked.json()["error"]["message"]


def test_groups_are_found_by_id_with_a_group_read_permission(
    cloud: MicrosoftCloud, graph: Api
) -> None:
    group_id = next(iter(cloud.groups))
    cloud.granted_permissions.discard("GroupMember.Read.All")
    assert graph("GET", f"/v1.0/groups/{group_id}").status_code == 403
    cloud.granted_permissions.add("GroupMember.Read.All")
    assert (
        graph("GET", f"/v1.0/groups/{group_id}").json()["displayName"] == "Helpdesk Administrator"
    )
    assert graph("GET", "/v1.0/groups/00000000-0000-0000-0000-000000000000").status_code == 404


# -- Partner Center --------------------------------------------------------------------------


def test_a_customer_appears_once_it_accepts_without_the_dap_only_fields(
    cloud: MicrosoftCloud, pc: Api
) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    before = pc("GET", f"/v1/customers/{tenant_id}", headers={"MS-RequestId": "req-1"})
    cloud.accept_reseller("abctech.com", email="it@abctech.com", country="GB", first_name="Jo")
    customer = pc("GET", f"/v1/customers/{tenant_id}").json()
    billing = pc("GET", f"/v1/customers/{tenant_id}/profiles/billing").json()
    search = pc(
        "GET",
        "/v1/customers",
        params={
            "size": "100",
            "filter": json.dumps(
                {"Field": "Domain", "Value": "abctech", "Operator": "starts_with"}
            ),
        },
    ).json()

    assert before.status_code == 404
    assert set(before.json()) == {"code", "description", "data", "source"}
    assert before.headers["MS-RequestId"] == "req-1"
    assert cloud.requests_to("GET", tenant_id)[0].headers["MS-RequestId"] == "req-1"
    assert customer["companyProfile"]["tenantId"] == tenant_id
    assert customer["companyProfile"]["domain"] == "abctech.onmicrosoft.com"
    assert "address" not in customer["companyProfile"]
    assert "email" not in customer["companyProfile"]
    assert "customDomains" not in customer
    assert billing["email"] == "it@abctech.com"
    assert billing["defaultAddress"]["country"] == "GB"
    assert billing["defaultAddress"]["firstName"] == "Jo"
    assert [c["id"] for c in search["items"]] == [tenant_id]


def test_partner_center_refuses_an_app_it_does_not_know(cloud: MicrosoftCloud, pc: Api) -> None:
    cloud.partner_center_app_registered = False
    refused = pc("GET", "/v1/customers")
    assert refused.status_code == 401
    assert "not registered in Partner Center" in refused.json()["description"]


def transfer_body(source: str) -> dict[str, Any]:
    return {
        "sourcePartnerTenantId": source,
        "sourcePartnerName": "Old Partner Ltd",
        "customerEmailId": "it@abctech.com",
        "customerName": "ABC Technologies",
        "targetProductTypes": None,
        "transferType": 5,
    }


def test_a_transfer_is_created_read_and_cancelled_only_while_pending(
    cloud: MicrosoftCloud, pc: Api
) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    cloud.accept_reseller("abctech.com", email="it@abctech.com")
    source = "11111111-2222-4333-8444-555555555555"
    url = f"/v1/customers/{tenant_id}/transfers"

    created = pc("POST", url, json=transfer_body(source))
    second = pc("POST", url, json=transfer_body(source))
    transfer = pc("GET", f"{url}/{created.json()['id']}").json()
    cancelled = pc("PATCH", f"{url}/{transfer['id']}", json={**transfer, "status": "Cancel"})
    again = pc("PATCH", f"{url}/{transfer['id']}", json={**transfer, "status": "Cancel"})

    assert created.status_code == 201
    assert created.json()["status"] == "Active"
    assert created.json()["expirationTime"] == "2026-12-31T09:00:00.0000000Z"
    assert second.status_code == 409
    assert second.json()["code"] == 900101
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "Cancel"
    assert again.status_code == 409
    assert [t["id"] for t in pc("GET", url).json()["items"]] == [transfer["id"]]


def test_only_the_creator_cancels_and_the_source_cannot_be_ourselves(
    cloud: MicrosoftCloud, pc: Api
) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    cloud.accept_reseller("abctech.com", email="it@abctech.com")
    theirs = cloud.start_other_transfer(tenant_id)
    url = f"/v1/customers/{tenant_id}/transfers"

    read = pc("GET", f"{url}/{theirs}").json()
    refused = pc("PATCH", f"{url}/{theirs}", json={**read, "status": "Cancel"})
    ourselves = pc("POST", url, json=transfer_body(cloud.partner_tenant_id))

    assert refused.status_code == 403
    assert ourselves.status_code == 400
    assert ourselves.json()["code"] == 900148


def test_the_current_partner_accepts_or_declines(cloud: MicrosoftCloud, pc: Api) -> None:
    for domain, decide in (("a.example", "accept"), ("b.example", "decline")):
        tenant_id = cloud.add_tenant(domain, domain)
        cloud.accept_reseller(domain, email=f"it@{domain}")
        url = f"/v1/customers/{tenant_id}/transfers"
        created = pc("POST", url, json=transfer_body("11111111-2222-4333-8444-555555555555")).json()
        if decide == "accept":
            cloud.accept_transfer(created["id"])
        else:
            cloud.decline_transfer(created["id"], "The customer's subscriptions are on hold.")
        read = pc("GET", f"{url}/{created['id']}").json()
        if decide == "accept":
            assert read["status"] == "Completed"
            assert read["completedTime"]
        else:
            assert read["status"] == "Failed"
            assert (
                read["lineItems"][0]["transferError"] == "The customer's subscriptions are on hold."
            )


# -- faults ----------------------------------------------------------------------------------


def test_a_scripted_429_comes_with_partner_centers_body_and_retry_after(
    cloud: MicrosoftCloud, pc: Api
) -> None:
    cloud.fail("GET", r"/v1/customers$", 429, times=2, retry_after=3)

    answers = [pc("GET", "/v1/customers") for _ in range(3)]

    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "3"
    assert answers[0].json() == {
        "statusCode": 429,
        "message": "Rate limit is exceeded. Try again in 3 seconds.",
    }


def test_a_scripted_503_on_graph_is_an_odata_error_with_retry_after(
    cloud: MicrosoftCloud, graph: Api
) -> None:
    cloud.fail("POST", r"/delegatedAdminRelationships$", 503)
    refused = graph("POST", RELATIONSHIPS, json={})
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["error"]["code"] == "ServiceUnavailable"


def test_a_stall_makes_the_client_time_out_then_answers_normally(
    cloud: MicrosoftCloud, pc: Api
) -> None:
    cloud.stall("GET", r"/v1/customers", seconds=2)
    with pytest.raises(httpx.ReadTimeout):
        pc("GET", "/v1/customers", timeout=0.3)
    assert pc("GET", "/v1/customers").status_code == 200


def test_slow_bodies_arrive_chunked_and_whole(cloud: MicrosoftCloud, graph: Api) -> None:
    cloud.add_tenant("abctech.com", "ABC Technologies")
    cloud.slow_bodies = True
    answer = graph(
        "GET",
        "/v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='abctech.com')",
    )
    assert answer.headers["Transfer-Encoding"] == "chunked"
    assert answer.json()["displayName"] == "ABC Technologies"


# -- schemas ---------------------------------------------------------------------------------


def test_every_schema_is_valid_and_says_where_it_comes_from() -> None:
    files = sorted(schemas.SCHEMAS.glob("*.json"))
    assert {p.stem for p in files} >= {
        "gdap-create.request",
        "gdap-update.request",
        "gdap-request.request",
        "gdap-access-assignment.request",
        "pc-transfer-create.request",
        "pc-transfer-update.request",
        "pc-webhook-registration.request",
        "pc-webhook-event",
    }
    for path in files:
        document = json.loads(path.read_text())
        assert document["$id"] == path.stem
        assert len(document["$comment"]) > 80, path.name


def test_microsofts_own_examples_pass_and_typos_fail() -> None:
    example = {  # learn.microsoft.com tenantrelationship-post-delegatedadminrelationships
        "displayName": "Contoso admin relationship",
        "duration": "P730D",
        "customer": {
            "tenantId": "4b827261-d21f-4aa9-b7db-7fa1f56fb163",
            "displayName": "Contoso subsidiary Inc",
        },
        "accessDetails": {
            "unifiedRoles": [
                {"roleDefinitionId": "29232cdf-9323-42fd-ade2-1d097af3e4de"},
                {"roleDefinitionId": "3a2c62db-5318-420d-8d74-23affee5d9d5"},
            ]
        },
        "autoExtendDuration": "P180D",
    }
    assert schemas.problems("gdap-create.request", example) == []
    assert schemas.problems("gdap-create.request", {**example, "duration": "P731D"})
    assert schemas.problems("gdap-create.request", {**example, "autoExtend": "P180D"})
    assert schemas.problems(
        "pc-webhook-registration.request", {"WebhookUrl": "http://x", "WebhookEvents": ["a"]}
    )


def test_a_body_that_breaks_its_schema_is_answered_400_and_recorded(
    cloud: MicrosoftCloud, pc: Api
) -> None:
    refused = pc(
        "POST",
        "/webhooks/v1/registration",
        json={"WebhookUrl": "https://bot.example/webhooks/partner-center", "WebhookEvents": []},
    )
    assert refused.status_code == 400
    assert cloud.schema_errors == [
        "POST /webhooks/v1/registration (pc-webhook-registration.request) .WebhookEvents: "
        "[] should be non-empty"
    ]
    cloud.schema_errors.clear()  # sent on purpose


# -- webhooks --------------------------------------------------------------------------------


class Receiver:
    """A webhook endpoint that verifies like Microsoft's sample (§6.4), for the fake's test."""

    def __init__(self, cloud: MicrosoftCloud) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.got: list[tuple[dict[str, str], bytes]] = []
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.append((dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/partner-center"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(cloud: MicrosoftCloud) -> Iterator[Receiver]:
    found = Receiver(cloud)
    threading.Thread(target=found.server.serve_forever, daemon=True).start()
    yield found
    found.close()


def verify(cloud: MicrosoftCloud, headers: dict[str, str], body: bytes) -> x509.Certificate:
    """Microsoft's algorithm: fetch the certificate, check its chain to a trusted root and that
    its Issuer holds O=Microsoft Corporation, then RSA-SHA256 over the body."""
    lower = {k.lower(): v for k, v in headers.items()}
    value = lower.get("authorization") or lower["x-ms-signature"]
    scheme, _, signature = value.partition(" ")
    assert scheme == "Signature"
    assert lower["x-ms-signature-algorithm"] == "rsa-sha256"
    der = httpx.get(lower["x-ms-certificate-url"], verify=cloud.ssl_context()).content
    leaf = x509.load_der_x509_certificate(der)
    roots = x509.load_pem_x509_certificates(Path(cloud.ca_bundle).read_bytes())
    issuer = next(r for r in roots if r.subject == leaf.issuer)
    leaf.verify_directly_issued_by(issuer)
    leaf.public_key().verify(base64.b64decode(signature), body, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr, call-arg, arg-type]
    return leaf


def test_events_are_queued_for_the_subscribed_names_and_delivered_signed(
    cloud: MicrosoftCloud, pc: Api, graph: Api, clock: FixedClock, receiver: Receiver
) -> None:
    registered = pc(
        "POST",
        "/webhooks/v1/registration",
        json={
            "WebhookUrl": "https://bot.example/webhooks/partner-center",
            "WebhookEvents": [
                "reseller-relationship-accepted-by-customer",
                "granular-admin-relationship-approved",
                "granular-admin-relationship-activated",
                "create-transfer",
            ],
        },
    )
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    cloud.accept_reseller("abctech.com", email="it@abctech.com")
    transfer = pc(
        "POST",
        f"/v1/customers/{tenant_id}/transfers",
        json=transfer_body("11111111-2222-4333-8444-555555555555"),
    ).json()
    rel_id = active_relationship(cloud, graph, clock)

    statuses = cloud.deliver_webhooks(to=receiver.url)

    assert registered.status_code == 200
    assert registered.json()["WebhookUrl"] == "https://bot.example/webhooks/partner-center"
    assert statuses == [200, 200, 200, 200]
    bodies = [json.loads(body) for _, body in receiver.got]
    for body in bodies:
        assert schemas.problems("pc-webhook-event", body) == []
    assert [b["EventName"] for b in bodies] == [
        "reseller-relationship-accepted-by-customer",
        "create-transfer",
        "granular-admin-relationship-approved",
        "granular-admin-relationship-activated",
    ]
    assert (
        bodies[0]["ResourceUri"]
        == f"https://api.partnercenter.microsoft.com/v1/customers/{tenant_id}"
    )
    assert bodies[1]["AuditUri"].split("/")[-1].split("_")[2] == transfer["id"]
    assert (
        bodies[2]["ResourceUri"]
        == f"https://partner.microsoft.com/granularAdminRelationships/{rel_id}"
    )
    for headers, body in receiver.got:
        leaf = verify(cloud, headers, body)
        assert "O=Microsoft Corporation" in leaf.issuer.rfc4514_string()
    assert cloud.queued_events == []


def test_negative_signatures_fail_microsofts_checks(cloud: MicrosoftCloud) -> None:
    body = b'{"EventName":"test-created"}'

    wrong_issuer = cloud.sign(body, chain="wrong-issuer")
    untrusted = cloud.sign(body, chain="untrusted")
    elsewhere = cloud.sign(body, cert_host=cloud.disallowed_cert_host)
    tampered = cloud.sign(body)

    leaf = verify(cloud, wrong_issuer, body)  # the chain holds: only the issuer is wrong
    assert "Microsoft" not in leaf.issuer.rfc4514_string()
    with pytest.raises(StopIteration):  # no trusted root issued it
        verify(cloud, untrusted, body)
    assert elsewhere["X-MS-Certificate-Url"].startswith(f"https://{cloud.disallowed_cert_host}/")
    verify(cloud, elsewhere, body)  # reachable and valid: only an allow-list refuses it
    from cryptography.exceptions import InvalidSignature

    with pytest.raises(InvalidSignature):
        verify(cloud, tampered, body + b" ")
    assert "x-ms-signature" in cloud.sign(body, in_ms_signature=True)


def test_the_registration_is_single_read_replaced_and_deleted(pc: Api) -> None:
    url = "/webhooks/v1/registration"
    first = {"WebhookUrl": "https://cipp.example/hook", "WebhookEvents": ["test-created"]}
    ours = {
        "WebhookUrl": "https://bot.example/webhooks/partner-center",
        "WebhookEvents": ["test-created", "create-transfer"],
    }

    none = pc("GET", url)
    created = pc("POST", url, json=first)
    twice = pc("POST", url, json=ours)
    unknown = pc("PUT", url, json={**ours, "WebhookEvents": ["customer-created"]})
    replaced = pc("PUT", url, json=ours)
    read = pc("GET", url)
    deleted = pc("DELETE", url)

    assert none.status_code == 404
    assert created.status_code == 200
    assert twice.status_code == 409
    assert unknown.status_code == 400
    assert replaced.json()["WebhookEvents"] == ["test-created", "create-transfer"]
    assert read.json()["SubscriberId"] == created.json()["SubscriberId"]
    assert deleted.status_code == 204
    assert pc("GET", url).status_code == 404
    assert "create-transfer" in pc("GET", f"{url}/events").json()


def test_a_validation_event_is_delivered_in_x_ms_signature_and_its_result_kept(
    cloud: MicrosoftCloud, pc: Api, receiver: Receiver
) -> None:
    pc(
        "POST",
        "/webhooks/v1/registration",
        json={
            "WebhookUrl": "https://bot.example/webhooks/partner-center",
            "WebhookEvents": ["test-created"],
            "SignatureTokenToMsSignatureHeader": True,
        },
    )
    correlation_id = pc("POST", "/webhooks/v1/registration/validationEvents").json()[
        "correlationId"
    ]

    assert cloud.deliver_webhooks(to=receiver.url) == [200]

    headers, body = receiver.got[0]
    assert "Authorization" not in headers
    assert headers["x-ms-signature"].startswith("Signature ")
    verify(cloud, headers, body)
    assert json.loads(body)["ResourceUri"].endswith(correlation_id)
    result = pc("GET", f"/webhooks/v1/registration/validationEvents/{correlation_id}").json()
    assert result["status"] == "completed"
    assert result["results"][0]["responseCode"] == "200"


def test_an_unreachable_receiver_keeps_the_events_queued(cloud: MicrosoftCloud, pc: Api) -> None:
    cloud.registration = {
        "SubscriberId": "x",
        "WebhookUrl": "https://127.0.0.1:9/webhooks/partner-center",
        "WebhookEvents": ["reseller-relationship-accepted-by-customer"],
    }
    cloud.add_tenant("abctech.com", "ABC Technologies")
    cloud.accept_reseller("abctech.com", email="it@abctech.com")

    assert cloud.deliver_webhooks(timeout=2) == [0]
    assert [e["EventName"] for e in cloud.queued_events] == [
        "reseller-relationship-accepted-by-customer"
    ]


def test_openid_metadata_answers_for_a_tenant_by_domain_and_refuses_an_unknown_one(
    cloud: MicrosoftCloud, http: httpx.Client
) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies", also=["abc.example"])
    metadata = "{}/{}/v2.0/.well-known/openid-configuration"

    by_domain = http.get(metadata.format(cloud.login_url, "abc.example")).json()
    unknown = http.get(metadata.format(cloud.login_url, "nobody.example"))

    assert by_domain["issuer"] == f"{cloud.login_url}/{tenant_id}/v2.0"
    assert unknown.status_code == 400
    assert unknown.json()["error_description"].startswith("AADSTS90002")


def test_a_refresh_token_is_redeemed_once_and_revoked_ones_need_a_new_sign_in(
    cloud: MicrosoftCloud, http: httpx.Client
) -> None:
    app = msal.PublicClientApplication(
        cloud.client_id,
        authority=f"{cloud.login_url}/{cloud.partner_tenant_id}",
        http_client=http,
        instance_discovery=False,
    )
    flow = app.initiate_device_flow([PC])
    cloud.complete_device_sign_in()
    signed_in = app.acquire_token_by_device_flow(flow)
    url = f"{cloud.login_url}/{cloud.partner_tenant_id}/oauth2/v2.0/token"
    form = {"grant_type": "refresh_token", "client_id": cloud.client_id, "scope": PC}

    renewed = http.post(url, data={**form, "refresh_token": signed_in["refresh_token"]}).json()
    reused = http.post(url, data={**form, "refresh_token": signed_in["refresh_token"]})
    cloud.revoke_refresh_tokens()
    revoked = http.post(url, data={**form, "refresh_token": renewed["refresh_token"]})

    assert claims(renewed["access_token"])["upn"] == "onboarding-service@partner.example"
    assert claims(renewed["access_token"])["amr"] == ["pwd", "mfa"]
    assert reused.json()["error"] == "invalid_grant"
    assert revoked.json()["error_description"].startswith("AADSTS50173")


def test_a_declined_device_sign_in_ends_the_flow(cloud: MicrosoftCloud, http: httpx.Client) -> None:
    app = msal.PublicClientApplication(
        cloud.client_id,
        authority=f"{cloud.login_url}/{cloud.partner_tenant_id}",
        http_client=http,
        instance_discovery=False,
    )
    flow = app.initiate_device_flow([PC])
    cloud.decline_device_sign_in()
    assert app.acquire_token_by_device_flow(flow)["error"] == "authorization_declined"


def test_the_company_profile_needs_a_user(cloud: MicrosoftCloud, pc: Api) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    cloud.accept_reseller("abctech.com", email="it@abctech.com")
    assert pc("GET", f"/v1/customers/{tenant_id}/profiles/company").status_code == 403


def test_managed_customers_are_those_with_an_active_relationship(
    cloud: MicrosoftCloud, graph: Api, clock: FixedClock
) -> None:
    url = "/v1.0/tenantRelationships/delegatedAdminCustomers"
    assert graph("GET", url).json()["value"] == []
    active_relationship(cloud, graph, clock)
    (customer,) = graph("GET", url).json()["value"]
    assert customer["displayName"] == "ABC Technologies"


def test_a_create_that_timed_out_was_done_so_the_retry_finds_it_by_name(
    cloud: MicrosoftCloud, graph: Api
) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    cloud.stall("POST", r"/delegatedAdminRelationships$", seconds=2)
    body = gdap_body("abc-gdap", tenant_id, [HELPDESK])

    with pytest.raises(httpx.ReadTimeout):
        graph("POST", RELATIONSHIPS, json=body, timeout=0.3)
    retry = graph("POST", RELATIONSHIPS, json=body)
    found = graph("GET", RELATIONSHIPS, params={"$filter": "displayName eq 'abc-gdap'"})

    assert retry.status_code == 409
    assert len(found.json()["value"]) == 1


def test_a_stall_before_the_work_leaves_nothing_done_while_it_waits(
    cloud: MicrosoftCloud, graph: Api
) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    cloud.stall("POST", r"/delegatedAdminRelationships$", seconds=3, before=True)
    with pytest.raises(httpx.ReadTimeout):
        graph("POST", RELATIONSHIPS, json=gdap_body("abc-gdap", tenant_id, [HELPDESK]), timeout=0.3)
    assert graph("GET", RELATIONSHIPS).json()["value"] == []


def test_failing_assignments_end_in_error(
    cloud: MicrosoftCloud, graph: Api, clock: FixedClock
) -> None:
    rel_id = active_relationship(cloud, graph, clock)
    cloud.failing_assignments = True
    body = {
        "accessContainer": {
            "accessContainerId": next(iter(cloud.groups)),
            "accessContainerType": "securityGroup",
        },
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": HELPDESK}]},
    }
    created = graph("POST", f"{RELATIONSHIPS}/{rel_id}/accessAssignments", json=body).json()
    clock.advance(minutes=1)
    read = graph("GET", f"{RELATIONSHIPS}/{rel_id}/accessAssignments/{created['id']}").json()
    assert read["status"] == "error"


def test_mail_over_the_same_graph_needs_mail_send(
    cloud: MicrosoftCloud, http: httpx.Client
) -> None:
    message = {
        "message": {
            "subject": "Approve our admin relationship",
            "body": {"contentType": "HTML", "content": "<p>Hello</p>"},
            "toRecipients": [{"emailAddress": {"address": "it@abctech.com"}}],
        },
        "saveToSentItems": False,
    }
    url = "/v1.0/users/onboarding@partner.example/sendMail"

    refused = Api(http, cloud.graph_url, app_token(cloud, http))("POST", url, json=message)
    cloud.granted_permissions.add("Mail.Send")
    sent = Api(http, cloud.graph_url, app_token(cloud, http))("POST", url, json=message)

    assert refused.status_code == 403
    assert sent.status_code == 202
    assert cloud.sent_mail == [("onboarding@partner.example", message)]


def test_partner_center_can_insist_on_request_ids(cloud: MicrosoftCloud, pc: Api) -> None:
    cloud.require_request_ids = True
    bare = pc("GET", "/v1/customers")
    traced = pc(
        "GET",
        "/v1/customers",
        headers={"MS-RequestId": "1f8a4c2e-0000-4000-8000-000000000001", "MS-CorrelationId": "c"},
    )
    assert bare.status_code == 400
    assert "MS-RequestId" in bare.json()["description"]
    assert traced.status_code == 200
    assert traced.headers["MS-CorrelationId"] == "c"


def test_the_token_is_checked_before_the_body(cloud: MicrosoftCloud, http: httpx.Client) -> None:
    no_token = Api(http, cloud.graph_url, "not-a-token")("POST", RELATIONSHIPS, json={"a": 1})
    assert no_token.status_code == 401
    assert cloud.schema_errors == []


def test_delivered_events_can_be_replayed_byte_for_byte(
    cloud: MicrosoftCloud, pc: Api, receiver: Receiver
) -> None:
    cloud.registration = {
        "SubscriberId": "x",
        "WebhookUrl": receiver.url,
        "WebhookEvents": ["reseller-relationship-accepted-by-customer"],
    }
    cloud.add_tenant("abctech.com", "ABC Technologies")
    cloud.accept_reseller("abctech.com", email="it@abctech.com")

    assert cloud.deliver_webhooks() == [200]
    assert cloud.deliver_webhooks() == []
    assert cloud.replay_webhooks() == [200]

    (first_headers, first), (again_headers, again) = receiver.got
    assert again == first
    assert again_headers["Authorization"] == first_headers["Authorization"]


def test_the_newest_relationship_and_transfer_are_found_for_a_customer(
    cloud: MicrosoftCloud, graph: Api, pc: Api
) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    other_id = cloud.add_tenant("other.example", "Other")
    assert cloud.latest_relationship(tenant_id) is None
    created = graph("POST", RELATIONSHIPS, json=gdap_body("abc", tenant_id, [HELPDESK])).json()
    graph("POST", RELATIONSHIPS, json=gdap_body("other", other_id, [HELPDESK]))
    cloud.accept_reseller("abctech.com", email="it@abctech.com")
    transfer = pc(
        "POST",
        f"/v1/customers/{tenant_id}/transfers",
        json=transfer_body("11111111-2222-4333-8444-555555555555"),
    ).json()

    assert cloud.latest_relationship(tenant_id) == created["id"]
    assert cloud.latest_transfer(tenant_id) == transfer["id"]


def test_partner_center_answers_a_repeated_ms_request_id_with_the_first_answer(
    cloud: MicrosoftCloud, pc: Api
) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    cloud.accept_reseller("abctech.com", email="it@abctech.com")
    url = f"/v1/customers/{tenant_id}/transfers"
    body = transfer_body("11111111-2222-4333-8444-555555555555")
    cloud.stall("POST", "/transfers$", seconds=2)
    same = {"MS-RequestId": "5f0b7a8e-1d2c-4b3a-9e8f-7a6b5c4d3e2f"}

    with pytest.raises(httpx.ReadTimeout):
        pc("POST", url, json=body, headers=same, timeout=0.3)
    retried = pc("POST", url, json=body, headers=same)
    another = pc("POST", url, json=body, headers={"MS-RequestId": "another-id"})

    assert retried.status_code == 201
    assert another.status_code == 409
    assert len(pc("GET", url).json()["items"]) == 1


def test_an_expired_or_misaddressed_signing_certificate_is_otherwise_valid(
    cloud: MicrosoftCloud,
) -> None:
    body = b'{"EventName":"test-created"}'

    expired = verify(cloud, cloud.sign(body, chain="expired"), body)
    other = verify(cloud, cloud.sign(body, chain="other-subject"), body)

    assert expired.not_valid_after_utc < datetime.now(UTC)
    assert "O=Microsoft Corporation" in expired.issuer.rfc4514_string()
    assert other.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == (
        "notifications.example"
    )


def test_device_code_needs_public_client_flows(cloud: MicrosoftCloud, http: httpx.Client) -> None:
    cloud.public_client_flows = False
    app = msal.PublicClientApplication(
        cloud.client_id,
        authority=f"{cloud.login_url}/{cloud.partner_tenant_id}",
        http_client=http,
        instance_discovery=False,
    )
    flow = app.initiate_device_flow([PC])
    assert "user_code" not in flow
    assert flow["error_description"].startswith("AADSTS7000218")


def test_a_second_tenant_with_the_same_name_gets_a_numbered_initial_domain(
    cloud: MicrosoftCloud,
) -> None:
    first = cloud.add_tenant("contoso.com", "Contoso")
    second = cloud.add_tenant("contoso.co.uk", "Contoso UK")
    assert cloud.tenants[first].default_domain == "contoso.onmicrosoft.com"
    assert cloud.tenants[second].default_domain == "contoso2.onmicrosoft.com"


# -- response shapes against Microsoft's examples (reference §3-§6) ---------------------------


def shape(value: Any) -> Any:
    """Field names and JSON types, no values: what a client depends on."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


EXAMPLE_RELATIONSHIP = {  # learn.microsoft.com tenantrelationship-post-delegatedadminrelationships
    "@odata.type": "#microsoft.graph.delegatedAdminRelationship",
    "@odata.context": "https://graph.microsoft.com/v1.0/tenantRelationships/$metadata#delegatedAdminRelationships",
    "@odata.etag": 'W/"JyIxODAwZTY4My0wMDAwLTAyMDAtMDAwMC02MTU0OWFmMDAwMDAiJw=="',
    "id": "5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836",
    "displayName": "Contoso admin relationship",
    "duration": "P730D",
    "customer": {"tenantId": "4b827261-d21f-4aa9-b7db-7fa1f56fb163", "displayName": "Contoso"},
    "accessDetails": {
        "unifiedRoles": [{"roleDefinitionId": "29232cdf-9323-42fd-ade2-1d097af3e4de"}]
    },
    "status": "created",
    "autoExtendDuration": "P180D",
    "createdDateTime": "2022-02-10T11:24:42.3148266Z",
    "lastModifiedDateTime": "2022-02-10T11:24:42.3148266Z",
    "activatedDateTime": "",
    "endDateTime": "2024-02-10T11:24:42.3148266Z",
}
EXAMPLE_REQUEST = {  # delegatedadminrelationship-post-requests
    "@odata.type": "#microsoft.graph.delegatedAdminRelationshipRequest",
    "@odata.context": "https://graph.microsoft.com/v1.0/tenantRelationships/$metadata#requests",
    "id": "5a6666c9-7282-0a41-67aa-25a5a3fbf339",
    "action": "lockForApproval",
    "status": "created",
    "createdDateTime": "2022-02-10T10:55:47.1180588Z",
    "lastModifiedDateTime": "2022-02-10T10:55:47.1180588Z",
}
EXAMPLE_ASSIGNMENT = {  # delegatedadminrelationship-post-accessassignments
    "@odata.type": "#microsoft.graph.delegatedAdminAccessAssignment",
    "@odata.context": "https://graph.microsoft.com/v1.0/tenantRelationships/$metadata#accessAssignments",
    "@odata.etag": 'W/"JyIxODAwZTY4My0wMDAwLTAyMDAtMDAwMC02MTU0OWFmMDAwMDAiJw=="',
    "id": "a9d6cf90-083a-47dc-ace2-1da98be3f344",
    "status": "pending",
    "createdDateTime": "2022-02-13T10:33:52.3182097Z",
    "lastModifiedDateTime": "2022-02-13T10:33:52.3182097Z",
    "accessContainer": {
        "accessContainerId": "869713c9-0b28-4d08-8949-ae07ae1bf528",
        "accessContainerType": "securityGroup",
    },
    "accessDetails": {
        "unifiedRoles": [{"roleDefinitionId": "29232cdf-9323-42fd-ade2-1d097af3e4de"}]
    },
}
EXAMPLE_CUSTOMER_WITHOUT_DAP = {  # PC get-a-customer-by-id, less what needs DAP
    "id": "eebd1b55-5360-4438-a11d-5c06918c3014",
    "commerceId": "99e6a635-48e7-424d-9059-c9db944e3c54",
    "companyProfile": {
        "tenantId": "eebd1b55-5360-4438-a11d-5c06918c3014",
        "domain": "abcdefgh1234.ccsctp.net",
        "companyName": "1kl as kjk",
        "attributes": {"objectType": "CustomerCompanyProfile"},
    },
    "billingProfile": {
        "id": "eeada110-0000-0000-0000-000000000000",
        "firstName": "A",
        "lastName": "B",
        "email": "a@a.com",
        "culture": "en-US",
        "language": "en",
        "companyName": "C",
        "defaultAddress": {
            "country": "US",
            "city": "redmond",
            "state": "WA",
            "addressLine1": "1 ms way",
            "postalCode": "98052",
            "firstName": "1kl as",
            "lastName": "kjk",
            "phoneNumber": "1234567890",
        },
        "attributes": {"etag": "-4242348048554929329", "objectType": "CustomerBillingProfile"},
    },
    "relationshipToPartner": "reseller",
    "allowDelegatedAccess": True,
    "attributes": {"objectType": "Customer"},
}
TRANSFER_FIELDS = {  # PC transfer-entity-resources, and Sherweb's model for the last three
    "id", "status", "transferType", "customerEmailId", "customerName", "customerTenantId",
    "partnertenantid", "createdTime", "lastModifiedTime", "completedTime", "lastModifiedUser",
    "sourcePartnerName", "sourcePartnerTenantId", "targetPartnerName", "targetPartnerTenantId",
    "targetPartnerEmailId", "partnerOnRecord", "targetProductTypes", "lineItems", "links",
    "attributes", "expirationTime", "transferDirection", "ignoreEligibilityCheck",
}  # fmt: skip


def test_graph_answers_have_the_shape_of_microsofts_examples(
    cloud: MicrosoftCloud, graph: Api, clock: FixedClock
) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    created = graph("POST", RELATIONSHIPS, json=gdap_body("abc", tenant_id, [HELPDESK])).json()
    request = graph(
        "POST", f"{RELATIONSHIPS}/{created['id']}/requests", json={"action": "lockForApproval"}
    ).json()
    cloud.approve_gdap(created["id"])
    clock.advance(minutes=2)
    assignment = graph(
        "POST",
        f"{RELATIONSHIPS}/{created['id']}/accessAssignments",
        json={
            "accessContainer": {
                "accessContainerId": next(iter(cloud.groups)),
                "accessContainerType": "securityGroup",
            },
            "accessDetails": {"unifiedRoles": [{"roleDefinitionId": HELPDESK}]},
        },
    ).json()

    assert shape(created) == shape(EXAMPLE_RELATIONSHIP)
    assert shape(request) == shape(EXAMPLE_REQUEST)
    assert shape(assignment) == shape(EXAMPLE_ASSIGNMENT)


def test_partner_center_answers_have_the_shape_of_microsofts_examples(
    cloud: MicrosoftCloud, pc: Api
) -> None:
    tenant_id = cloud.add_tenant("abctech.com", "ABC Technologies")
    cloud.accept_reseller("abctech.com", email="it@abctech.com")
    customer = pc("GET", f"/v1/customers/{tenant_id}").json()
    transfer = pc(
        "POST",
        f"/v1/customers/{tenant_id}/transfers",
        json=transfer_body("11111111-2222-4333-8444-555555555555"),
    ).json()
    registration = pc(
        "POST",
        "/webhooks/v1/registration",
        json={"WebhookUrl": "https://bot.example/hook", "WebhookEvents": ["test-created"]},
    ).json()

    customer.pop("links")
    assert shape(customer) == shape(EXAMPLE_CUSTOMER_WITHOUT_DAP)
    assert set(transfer) == TRANSFER_FIELDS
    assert transfer["attributes"] == {"objectType": "TransferEntity"}
    assert set(registration) == {"SubscriberId", "WebhookUrl", "WebhookEvents"}
