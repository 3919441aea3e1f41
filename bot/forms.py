"""The forms of onboarding (enroll, GDAP request, MSP Hub customer, P2P transfer) with defaults.

Defaults are decided here, once, so the console, Slack modals and Teams cards pre-fill the same.
"""

from __future__ import annotations

import re

from bot import labels
from bot.domain import (
    DOMAIN_MAX,
    GDAP_AUTO_EXTEND_DAYS,
    GDAP_DEFAULT_DAYS,
    GDAP_MAX_DAYS,
    GDAP_MIN_DAYS,
    GDAP_NAME_MAX,
    NAME_MAX,
    P2P_LIFETIME,
    Onboarding,
)
from bot.gdap_roles import RECOMMENDED_ROLE_IDS, ROLES
from bot.records import CustomerProfile, KnownPartner
from bot.validation import all_countries
from bot.views import Choice, FieldKind, Form, FormField

OTHER_PARTNER = "other"
TENANT_ID_HELP = (
    "The current partner finds its Microsoft ID in Partner Center under "
    "Account settings > Entra ID profile."
)


def country_choices() -> tuple[Choice, ...]:
    return tuple(Choice(code, f"{name} ({code})") for code, name in all_countries())


def enroll_form(values: dict[str, str] | None = None) -> Form:
    v = values or {}
    return Form(
        "enroll",
        "Enroll customer",
        (
            FormField(
                "name",
                labels.ENROLL["name"],
                default=v.get("name", ""),
                max_length=NAME_MAX,
                help="Full name of the customer organisation, e.g. ABC Technologies Inc.",
            ),
            FormField(
                "email",
                labels.ENROLL["email"],
                FieldKind.EMAIL,
                default=v.get("email", ""),
                help="The customer representative who receives the invitation.",
            ),
            FormField(
                "domain",
                labels.ENROLL["domain"],
                default=v.get("domain", ""),
                max_length=DOMAIN_MAX,
                help="e.g. abctech.com or abctech.onmicrosoft.com",
            ),
            FormField(
                "country",
                labels.ENROLL["country"],
                FieldKind.CHOICE,
                default=v.get("country", ""),
                choices=country_choices(),
                help="A name or a two-letter code, e.g. United States or US",
            ),
        ),
    )


def edit_form(ob: Onboarding, tenant_editable: bool, tenant_refusal: str = "") -> Form:
    """The enrollment's fields pre-filled with what is recorded now; the domain and country
    only while they may change (`tenant_refusal` says why not, as a note)."""
    enrolled = enroll_form(
        {"name": ob.name, "email": ob.email, "domain": ob.domain, "country": ob.country}
    )
    fields = tuple(
        f for f in enrolled.fields if tenant_editable or f.name not in ("domain", "country")
    )
    notes = [
        "A new email address gets the mail the customer is waiting for (the invitation, the "
        "GDAP approval request) again, and its reminders start again."
    ]
    if not tenant_editable and tenant_refusal:
        notes.append(tenant_refusal)
    return Form(
        "edit",
        f"Correct {ob.name}",
        fields,
        context={"onboarding": ob.id},
        notes=tuple(notes),
        submit_label="Save",
    )


def default_gdap_name(ob: Onboarding, attempt: int = 1) -> str:
    """A Microsoft-valid, readable default: the customer's name plus "GDAP", and from the
    second attempt a number ("ABC GDAP 2"), for when an earlier relationship holds the name."""
    base = re.sub(r"[^A-Za-z0-9 ._-]+", "", ob.name)
    base = " ".join(base.split()) or ob.domain.split(".")[0]
    suffix = " GDAP" if attempt == 1 else f" GDAP {attempt}"
    return f"{base[: GDAP_NAME_MAX - len(suffix)].rstrip()}{suffix}"


