"""Checks and normalises what users type, with messages that say what is wrong and how to fix it.

Field names in `ValidationError.field_errors` are the form field names ("name", "email",
"domain", "country", ...); the CSV review maps them to its column names.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Mapping
from typing import Any

import idna
import pycountry

from bot import labels
from bot.countries import CountryNotFound, find_country
from bot.domain import GDAP_MAX_DAYS, GDAP_MIN_DAYS, GDAP_NAME_MAX, NAME_MAX, CustomerDetails
from bot.errors import ValidationError
from bot.gdap_roles import find_role
from bot.text import invisible_character, shorten

_GDAP_NAME_CHARS = re.compile(r"^[A-Za-z0-9 ._-]+$")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# RFC 2606 / RFC 6761 names: an unedited template row must not enroll anybody.
_RESERVED_SUFFIXES = (
    "example",
    "test",
    "invalid",
    "localhost",
    "example.com",
    "example.net",
    "example.org",
)
# Common names that are not ISO 3166-1 alpha-2 codes, and what the user meant.
_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR", "USA": "US", "UAE": "AE"}


def _has_control_chars(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def refuse_invisible(text: str, label: str) -> None:
    """A name, address or domain with an invisible or direction-changing character is
    refused, naming the character and where it is, so a look-alike cannot get in."""
    found = invisible_character(text)
    if found:
        position, character = found
        raise ValueError(
            f"{label} has an invisible character at position {position} ({character}); "
            "type it again without it."
        )


def clean_name(text: str, label: str = labels.ENROLL["name"], max_length: int = NAME_MAX) -> str:
    refuse_invisible(text or "", label)
    name = " ".join((text or "").split())
    if not name:
        raise ValueError(f"{label} is required.")
    if len(name) > max_length:
        raise ValueError(f"{label} is {len(name)} characters long; the limit is {max_length}.")
    if _has_control_chars(name):
        raise ValueError(f"{label} contains control characters; type it as plain text.")
    return name


def clean_email(text: str, label: str = labels.ENROLL["email"]) -> str:
    text = (text or "").strip()
    if not text:
        raise ValueError(f"{label} is required.")
    refuse_invisible(text, label)
    # Imported on the first address, not at start-up: its RFC tables cost a share of it.
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as err:
        raise ValueError(f'"{shorten(text)}" is not a valid email address: {err}') from None


def clean_domain(text: str, label: str = labels.ENROLL["domain"]) -> str:
    """A host name in its ASCII (IDNA) form, lower case, without a trailing dot."""
    raw = (text or "").strip()
    shown = shorten(raw)
    if not raw:
        raise ValueError(f"{label} is required.")
    refuse_invisible(raw, label)
    if "://" in raw or "/" in raw or "@" in raw or " " in raw:
        raise ValueError(
            f'"{shown}" is not a domain name: give just the host name, '
            "like abctech.com (no https://, path, @ or spaces)."
        )
    try:
        mapped = idna.uts46_remap(raw.rstrip("."), std3_rules=False)
    except idna.IDNAError as err:
        raise ValueError(f'"{shown}" is not a valid domain name: {err}.') from None
    parts = [_ascii_label(part, raw) for part in mapped.split(".")]
    ascii_name = ".".join(parts)
    if len(parts) < 2:
        raise ValueError(
            f'"{shown}" needs a top-level domain, like abctech.com or abctech.onmicrosoft.com.'
        )
    if len(ascii_name) > 253:
        raise ValueError(
            f'"{shown}" is {len(ascii_name)} characters long; a domain name can have at most 253.'
        )
    if parts[-1].isdigit():
        raise ValueError(f'"{shown}" looks like an IP address, not a domain name.')
    if any(ascii_name == s or ascii_name.endswith("." + s) for s in _RESERVED_SUFFIXES):
        raise ValueError(
            f'"{shown}" is a reserved example domain: replace it with the customer\'s real domain.'
        )
    return ascii_name


def _ascii_label(label: str, raw: str) -> str:
    """One label in its ASCII form, with the length and character rules of host names."""
    shown = shorten(raw)
    if not label:
        raise ValueError(f'"{shown}" has an empty part between dots.')
    if not label.isascii():
        try:
            label = idna.alabel(label).decode("ascii") if len(label) <= 63 else label
        except idna.IDNAError as err:
            raise ValueError(f'"{shown}" is not a valid domain name: {err}.') from None
    if len(label) > 63:
        raise ValueError(
            f'The part "{label[:20]}…" of "{shown}" has {len(label)} characters; '
            "each part between dots can have at most 63."
        )
    if not _LABEL.match(label):
        raise ValueError(
            f'"{shown}" is not a valid domain name: the part "{label}" may use '
            "only letters, digits and inner hyphens."
        )
    return label


def clean_country(text: str) -> str:
    """An ISO 3166-1 alpha-2 code; a name or alpha-3 code is refused with the code to use."""
    raw = (text or "").strip()
    shown = shorten(raw)
    if not raw:
        raise ValueError("Country code is required (ISO 3166-1 alpha-2, like US, IN, EG, CA).")
    code = raw.upper()
    if len(code) == 2 and code not in _COUNTRY_ALIASES and pycountry.countries.get(alpha_2=code):
        return code
    suggestion = _COUNTRY_ALIASES.get(code)
    if suggestion is None:
        try:
            suggestion = pycountry.countries.lookup(raw).alpha_2
        except LookupError:
            suggestion = None
    if suggestion:
        name = country_name(suggestion)
        raise ValueError(
            f'"{shown}" is not a two-letter country code: use "{suggestion}" ({name}).'
        )
    raise ValueError(
        f'"{shown}" is not an ISO 3166-1 alpha-2 country code; use two letters like US, IN, '
        "EG or CA."
    )


def clean_country_name(text: str) -> str:
    """What a form or a one-line enrollment takes: a two-letter code or a country's name
    (any case, accents optional); the bulk CSV keeps `clean_country`'s two letters."""
    raw = (text or "").strip()
    if not raw:
        raise ValueError("Country is required: a name like United States or a code like US.")
    try:
        return find_country(raw)
    except CountryNotFound as err:
        shown = shorten(raw)
        offered = ", ".join(f"{name} ({code})" for code, name in err.suggestions)
        if err.ambiguous:
            raise ValueError(
                f'"{shown}" names more than one country. Did you mean: {offered}?'
            ) from None
        if offered:
            raise ValueError(
                f'"{shown}" is not a country we know. Did you mean: {offered}?'
            ) from None
        raise ValueError(
            f'"{shown}" is not a country we know: type its name (United States) or its '
            "two-letter code (US)."
        ) from None


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country else code


