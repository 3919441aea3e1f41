"""The fake `login.microsoftonline.com`: OpenID metadata per tenant (by id or by a domain it
owns), the v2.0 token endpoint (client credentials with a secret or a certificate-signed
client assertion, the device-code grant, refresh tokens) and the device-code endpoint, with
Entra's error bodies (`error`, `error_description` starting with the AADSTS code)."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import hashes

from tests.fakes.microsoft_cloud.http import Recorded, Reply, Route, route
from tests.fakes.microsoft_cloud.state import DeviceSignIn
from tests.fakes.microsoft_cloud.tls import certificate_of
from tests.fakes.microsoft_cloud.tokens import RESERVED_SCOPES, audience_of

if TYPE_CHECKING:
    from tests.fakes.microsoft_cloud.cloud import MicrosoftCloud

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
VERIFICATION_URI = "https://microsoft.com/devicelogin"


def _error(status: int, error: str, aadsts: str, text: str) -> Reply:
    now = datetime.now(UTC)
    body = {
        "error": error,
        "error_description": f"{aadsts}: {text} Trace ID: {uuid.uuid4()} "
        f"Correlation ID: {uuid.uuid4()} Timestamp: {now:%Y-%m-%d %H:%M:%SZ}",
        "error_codes": [int(aadsts.removeprefix("AADSTS"))],
        "timestamp": f"{now:%Y-%m-%d %H:%M:%SZ}",
        "trace_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
    }
    return Reply(status, body)


def _tenant_id(cloud: MicrosoftCloud, name: str) -> str | None:
    """The partner tenant answers by id; any tenant the fake knows answers by id or domain."""
    if name == cloud.partner_tenant_id:
        return name
    tenant = cloud.tenants.get(name) or cloud.tenant_by_domain(name)
    return tenant.id if tenant else None


def openid_configuration(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    tenant_id = _tenant_id(cloud, match["tenant"])
    if tenant_id is None:
        return _error(
            400,
            "invalid_tenant",
            "AADSTS90002",
            f"Tenant '{match['tenant']}' not found. Check to make sure you have the correct "
            "tenant ID and are signing into the correct cloud.",
        )
    base = f"{cloud.login_url}/{tenant_id}"
    return Reply(
        200,
        {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{cloud.login_url}/{tenant_id}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        },
    )


def keys(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    from jwt.algorithms import RSAAlgorithm

    jwk = json.loads(RSAAlgorithm.to_jwk(cloud.token_book.key.public_key()))
    jwk.update(kid="fake-signing-key-1", use="sig")
    return Reply(200, {"keys": [jwk]})


def _thumbprint(certificate_pem: str, algorithm: hashes.HashAlgorithm) -> str:
    digest = certificate_of(certificate_pem).fingerprint(algorithm)
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _check_assertion(cloud: MicrosoftCloud, assertion: str, tenant_id: str) -> Reply | None:
    """Entra's checks of a certificate credential: the key named by x5t#S256 (or x5t) is the
    registered certificate's, the signature verifies with it, aud is this token endpoint,
    iss = sub = the client id, and it has not expired (by the wall clock: msal makes it so)."""
    registered = cloud.registered_certificate_pem
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        hint = (
            " (it is the text of a Python bytes literal, b'...': the HTTP client given to msal "
            "turned bytes into str)"
            if assertion.startswith(("b'", 'b"'))
            else ""
        )
        return _error(
            400, "invalid_request", "AADSTS50027", f"JWT token is invalid or malformed{hint}."
        )
    given = header.get("x5t#S256") or header.get("x5t")
    expected = (
        _thumbprint(registered, hashes.SHA256())
        if "x5t#S256" in header
        else _thumbprint(registered, hashes.SHA1())
    )
    if given is None or str(given).rstrip("=") != expected:
        return _error(
            401,
            "invalid_client",
            "AADSTS700027",
            "The certificate with identifier used to sign the client assertion is not "
            "registered on application. [Reason - The key was not found., Thumbprint of key "
            f"used by client: '{given}']",
        )
    endpoint = f"{cloud.login_url}/{tenant_id}/oauth2/v2.0/token"
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            certificate_of(registered).public_key(),  # type: ignore[arg-type]
            algorithms=["RS256", "PS256"],
            audience=endpoint,
            options={"require": ["exp", "aud", "iss", "sub"]},
            leeway=60,
        )
    except jwt.ExpiredSignatureError:
        return _error(
            401,
            "invalid_client",
            "AADSTS700024",
            "Client assertion is not within its valid time range.",
        )
    except jwt.InvalidAudienceError:
        return _error(
            401,
            "invalid_client",
            "AADSTS700021",
            f"Client assertion audience claim does not match Realm issuer ({endpoint}).",
        )
    except jwt.PyJWTError:
        return _error(
            401, "invalid_client", "AADSTS700027", "Client assertion contains an invalid signature."
        )
    if claims["iss"] != cloud.client_id or claims["sub"] != cloud.client_id:
        return _error(
            401,
            "invalid_client",
            "AADSTS700023",
            "Client assertion iss and sub claims must both be the application's client id.",
        )
    return None


def _unknown_client(form: dict[str, str], tenant_id: str) -> Reply:
    return _error(
        400,
        "unauthorized_client",
        "AADSTS700016",
        f"Application with identifier '{form.get('client_id', '')}' was not found in the "
        f"directory '{tenant_id}'. This can happen if the application has not been "
        "installed by the administrator of the tenant or consented to by any user in the "
        "tenant. You may have sent your authentication request to the wrong tenant.",
    )


def _client_problem(cloud: MicrosoftCloud, form: dict[str, str], tenant_id: str) -> Reply | None:
    if form.get("client_id") != cloud.client_id or tenant_id != cloud.partner_tenant_id:
        return _unknown_client(form, tenant_id)
    if "client_assertion" in form:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return _error(
                400,
                "invalid_request",
                "AADSTS50027",
                f"Invalid client_assertion_type: expected '{ASSERTION_TYPE}'.",
            )
        return _check_assertion(cloud, form["client_assertion"], tenant_id)
    if "client_secret" in form:
        if not secrets.compare_digest(form["client_secret"], cloud.client_secret):
            return _error(
                401,
                "invalid_client",
                "AADSTS7000215",
                "Invalid client secret provided. Ensure the secret being sent in the request "
                "is the client secret value, not the client secret ID, for a secret added to "
                f"app '{cloud.client_id}'.",
            )
        return None
    return _error(
        401,
        "invalid_client",
        "AADSTS7000218",
        "The request body must contain the following parameter: 'client_assertion' or "
        "'client_secret'.",
    )


def _resource(form: dict[str, str], *, default_only: bool) -> tuple[str, str] | Reply:
    """(scope, audience) of the one resource the request names."""
    scopes = [s for s in form.get("scope", "").split() if s not in RESERVED_SCOPES]
    if len(scopes) != 1 or (default_only and not scopes[0].endswith("/.default")):
        return _error(
            400,
            "invalid_scope",
            "AADSTS1002012",
            f"The provided value for scope {form.get('scope', '')} is not valid. Client "
            "credential flows must have a scope value with /.default suffixed to the resource "
            "identifier (application ID URI).",
        )
    audience = audience_of(scopes[0])
    if audience is None:
        return _error(
            400,
            "invalid_resource",
            "AADSTS500011",
            f"The resource principal named {scopes[0].rsplit('/', 1)[0]} was not found in the "
            f"tenant. This can happen if the application has not been installed by the "
            "administrator of the tenant.",
        )
    return scopes[0], audience


def _client_info(uid: str, utid: str) -> str:
    raw = json.dumps({"uid": uid, "utid": utid}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _user_tokens(cloud: MicrosoftCloud, scope: str, audience: str, user: str, mfa: bool) -> Reply:
    now = cloud.clock.now()
    oid = cloud.user_object_id(user)
    access = cloud.token_book.issue(
        audience=audience,
        tenant_id=cloud.partner_tenant_id,
        client_id=cloud.client_id,
        now=now,
        lifetime=cloud.token_lifetime,
        user=user,
        user_oid=oid,
        mfa=mfa,
    )
    wall = int(time.time())
    id_token = jwt.encode(
        {
            "aud": cloud.client_id,
            "iss": f"{cloud.login_url}/{cloud.partner_tenant_id}/v2.0",
            "iat": wall,
            "nbf": wall,
            "exp": wall + 3600,
            "name": user.split("@")[0],
            "oid": oid,
            "preferred_username": user,
            "sub": oid,
            "tid": cloud.partner_tenant_id,
            "ver": "2.0",
        },
        cloud.token_book.key,
        algorithm="RS256",
    )
    refresh = "fake-rt-" + secrets.token_urlsafe(24)
    cloud.refresh_tokens[refresh] = (user, mfa)
    return Reply(
        200,
        {
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": int(cloud.token_lifetime.total_seconds()),
            "ext_expires_in": int(cloud.token_lifetime.total_seconds()),
            "access_token": access,
            "refresh_token": refresh,
            "id_token": id_token,
            "client_info": _client_info(oid, cloud.partner_tenant_id),
        },
    )


def _device_code_grant(cloud: MicrosoftCloud, form: dict[str, str]) -> Reply:
    sign_in = cloud.device_sign_ins.get(form.get("device_code", ""))
    if sign_in is None or sign_in.redeemed:
        return _error(400, "invalid_grant", "AADSTS70000", "The provided device code is invalid.")
    if time.time() >= sign_in.expires_at.timestamp():
        return _error(
            400,
            "expired_token",
            "AADSTS70020",
            "The provided value for the input parameter "
            "'device_code' is not valid. This device code has expired.",
        )
    if sign_in.declined:
        return _error(
            400, "authorization_declined", "AADSTS70000", "The user declined the sign-in."
        )
    if not sign_in.completed:
        return _error(
            400,
            "authorization_pending",
            "AADSTS70016",
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        )
    resource = _resource({"scope": sign_in.scope}, default_only=False)
    if isinstance(resource, Reply):
        return resource
    sign_in.redeemed = True
    return _user_tokens(cloud, sign_in.scope, resource[1], sign_in.user, sign_in.mfa)


def _refresh_grant(cloud: MicrosoftCloud, form: dict[str, str]) -> Reply:
    held = cloud.refresh_tokens.pop(form.get("refresh_token", ""), None)
    if held is None:
        return _error(
            400,
            "invalid_grant",
            "AADSTS50173",
            "The provided grant has expired due to it being revoked, a fresh auth token is "
            "needed. The user might have changed or reset their password.",
        )
    resource = _resource(form, default_only=False)
    if isinstance(resource, Reply):
        return resource
    return _user_tokens(cloud, resource[0], resource[1], held[0], held[1])


def token(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    tenant_id = _tenant_id(cloud, match["tenant"])
    if tenant_id is None:
        return openid_configuration(cloud, req, match)
    form = req.form
    grant = form.get("grant_type", "")
    if grant not in ("client_credentials", DEVICE_CODE_GRANT, "refresh_token"):
        return _error(
            400,
            "unsupported_grant_type",
            "AADSTS70003",
            f"The app requested an unsupported grant type '{grant}'.",
        )
    credentials_sent = "client_secret" in form or "client_assertion" in form
    if grant == "client_credentials" or credentials_sent:
        problem = _client_problem(cloud, form, tenant_id)
        if problem is not None:
            return problem
    elif form.get("client_id") != cloud.client_id:
        return _unknown_client(form, tenant_id)
    if grant == DEVICE_CODE_GRANT:
        return _device_code_grant(cloud, form)
    if grant == "refresh_token":
        return _refresh_grant(cloud, form)
    resource = _resource(form, default_only=True)
    if isinstance(resource, Reply):
        return resource
    _, audience = resource
    roles = sorted(cloud.granted_permissions) if audience == "https://graph.microsoft.com" else []
    access = cloud.token_book.issue(
        audience=audience,
        tenant_id=cloud.partner_tenant_id,
        client_id=cloud.client_id,
        now=cloud.clock.now(),
        lifetime=cloud.token_lifetime,
        roles=roles,
    )
    seconds = int(cloud.token_lifetime.total_seconds())
    return Reply(
        200,
        {
            "token_type": "Bearer",
            "expires_in": seconds,
            "ext_expires_in": seconds,
            "access_token": access,
        },
    )


def device_code(cloud: MicrosoftCloud, req: Recorded, match: re.Match[str]) -> Reply:
    tenant_id = _tenant_id(cloud, match["tenant"])
    if tenant_id is None:
        return openid_configuration(cloud, req, match)
    form = req.form
    if form.get("client_id") != cloud.client_id:
        return _unknown_client(form, tenant_id)
    if not cloud.public_client_flows:
        return _error(
            400,
            "invalid_client",
            "AADSTS7000218",
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'. (The app does not allow public client flows: turn on "
            "Authentication > Allow public client flows.)",
        )
    resource = _resource(form, default_only=False)
    if isinstance(resource, Reply):
        return resource
    user_code = "".join(secrets.choice("BCDFGHJKLMNPQRSTVWXZ23456789") for _ in range(9))
    sign_in = DeviceSignIn(
        device_code=secrets.token_urlsafe(32),
        user_code=user_code,
        client_id=form["client_id"],
        scope=resource[0],
        expires_at=datetime.now(UTC) + timedelta(seconds=900),
    )
    cloud.device_sign_ins[sign_in.device_code] = sign_in
    return Reply(
        200,
        {
            "user_code": user_code,
            "device_code": sign_in.device_code,
            "verification_uri": VERIFICATION_URI,
            "expires_in": 900,
            "interval": cloud.device_code_interval,
            "message": f"To sign in, use a web browser to open the page {VERIFICATION_URI} "
            f"and enter the code {user_code} to authenticate.",
        },
    )


TENANT = r"/(?P<tenant>[^/]+)"
ROUTES: list[Route] = [
    route("GET", TENANT + r"/v2\.0/\.well-known/openid-configuration", openid_configuration),
    route("GET", TENANT + r"/discovery/v2\.0/keys", keys),
    route("POST", TENANT + r"/oauth2/v2\.0/token", token),
    route("POST", TENANT + r"/oauth2/v2\.0/devicecode", device_code),
]
