"""Correcting a mistake in an enrollment: the name, email, domain or country, validated as
enrollment validates them; a new email gets the waiting step's mail again and fresh
reminders, and what was still pending for the old address is withdrawn."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot import keys, labels, mails
from bot.activity import Actor
from bot.customers import Customers, already_enrolled, resolve
from bot.domain import EDITABLE, Change, Onboarding, Step
from bot.errors import NotAllowed, ValidationError
from bot.forms import edit_form
from bot.history import enqueue_mail, record
from bot.ports import UnitOfWork
from bot.records import Role
from bot.tenants import resolve_tenant
from bot.validation import clean_country_name, clean_domain, clean_email, clean_name, collect
from bot.views import CustomerCard, Form, Notice, Tone
from bot.wiring import Wiring

CHECKS = {
    "name": clean_name,
    "email": clean_email,
    "domain": clean_domain,
    "country": clean_country_name,
}
DOING = "correcting a customer's details"


@dataclass
class Editing:
    wiring: Wiring
    customers: Customers

    def form(self, reference: str, actor: Actor) -> Form:
        self.wiring.access.require(actor, Role.OPERATOR, DOING)
        with self.wiring.store.transaction() as uow:
            ob = resolve(uow, reference)
        ob.require(Change.EDIT)
        refusal = ob.refusal(Change.EDIT_TENANT)
        return edit_form(ob, refusal is None, refusal or "")

    def edit(self, reference: str, values: dict[str, str], actor: Actor) -> CustomerCard | Notice:
        """`values`: the fields to correct (a form sends them all; unchanged ones are left
        alone). Field errors come as `ValidationError`, keyed by the form's field names."""
        w = self.wiring
        w.access.require(actor, Role.OPERATOR, DOING)
        given = {f: str(values[f]) for f in EDITABLE if f in values}
        if not given:
            raise ValidationError("Say what to correct: name, email, domain or country.")
        cleaned = collect({f: (CHECKS[f], v) for f, v in given.items()}, labels.ENROLL)
        now = w.clock.now()
        with w.store.transaction() as uow:
            ob = resolve(uow, reference)
            changes = _changes(ob, cleaned)
            if not changes:
                return Notice(f"Nothing to correct: {ob.name} has these details already.")
            self._check(uow, ob, changes, now)
        tenant = resolve_tenant(w, changes["domain"]) if "domain" in changes else None
        with w.store.transaction() as uow:
            ob = resolve(uow, ob.id, for_update=True)
            changes = _changes(ob, cleaned)  # as it is now, after the lookup
            if not changes:
                return Notice(f"Nothing to correct: {ob.name} has these details already.")
            self._check(uow, ob, changes, now)
            old_email = ob.email
            edited = ob.edit(now, actor, changes)
            recorded = [edited]
            if tenant is not None:
                noted = tenant.apply(ob)[1]
                if noted is not None:
                    recorded.append(noted)
            for activity in recorded:
                record(uow, ob, activity, w.sync_after)
            if "email" in changes:
                uow.ledger.withdraw_mail(
                    ob.id,
                    old_email,
                    now,
                    f"not sent: the email address was corrected to {ob.email}",
                )
                for step in (Step(s) for s in edited.details["restarted"]):
                    enqueue_mail(
                        uow,
                        keys.corrected_address_mail(ob.id, step, edited.id),
                        mails.mail_for_step(
                            ob, step, w.partner_name, w.invitation_url(), w.transfer_link
                        ),
                        now,
                    )
            uow.onboardings.save(ob)
        return self.customers.after_change(
            ob.id, edited.message, recorded, tone=Tone.SUCCESS, actor=actor
        )

    @staticmethod
    def _check(uow: UnitOfWork, ob: Onboarding, changes: dict[str, str], now: datetime) -> None:
        """The guards (closed, tenant bound) and the duplicate domain, as enrollment has it."""
        ob.require(Change.EDIT)
        if changes.keys() & {"domain", "country"}:
            refusal = ob.refusal(Change.EDIT_TENANT)
            if refusal:
                raise NotAllowed(refusal)
        if "domain" in changes:
            domain = changes["domain"]
            holder = uow.onboardings.open_by_domains([domain]).get(domain)
            if holder is not None and holder.id != ob.id:
                raise ValidationError.for_fields(
                    {"domain": already_enrolled(holder, now)}, labels.ENROLL
                )


def _changes(ob: Onboarding, cleaned: dict[str, object]) -> dict[str, str]:
    """The fields whose cleaned value differs from what is recorded (the domain in any case)."""
    changed: dict[str, str] = {}
    for field, value in cleaned.items():
        current = str(getattr(ob, field))
        new = str(value)
        same = current.lower() == new.lower() if field == "domain" else current == new
        if not same:
            changed[field] = new
    return changed
