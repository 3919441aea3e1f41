"""GDAP requests: the form with Microsoft's recommended roles pre-selected, and the admin
relationship created at Microsoft, bound to the customer's tenant, with its approval mail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from bot import keys, labels, mails
from bot.activity import SYSTEM_ACTOR, Actor
from bot.customers import Customers, resolve
from bot.domain import GDAP_DEFAULT_DAYS, Change, GdapRequest
from bot.errors import ProviderError, ValidationError
from bot.forms import default_gdap_name, gdap_form
from bot.gdap_roles import GLOBAL_ADMINISTRATOR_ID
from bot.history import enqueue_mail, record
from bot.records import Role
from bot.validation import clean_duration, clean_gdap_name, clean_roles, collect
from bot.views import CustomerCard, Form
from bot.wiring import Wiring


@dataclass
class GdapRequests:
    wiring: Wiring
    customers: Customers

    def form(self, reference: str, actor: Actor | None = None) -> Form:
        if actor:
            self.wiring.access.require(actor, Role.OPERATOR, "GDAP requests")
        with self.wiring.store.transaction() as uow:
            ob = resolve(uow, reference)
            ob.require(Change.REQUEST_GDAP)
            name = next(
                n
                for n in (default_gdap_name(ob, attempt) for attempt in range(1, 1000))
                if not uow.gdap_names.taken(n)
            )
        return gdap_form(ob, name)

    def request(
        self, reference: str, values: dict[str, str | list[str]], actor: Actor
    ) -> CustomerCard:
        self.wiring.access.require(actor, Role.OPERATOR, "GDAP requests")
        roles = values.get("roles") or []
        if isinstance(roles, str):
            roles = roles.replace(";", ",").split(",")
        checked = collect(
            {
                "name": (clean_gdap_name, str(values.get("name", ""))),
                "duration": (clean_duration, str(values.get("duration", GDAP_DEFAULT_DAYS))),
                "roles": (clean_roles, list(roles)),
            },
            labels.GDAP,
        )
        name, days = str(checked["name"]), cast(int, checked["duration"])
        role_ids = cast(list[str], checked["roles"])
        w = self.wiring
        if GLOBAL_ADMINISTRATOR_ID in role_ids:
            w.access.require(actor, Role.ADMIN, "a GDAP request with Global Administrator")
        now = w.clock.now()
        with w.store.transaction() as uow:
            if uow.gdap_names.taken(name):
                raise _name_taken(name)
            ob = resolve(uow, reference, for_update=True)
            request = GdapRequest(name, days, list(role_ids))
            requested = ob.request_gdap(now, actor, request)
            if not uow.gdap_names.claim(name, ob.id, now):  # taken a moment ago by someone else
                raise _name_taken(name)
            record(uow, ob, requested, w.sync_after)
            changes = [requested]
            try:
                rel = w.microsoft.create_gdap_relationship(
                    name=request.relationship_name,
                    duration_days=request.duration_days,
                    role_ids=request.role_ids,
                    auto_extend=request.auto_extend,
                    customer_tenant_id=ob.customer_tenant_id,
                    customer_name=ob.name,
                )
            except ProviderError as err:
                uow.gdap_names.release(name, ob.id)  # Microsoft did not take it
                refused = ob.fail_gdap(now, SYSTEM_ACTOR, f"Microsoft refused the request: {err}")
                record(uow, ob, refused, w.sync_after)
                changes.append(refused)
                uow.onboardings.save(ob)
                headline = f"Microsoft refused the GDAP request: {err}"
            else:
                request.relationship_id, request.approval_url = rel.id, rel.approval_url
                uow.onboardings.save(ob)
                enqueue_mail(
                    uow,
                    keys.gdap_request_mail(ob.id, rel.id),
                    mails.gdap_approval(ob, w.partner_name),
                    now,
                )
                headline = f"GDAP request sent to {ob.email} for approval."
                if not request.auto_extend:
                    headline += " It will not auto-extend: Global Administrator is among the roles."
        return self.customers.after_change(ob.id, headline, changes, actor=actor)


def _name_taken(name: str) -> ValidationError:
    return ValidationError.for_fields(
        {
            "name": (
                f'An admin relationship named "{name}" already exists; Microsoft needs a name '
                "that is unique across all your relationships (any case)."
            )
        },
        labels.GDAP,
    )
