"""The label of every form field, as the forms show it and as errors name it ("Current
Partner Microsoft ID", never `partner_tenant_id`): one place, so a form and its errors agree.

Each form has its own table, since one field name means different things in different
forms (`name` is the Customer Name when enrolling, the Admin Relationship Name in GDAP).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType


def _table(labels: dict[str, str]) -> Mapping[str, str]:
    return MappingProxyType(labels)


ENROLL = _table(
    {
        "name": "Customer Name",
        "email": "Email Address",
        "domain": "Domain Name",
        "country": "Country",
    }
)
GDAP = _table(
    {
        "name": "Admin Relationship Name",
        "duration": "Duration (days)",
        "roles": "Roles",
    }
)
HUB = _table(
    {
        "company_name": "Company Name",
        "domain": "Primary Domain",
        "email": "Email Address",
        "country": "Country",
        "first_name": "Contact First Name",
        "last_name": "Contact Last Name",
        "phone": "Phone",
        "address_line1": "Address",
        "city": "City",
        "state": "State / Region",
        "postal_code": "Postal Code",
    }
)
P2P = _table(
    {
        "partner": "Select Current Partner",
        "partner_name": "Current Partner Name",
        "partner_tenant_id": "Current Partner Microsoft ID",
        "partner_email": "Current Partner Email Address",
    }
)


def label_of(name: str, labels: Mapping[str, str] | None) -> str:
    """The field's label; a name no table knows is shown as words, never as `snake_case`."""
    if labels and name in labels:
        return labels[name]
    return name.replace("_", " ").capitalize()
