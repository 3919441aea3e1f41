"""MSP Hub access: the customer-creation form, pre-filled from Partner Center when the
reseller relationship exists, and the customer created in the hub."""

from __future__ import annotations

from dataclasses import dataclass

from bot import labels
from bot.activity import SYSTEM_ACTOR, Actor
from bot.customers import Customers, resolve
from bot.domain import Change, ResellerStatus
from bot.forms import hub_form
from bot.history import record
from bot.records import HubCustomer, Role
from bot.validation import (
    clean_country_name,
    clean_domain,
    clean_email,
    clean_name,
    clean_optional,
    collect,
)
from bot.views import CustomerCard, Form
from bot.wiring import Wiring


@dataclass
class HubAccess:
    wiring: Wiring
    customers: Customers

    def form(self, reference: str, actor: Actor | None = None) -> Form:
        if actor:
            self.wiring.access.require(actor, Role.OPERATOR, "MSP Hub access")
        with self.wiring.store.transaction() as uow:
            ob = resolve(uow, reference)
        ob.require(Change.START_HUB)
        profile = None
        if ob.reseller_status is ResellerStatus.ESTABLISHED:
            profile = self.wiring.microsoft.find_customer(ob.domain, ob.customer_tenant_id)
        return hub_form(ob, profile)

    def start(self, reference: str, values: dict[str, str], actor: Actor) -> CustomerCard:
        self.wiring.access.require(actor, Role.OPERATOR, "MSP Hub access")
        label = labels.HUB
        v = collect(
            {
                "company_name": (clean_name, values.get("company_name", ""), label["company_name"]),
                "domain": (clean_domain, values.get("domain", ""), label["domain"]),
                "email": (clean_email, values.get("email", ""), label["email"]),
                "country": (clean_country_name, values.get("country", "")),
                "first_name": (clean_name, values.get("first_name", ""), label["first_name"], 64),
                "last_name": (clean_name, values.get("last_name", ""), label["last_name"], 64),
                "phone": (clean_optional, values.get("phone", ""), label["phone"], 32),
                "address_line1": (
                    clean_optional,
                    values.get("address_line1", ""),
                    label["address_line1"],
                ),
                "city": (clean_optional, values.get("city", ""), label["city"], 64),
                "state": (clean_optional, values.get("state", ""), label["state"], 64),
                "postal_code": (
                    clean_optional,
                    values.get("postal_code", ""),
                    label["postal_code"],
                    16,
                ),
            },
            label,
        )
        w = self.wiring
        now = w.clock.now()
        with w.store.transaction() as uow:
            ob = resolve(uow, reference, for_update=True)
            started = ob.start_hub(now, actor)
            changes = [started]
            hub_id = w.hub.create_customer(
                HubCustomer(**v, tenant_id=ob.customer_tenant_id)  # type: ignore[arg-type]
            )
            record(uow, ob, started, w.sync_after)
            headline = f"{ob.name} was sent to the MSP Hub."
            if w.hub.is_confirmed(hub_id):
                completed = ob.complete_hub(now, SYSTEM_ACTOR, hub_id)
                record(uow, ob, completed, w.sync_after)
                changes.append(completed)
                headline = f"{ob.name} was created in the MSP Hub."
            uow.onboardings.save(ob)
        return self.customers.after_change(ob.id, headline, changes, actor=actor)
