"""A loopback HTTPS fake of Microsoft for the live backend: `login.microsoftonline.com`, Graph
and Partner Center (plus the host that serves the webhook signing certificate), speaking the
wire formats of shared/reference/microsoft-live.md §3-§7, so msal's real token code and the
adapter's real httpx calls cross real sockets. Status moves with the shared test clock.

    with MicrosoftCloud(clock, tmp_path) as cloud: ...      # or the `microsoft_cloud` fixture

Addresses and settings
    login_url, graph_url, partner_center_url   "https://localhost:PORT" each
    cert_host              "localhost:PORT" serving the signing .cer (allow-list it)
    disallowed_cert_host   the same server as "127.0.0.1:PORT": reachable, not allowed
    ca_bundle              PEM: TLS CA + webhook signing root (SSL_CERT_FILE)
    settings_env()         env for MICROSOFT_BACKEND=live (certificate written to tmp_path)
    role_groups_setting()  GDAP_ROLE_GROUPS from `groups` (groups named after roles)
    ssl_context()          a client context trusting the fake
The partner (each breakable)
    partner_tenant_id, partner_name, partner_mpn_id, client_id, client_secret
    client_certificate_pem       the app's credential (key + certificate PEM)
    registered_certificate_pem   what Entra checks assertions against (assign another to break)
    new_certificate_pem()        a fresh key + certificate, registered nowhere
    granted_permissions          app roles put in Graph tokens and checked (403 without):
                                 GDAP ReadWrite, CrossTenantInformation, GroupMember.Read.All;
                                 groups/{id} needs a group read role, servicePrincipals
                                 Application.Read.All, sendMail Mail.Send
    partner_center_app_registered, service_principal_provisioned   False: PC 401 / GDAP 403
    groups                       partner security groups: object id -> display name
    reseller_link                what GET /v1/customers/relationshiprequests returns
    token_lifetime               access-token lifetime (exp by the clock; expires_in)
    device_code_interval         seconds msal waits between device-code polls (1)
    public_client_flows          False: the device-code flow is refused (AADSTS7000218)
    revoke_tokens()              issued access tokens refused from now on (401, expired)
    revoke_refresh_tokens()      the next refresh gets invalid_grant (sign in again)
    complete_device_sign_in(mfa=True, user=...)   the human finishes the device-code sign-in;
                                 mfa=False: PC answers 401 code 900421 to that user's token
    decline_device_sign_in(), device_user_code()
Customers and current partners
    add_tenant(domain, name, also=()) -> tenant id; tenant_by_domain(domain)
    accept_reseller(domain, email=..., country=..., first_name=..., ...) -> tenant id
    approve_gdap(id, tenant_id=None)   approved; activating +1 min; active +2 min (clock)
    expire_gdap(id), terminate_gdap(id), gdap_status(id), relationship_named(name)
    latest_relationship(tenant_id=None), latest_transfer(customer_tenant_id=None) -> id | None
    stuck_assignments            True: new access assignments stay pending
    failing_assignments          True: new access assignments end in `error` a minute later
    lock_lag_reads               reads of a relationship still `created` after the lock (1)
    transfer_expiry              expirationTime after creation (30 days; None: not given)
    accept_transfer(id), decline_transfer(id, reason), expire_transfer(id)
    start_other_transfer(customer_tenant_id) -> id   another partner's pending transfer
    settle()                     apply the clock now (every request does it first)
    tenants, customers, relationships, transfers   the state, for assertions
Faults (method, regex searched in the path; `server` narrows to login/graph/partner_center/cert)
    fail(method, path, status, times=1, retry_after=None, body=None, server=None)
    stall(method, path, seconds=..., times=1, server=None, before=False)
                                 the work is done, the answer comes late (a POST that timed
                                 out did create); before=True: the wait comes first
    slow_bodies                  True: every body chunked, in pieces, with pauses
    require_request_ids          True: PC answers 400 without MS-RequestId / MS-CorrelationId
    (always) a PC write repeated with the same MS-RequestId gets the first answer again
What was asked
    requests                     list[Recorded]: .server .method .path .query .headers .body
                                 .json .form .status
    requests_to(method, path_regex)
    schema_errors                bodies that broke tests/schemas (answered 400; keep empty)
    internal_errors              the fake's own failures (answered 500; keep empty)
    unmatched                    requests no route models (answered 404/405)
    sent_mail                    (mailbox, body) of Graph sendMail calls (needs "Mail.Send")
Webhooks
    registration                 the single registration (dict) or None (assignable)
    queued_events                events waiting, as Partner Center would send them
    deliver_webhooks(to=None) -> list[int]   POST them signed; statuses (0: unreachable)
    replay_webhooks(to=None) -> list[int]   POST the delivered events again (duplicates)
    deliveries                   (event, status) of every attempt
    sign(body, chain="microsoft"|"wrong-issuer"|"untrusted"|"expired"|"other-subject",
         cert_host=None, certificate_url=None, in_ms_signature=False) -> headers
    certificate_url(chain="microsoft", host=None)
"""

from tests.fakes.microsoft_cloud.cloud import MicrosoftCloud
from tests.fakes.microsoft_cloud.http import Recorded

__all__ = ["MicrosoftCloud", "Recorded"]
