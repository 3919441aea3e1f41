"""`python app.py doctor`: a live configuration checked before anything goes to a customer.
Each check is a small function of the same `Doctor` context and answers one line, ✓ or ✗
with the fix; one failing check never stops the others. Against the sandbox every
Microsoft check passes, saying the sandbox answers it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from adapters.microsoft.live.backend import KeyValue, stored_reseller_link
from adapters.microsoft.live.errors import PARTNER_DELEGATED_ADMIN_APP_ID, MicrosoftRefused
from adapters.microsoft.live.graph import Graph
from adapters.microsoft.live.partner_center import PartnerCenter
from adapters.microsoft.live.registration import STATE_KEY as REGISTRATION_KEY
from adapters.microsoft.live.tokens import (
    GRAPH_SCOPE,
    PARTNER_CENTER_SCOPE,
    AppTokens,
    load_certificate,
    token_claims,
)
from adapters.microsoft.live.webhooks import OUR_EVENTS
from bot.errors import ProviderError
from bot.gdap_roles import ROLES_BY_ID

if TYPE_CHECKING:
    from settings import Settings

GDAP_PERMISSION = "DelegatedAdminRelationship.ReadWrite.All"
TENANT_PERMISSION = "CrossTenantInformation.ReadBasic.All"
MAIL_PERMISSION = "Mail.Send"
WEBHOOK_PATH = "/webhooks/partner-center"
GRANT = (
    "Entra admin center > App registrations > the app > API permissions > Add a permission > "
    "Microsoft Graph > Application permissions, then Grant admin consent"
)


@dataclass(frozen=True)
class Line:
    ok: bool
    text: str

    def __str__(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.text}"


@dataclass
class Doctor:
    """What the checks read: the settings, and the live clients when they could be built."""

    settings: Settings
    state: KeyValue
    problems: list[str]  # settings.live_problems
    tokens: AppTokens | None = None
    graph: Graph | None = None
    partner_center: PartnerCenter | None = None
    mail_check: Callable[[], str | None] | None = None  # None, or what is wrong with mail

    def token(self, scope: str) -> str:
        assert self.tokens is not None
        return self.tokens.get(scope)


Check = Callable[[Doctor], list[Line]]


def _needs_clients(check: Check) -> Check:
    def guarded(doctor: Doctor) -> list[Line]:
        if doctor.tokens is None or doctor.graph is None or doctor.partner_center is None:
            return [Line(False, f"{check.__doc__}: not tried, the settings are incomplete")]
        try:
            return check(doctor)
        except ProviderError as err:
            return [Line(False, f"{check.__doc__}: {err}")]

    guarded.__doc__ = check.__doc__
    guarded.__name__ = check.__name__
    return guarded


def settings_complete(doctor: Doctor) -> list[Line]:
    """Settings"""
    if doctor.problems:
        return [Line(False, p) for p in doctor.problems]
    settings = doctor.settings
    how = "a client secret"
    if settings.partner_client_certificate is not None:
        certificate = load_certificate(settings.partner_client_certificate.get_secret_value())
        until = f"{certificate.not_valid_after:%Y-%m-%d}"
        if certificate.not_valid_after <= datetime.now(UTC):
            return [
                Line(
                    False,
                    f"Settings: the certificate {certificate.thumbprint} expired on {until}. "
                    "Fix: make a new one, upload it to the app and point "
                    "PARTNER_CLIENT_CERTIFICATE at it",
                )
            ]
        how = f"the certificate {certificate.thumbprint} (valid until {until})"
    return [
        Line(True, f"Settings: MICROSOFT_BACKEND=live, app {settings.partner_client_id} with {how}")
    ]


@_needs_clients
def graph_token(doctor: Doctor) -> list[Line]:
    """Graph token"""
    doctor.token(GRAPH_SCOPE)
    return [Line(True, "Graph token: the app signs in (app-only)")]


@_needs_clients
def partner_center_token(doctor: Doctor) -> list[Line]:
    """Partner Center token"""
    assert doctor.partner_center is not None
    doctor.token(PARTNER_CENTER_SCOPE)
    try:
        doctor.partner_center.webhook_events(doctor.partner_center.deadline(10))
    except MicrosoftRefused as refused:
        if refused.said.status in (401, 403):
            return [
                Line(
                    False,
                    f"Partner Center token: Partner Center refuses the app ({refused.said}). "
                    "Fix: add the app in Partner Center (Account settings > App management > "
                    "Add existing app / link it), then run doctor again",
                )
            ]
        raise
    return [Line(True, "Partner Center token: Partner Center accepts the app")]


@_needs_clients
def permissions(doctor: Doctor) -> list[Line]:
    """Graph permissions"""
    roles = set(token_claims(doctor.token(GRAPH_SCOPE)).get("roles") or [])
    missing = [p for p in (GDAP_PERMISSION, TENANT_PERMISSION) if p not in roles]
    if missing:
        return [
            Line(
                False,
                f"Graph permissions: the app lacks {', '.join(missing)}. Fix: {GRANT}",
            )
        ]
    return [Line(True, f"Graph permissions: {GDAP_PERMISSION}, {TENANT_PERMISSION} granted")]


@_needs_clients
def service_principal(doctor: Doctor) -> list[Line]:
    """Partner Customer Delegated Administration"""
    assert doctor.graph is not None
    name = "Partner Customer Delegated Administration service principal"
    fix = (
        f"Fix: create it once, as an admin: POST https://graph.microsoft.com/v1.0/"
        f'servicePrincipals {{"appId": "{PARTNER_DELEGATED_ADMIN_APP_ID}"}} (or '
        f"New-MgServicePrincipal -AppId {PARTNER_DELEGATED_ADMIN_APP_ID})"
    )
    deadline = doctor.graph.deadline(10)
    try:
        found = doctor.graph.service_principals(PARTNER_DELEGATED_ADMIN_APP_ID, deadline)
    except MicrosoftRefused as refused:
        if refused.said.status != 403:
            raise
        found = None  # reading service principals needs Application.Read.All: try GDAP itself
    if found == []:
        return [Line(False, f"{name}: missing in your tenant. {fix}")]
    try:
        doctor.graph.first_relationships(deadline)
    except MicrosoftRefused as refused:
        if refused.said.status == 403:
            if "service principal" in refused.said.message.lower():
                return [Line(False, f"{name}: missing in your tenant ({refused.said}). {fix}")]
            return [
                Line(
                    False,
                    f"{name}: GDAP calls are refused ({refused.said}); grant "
                    f"{GDAP_PERMISSION}, or {fix[5:]}",
                )
            ]
        raise
    return [Line(True, f"{name}: provisioned ({PARTNER_DELEGATED_ADMIN_APP_ID})")]


def reseller_link(doctor: Doctor) -> list[Line]:
    """Reseller invitation link"""
    if doctor.settings.partner_reseller_link:
        return [Line(True, "Reseller invitation link: PARTNER_RESELLER_LINK is set")]
    link = stored_reseller_link(doctor.state)
    if link:
        return [Line(True, f"Reseller invitation link: stored ({link[:70]}…)")]
    return [
        Line(
            False,
            "Reseller invitation link: none stored. Fix: run python app.py partner-link (a "
            "partner user with MFA signs in once), or set PARTNER_RESELLER_LINK",
        )
    ]


@_needs_clients
def webhook_registration(doctor: Doctor) -> list[Line]:
    """Webhook registration"""
    assert doctor.partner_center is not None
    deadline = doctor.partner_center.deadline(10)
    registration = doctor.partner_center.registration(deadline)
    fix = f"Fix: run python app.py webhooks register https://YOUR-HOST{WEBHOOK_PATH}"
    if registration is None:
        return [
            Line(False, f"Webhook registration: none, so only polling follows Microsoft. {fix}")
        ]
    url = str(registration.get("WebhookUrl") or "")
    stored = str((doctor.state.get("microsoft", REGISTRATION_KEY) or {}).get("url") or "")
    if stored and url != stored:
        return [
            Line(
                False,
                f"Webhook registration: Partner Center sends events to {url}, not to the bot "
                f"({stored}). Fix: python app.py webhooks register {stored} --replace-url",
            )
        ]
    if not stored and not url.rstrip("/").endswith(WEBHOOK_PATH):
        return [Line(False, f"Webhook registration: it points at {url}, not at the bot. {fix}")]
    offered = {e.lower() for e in doctor.partner_center.webhook_events(deadline)}
    subscribed = {str(e).lower() for e in registration.get("WebhookEvents") or []}
    missing = [e for e in OUR_EVENTS if e in offered and e not in subscribed]
    if missing:
        return [
            Line(
                False,
                f"Webhook registration: {url} lacks {', '.join(missing)}. Fix: python app.py "
                f"webhooks register {url}",
            )
        ]
    return [Line(True, f"Webhook registration: {url}, the bot's events subscribed")]


@_needs_clients
def role_groups(doctor: Doctor) -> list[Line]:
    """GDAP_ROLE_GROUPS"""
    assert doctor.graph is not None
    mapping = doctor.settings.role_groups
    if not mapping:
        return [
            Line(
                False,
                "GDAP_ROLE_GROUPS: empty, so nobody in your tenant can use a customer's GDAP "
                "relationship (Microsoft gives access only to groups). Fix: map roles to "
                "security groups, e.g. GDAP_ROLE_GROUPS=Helpdesk Administrator=<group object id>",
            )
        ]
    lines = []
    by_group: dict[str, list[str]] = {}
    for role_id, group_id in mapping.items():
        by_group.setdefault(group_id, []).append(ROLES_BY_ID[role_id].name)
    deadline = doctor.graph.deadline(15)
    for group_id, names in by_group.items():
        roles = ", ".join(names)
        try:
            group: dict[str, Any] | None = doctor.graph.group(group_id, deadline)
        except MicrosoftRefused as refused:
            if refused.said.status != 403:
                raise
            lines.append(
                Line(
                    False,
                    f"GDAP_ROLE_GROUPS: cannot read group {group_id} ({roles}): the app needs "
                    f"GroupMember.Read.All or Group.Read.All to check it. Fix: {GRANT}",
                )
            )
            continue
        if group is None:
            lines.append(
                Line(
                    False,
                    f"GDAP_ROLE_GROUPS: no group {group_id} in your tenant ({roles}). Fix: use "
                    "the Object ID of a security group (Entra admin center > Groups)",
                )
            )
        elif group.get("securityEnabled") is False:
            lines.append(
                Line(
                    False,
                    f"GDAP_ROLE_GROUPS: {group.get('displayName')} ({group_id}) is not a "
                    "security group; GDAP gives roles to security groups only",
                )
            )
        else:
            lines.append(Line(True, f"GDAP_ROLE_GROUPS: {group.get('displayName')} gets {roles}"))
    return lines


def mail(doctor: Doctor) -> list[Line]:
    """Mail"""
    backend = doctor.settings.mail_backend
    if backend == "outbox":
        return [
            Line(
                False,
                "Mail: MAIL_BACKEND=outbox keeps mail in the bot, so customers receive no "
                "invitation. Fix: MAIL_BACKEND=smtp (SMTP_URL, MAIL_FROM) or graph (MAIL_FROM)",
            )
        ]
    problem = doctor.mail_check() if doctor.mail_check else None
    if problem:
        return [Line(False, f"Mail ({backend}): {problem}")]
    if backend == "graph" and doctor.tokens is not None:
        try:
            roles = set(token_claims(doctor.token(GRAPH_SCOPE)).get("roles") or [])
        except ProviderError as err:
            return [Line(False, f"Mail (graph): {err}")]
        if MAIL_PERMISSION not in roles:
            return [Line(False, f"Mail (graph): the app lacks {MAIL_PERMISSION}. Fix: {GRANT}")]
    return [Line(True, f"Mail: MAIL_BACKEND={backend}, sending as {doctor.settings.mail_from}")]


CHECKS: tuple[Check, ...] = (
    settings_complete,
    graph_token,
    partner_center_token,
    permissions,
    service_principal,
    reseller_link,
    webhook_registration,
    role_groups,
    mail,
)


def examine(doctor: Doctor, checks: tuple[Check, ...] = CHECKS) -> list[Line]:
    lines: list[Line] = []
    for check in checks:
        lines.extend(check(doctor))
    return lines


def sandbox_lines(settings: Settings, mail_problem: str | None) -> list[Line]:
    """MICROSOFT_BACKEND=sandbox: Microsoft's side is the in-process sandbox."""
    lines = [
        Line(True, f"{check.__doc__}: the sandbox answers it (MICROSOFT_BACKEND=sandbox)")
        for check in CHECKS
        if check is not mail
    ]
    if settings.mail_backend == "outbox":
        lines.append(Line(True, "Mail: the outbox keeps it (MAIL_BACKEND=outbox)"))
    elif mail_problem:
        lines.append(Line(False, f"Mail ({settings.mail_backend}): {mail_problem}"))
    else:
        lines.append(Line(True, f"Mail: MAIL_BACKEND={settings.mail_backend} ready"))
    return lines
