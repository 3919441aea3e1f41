"""Enrolling one customer: the tenant that owns its domain is looked up, the reseller
invitation goes out and the reminders start."""

from __future__ import annotations

from dataclasses import dataclass

from bot import keys, labels, mails
from bot.activity import Actor
from bot.customers import Customers, already_enrolled
from bot.domain import new_onboarding
from bot.errors import ValidationError
from bot.forms import enroll_form
from bot.history import enqueue_mail, record
from bot.records import Role
from bot.tenants import resolve_tenant
from bot.validation import validate_enrollment
from bot.views import CustomerCard, Form
from bot.wiring import Wiring


@dataclass
class Enrollment:
    wiring: Wiring
    customers: Customers

    def form(self, actor: Actor | None = None) -> Form:
        if actor:
            self.wiring.access.require(actor, Role.OPERATOR, "enrolling customers")
        return enroll_form()

    def enroll(self, values: dict[str, str], actor: Actor) -> CustomerCard:
        details = validate_enrollment(
            values.get("name", ""),
            values.get("email", ""),
            values.get("domain", ""),
            values.get("country", ""),
            country_names=True,
        )
        w = self.wiring
        w.access.require(actor, Role.OPERATOR, "enrolling customers")
        now = w.clock.now()
        link = w.invitation_url()
        with w.store.transaction() as uow:
            existing = uow.onboardings.open_by_domains([details.domain]).get(details.domain)
        if existing:
            raise ValidationError.for_fields({"domain": already_enrolled(existing, now)})
        tenant = resolve_tenant(w, details.domain)  # outside the transaction: Microsoft is slow
        with w.store.transaction() as uow:
            existing = uow.onboardings.open_by_domains([details.domain]).get(details.domain)
            if existing:
                raise ValidationError.for_fields(
                    {"domain": already_enrolled(existing, now)}, labels.ENROLL
                )
            ob, activity = new_onboarding(details, now, actor)
            changes = [activity]
            noted = tenant.apply(ob)[1] if tenant else None
            uow.onboardings.add(ob)
            record(uow, ob, activity, w.sync_after)
            if noted is not None:
                record(uow, ob, noted, w.sync_after)
                changes.append(noted)
            enqueue_mail(
                uow,
                keys.invitation_mail(ob.id),
                mails.reseller_invitation(ob, w.partner_name, link),
                now,
            )
        return self.customers.after_change(
            ob.id, f"Enrolled {ob.name.rstrip('.')}.", changes, actor=actor
        )