def gdap_form(ob: Onboarding, name: str | None = None) -> Form:
    """`name`: the default relationship name, when `default_gdap_name` is taken already."""
    roles = tuple(
        Choice(r.id, r.name, "Recommended roles" if r.recommended else "Additional roles")
        for r in ROLES
    )
    return Form(
        "gdap",
        f"GDAP request for {ob.name}",
        (
            FormField(
                "name",
                labels.GDAP["name"],
                default=name or default_gdap_name(ob),
                max_length=GDAP_NAME_MAX,
                help="Unique across your relationships; letters, digits, spaces, . _ -",
            ),
            FormField(
                "duration",
                labels.GDAP["duration"],
                FieldKind.NUMBER,
                default=str(GDAP_DEFAULT_DAYS),
                min_value=GDAP_MIN_DAYS,
                max_value=GDAP_MAX_DAYS,
                help=f"{GDAP_MIN_DAYS} to {GDAP_MAX_DAYS} days",
            ),
            FormField(
                "roles",
                labels.GDAP["roles"],
                FieldKind.MULTI_CHOICE,
                default=RECOMMENDED_ROLE_IDS,
                choices=roles,
                help="Microsoft's recommended least-privilege roles are "
                "pre-selected; add more from Additional roles.",
            ),
        ),
        context={"onboarding": ob.id},
        notes=(
            f"The relationship auto-extends by {GDAP_AUTO_EXTEND_DAYS} days when it ends, "
            "unless Global Administrator is selected: Microsoft does not auto-extend "
            "relationships with that role.",
        ),
        submit_label="Create request",
    )


def hub_form(ob: Onboarding, profile: CustomerProfile | None) -> Form:
    p = profile
    source = (
        "Pre-filled from Partner Center; every field can be changed."
        if p
        else "Pre-filled from the enrollment; the reseller relationship is not established, "
        "so Partner Center has no profile yet."
    )

    def text(
        name: str, default: str, required: bool = True, kind: FieldKind = FieldKind.TEXT
    ) -> FormField:
        return FormField(name, labels.HUB[name], kind, required=required, default=default)

    return Form(
        "hub",
        f"Create {ob.name} in the MSP Hub",
        (
            text("company_name", p.company_name if p else ob.name),
            text("domain", p.domain if p else ob.domain),
            text("email", (p.email if p else "") or ob.email, kind=FieldKind.EMAIL),
            FormField(
                "country",
                labels.HUB["country"],
                FieldKind.CHOICE,
                default=(p.country if p else "") or ob.country,
                choices=country_choices(),
            ),
            text("first_name", p.first_name if p else ""),
            text("last_name", p.last_name if p else ""),
            text("phone", p.phone if p else "", required=False),
            text("address_line1", p.address_line1 if p else "", required=False),
            text("city", p.city if p else "", required=False),
            text("state", p.state if p else "", required=False),
            text("postal_code", p.postal_code if p else "", required=False),
        ),
        context={"onboarding": ob.id},
        notes=(source,),
        submit_label="Create customer",
    )


def p2p_form(ob: Onboarding, partners: list[KnownPartner]) -> Form:
    choices = (
        *(Choice(p.tenant_id, p.name) for p in partners),
        Choice(OTHER_PARTNER, "Other (enter the partner's details)"),
    )
    fills = {
        p.tenant_id: {
            "partner_name": p.name,
            "partner_tenant_id": p.tenant_id,
            "partner_email": p.email,
        }
        for p in partners
    }
    fills[OTHER_PARTNER] = {"partner_name": "", "partner_tenant_id": "", "partner_email": ""}
    return Form(
        "p2p",
        f"P2P transfer for {ob.name}",
        (
            FormField(
                "partner",
                labels.P2P["partner"],
                FieldKind.CHOICE,
                default=partners[0].tenant_id if partners else OTHER_PARTNER,
                choices=choices,
                fills=fills,
            ),
            FormField(
                "partner_name",
                labels.P2P["partner_name"],
                default=partners[0].name if partners else "",
            ),
            FormField(
                "partner_tenant_id",
                labels.P2P["partner_tenant_id"],
                default=partners[0].tenant_id if partners else "",
                help=TENANT_ID_HELP,
            ),
            FormField(
                "partner_email",
                labels.P2P["partner_email"],
                FieldKind.EMAIL,
                default=partners[0].email if partners else "",
            ),
        ),
        context={"onboarding": ob.id},
        notes=(
            f"Customer: {ob.name} <{ob.email}>. The transfer request expires in "
            f"{P2P_LIFETIME.days} days if no action is taken.",
        ),
    )