def all_countries() -> list[tuple[str, str]]:
    """(code, name) of every ISO country, sorted by name, for pickers."""
    return sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1])


def collect(checks: dict[str, tuple[Any, ...]], form: Mapping[str, str]) -> dict[str, object]:
    """Run every check, so a form shows all its bad fields at once, not one per submit;
    the error names them by the labels of the `form` (its table in `bot.labels`)."""
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    for name, (check, *args) in checks.items():
        try:
            values[name] = check(*args)
        except ValueError as err:
            errors[name] = str(err)
    if errors:
        raise ValidationError.for_fields(errors, form)
    return values


def validate_enrollment(
    name: str, email: str, domain: str, country: str, *, country_names: bool = False
) -> CustomerDetails:
    """`country_names`: a country's name is taken too (forms and one-line enrollment); the
    bulk CSV's Country Code column stays two letters, as the seed's format says."""
    values = collect(
        {
            "name": (clean_name, name),
            "email": (clean_email, email),
            "domain": (clean_domain, domain),
            "country": (clean_country_name if country_names else clean_country, country),
        },
        labels.ENROLL,
    )
    return CustomerDetails(**values)  # type: ignore[arg-type]


def clean_gdap_name(text: str) -> str:
    label = labels.GDAP["name"]
    name = " ".join((text or "").split())
    if not name:
        raise ValueError(f"{label} is required.")
    if len(name) > GDAP_NAME_MAX:
        raise ValueError(
            f"{label} is {len(name)} characters long; Microsoft allows at most {GDAP_NAME_MAX}."
        )
    if not _GDAP_NAME_CHARS.match(name):
        raise ValueError(
            f"{label} may use only letters A-Z, digits, spaces, dots, hyphens and underscores."
        )
    return name


def clean_duration(text: str | int) -> int:
    try:
        days = int(str(text).strip().lower().removesuffix("days").removesuffix("d").strip())
    except ValueError:
        raise ValueError(
            f'"{shorten(str(text))}" is not a whole number of days '
            f"({GDAP_MIN_DAYS} to {GDAP_MAX_DAYS})."
        ) from None
    if not GDAP_MIN_DAYS <= days <= GDAP_MAX_DAYS:
        raise ValueError(f"must be between {GDAP_MIN_DAYS} and {GDAP_MAX_DAYS} days; got {days}.")
    return days


def clean_roles(values: list[str] | tuple[str, ...]) -> list[str]:
    """Role ids from ids or names; unknown ones are named in the error."""
    ids: list[str] = []
    unknown: list[str] = []
    for value in values:
        if not value.strip():
            continue
        role = find_role(value)
        if role is None:
            unknown.append(value.strip())
        elif role.id not in ids:
            ids.append(role.id)
    if unknown:
        raise ValueError("Unknown role: " + ", ".join(unknown) + ". Pick from the role list.")
    if not ids:
        raise ValueError("Select at least one role.")
    return ids


def clean_tenant_id(text: str) -> str:
    raw = (text or "").strip()
    shown = shorten(raw)
    if not raw:
        raise ValueError(
            f"{labels.P2P['partner_tenant_id']} is required: the partner finds it in "
            "Partner Center under Account settings > Entra ID profile."
        )
    try:
        return str(uuid.UUID(raw.strip("{}")))
    except ValueError:
        raise ValueError(
            f'"{shown}" is not a Microsoft ID: it is a GUID like '
            "0e9b0b5f-0000-4a5d-9c1d-1234567890ab, found in Partner Center under "
            "Account settings > Entra ID profile."
        ) from None


def clean_optional(text: str, label: str, max_length: int = 256) -> str:
    value = " ".join((text or "").split())
    if len(value) > max_length:
        raise ValueError(f"{label} is {len(value)} characters long; the limit is {max_length}.")
    if _has_control_chars(value):
        raise ValueError(f"{label} contains control characters.")
    return value
