"""P2P transfers: moving billing from the customer's current partner, requested at
Microsoft with a mail to that partner, and cancelled or dropped on request."""

from __future__ import annotations

from dataclasses import dataclass

from bot import keys, labels, mails
from bot.activity import Actor
from bot.customers import Customers, resolve
from bot.domain import Change, P2PStatus, P2PTransfer
from bot.errors import NotAllowed, ValidationError
from bot.forms import OTHER_PARTNER, p2p_form
from bot.history import enqueue_mail, record
from bot.records import KnownPartner, Role
from bot.validation import clean_email, clean_name, clean_tenant_id, collect
from bot.views import Confirmation, CustomerCard, Form
from bot.wiring import Wiring


@dataclass
class Transfers:
    wiring: Wiring
    customers: Customers

    def form(self, reference: str, actor: Actor | None = None) -> Form:
        if actor:
            self.wiring.access.require(actor, Role.OPERATOR, "P2P transfers")
        with self.wiring.store.transaction() as uow:
            ob = resolve(uow, reference)
            partners = uow.partners.known()
        ob.require(Change.INITIATE_P2P)
        return p2p_form(ob, partners)

    def initiate(self, reference: str, values: dict[str, str], actor: Actor) -> CustomerCard:
        w = self.wiring
        w.access.require(actor, Role.OPERATOR, "P2P transfers")
        with w.store.transaction() as uow:
            known = {p.tenant_id: p for p in uow.partners.known()}
        choice = (values.get("partner") or OTHER_PARTNER).strip()
        if choice != OTHER_PARTNER and choice not in known:
            raise ValidationError.for_fields(
                {"partner": "Pick a partner from the list or Other."}, labels.P2P
            )
        chosen = known.get(choice)
        v = collect(
            {
                "partner_name": (
                    clean_name,
                    values.get("partner_name") or (chosen.name if chosen else ""),
                    labels.P2P["partner_name"],
                ),
                "partner_tenant_id": (
                    clean_tenant_id,
                    values.get("partner_tenant_id") or (chosen.tenant_id if chosen else ""),
                ),
                "partner_email": (
                    clean_email,
                    values.get("partner_email") or (chosen.email if chosen else ""),
                    labels.P2P["partner_email"],
                ),
            },
            labels.P2P,
        )
        now = w.clock.now()
        with w.store.transaction() as uow:
            ob = resolve(uow, reference, for_update=True)
            transfer = P2PTransfer(
                str(v["partner_name"]), str(v["partner_tenant_id"]), str(v["partner_email"])
            )
            pending = ob.initiate_p2p(now, actor, transfer)
            if not ob.customer_tenant_id:
                raise NotAllowed(
                    f"The customer tenant of {ob.name} is not known yet; wait for "
                    "the reseller relationship to show in Partner Center."
                )
            created = w.microsoft.create_transfer(
                customer_tenant_id=ob.customer_tenant_id,
                partner_tenant_id=transfer.partner_tenant_id,
                partner_name=transfer.partner_name,
                customer_email=ob.email,
            )
            transfer.transfer_id = created.id
            uow.onboardings.save(ob)
            record(uow, ob, pending, w.sync_after)
            uow.partners.remember(
                KnownPartner(
                    transfer.partner_tenant_id, transfer.partner_name, transfer.partner_email
                )
            )
            enqueue_mail(
                uow,
                keys.p2p_request_mail(ob.id, created.id),
                mails.p2p_request(ob, w.partner_name, w.transfer_link),
                now,
            )
        return self.customers.after_change(
            ob.id, f"P2P transfer request sent to {transfer.partner_name}.", [pending], actor=actor
        )

    def cancel(self, reference: str, actor: Actor) -> CustomerCard:
        w = self.wiring
        w.access.require(actor, Role.ADMIN, "cancelling a P2P transfer")
        now = w.clock.now()
        with w.store.transaction() as uow:
            ob = resolve(uow, reference, for_update=True)
            was_pending = ob.p2p_status is P2PStatus.PENDING
            cancelled = ob.cancel_p2p(now, actor)
            if was_pending and ob.p2p and ob.p2p.transfer_id and ob.customer_tenant_id:
                w.microsoft.cancel_transfer(ob.customer_tenant_id, ob.p2p.transfer_id)
            uow.onboardings.save(ob)
            record(uow, ob, cancelled, w.sync_after)
        headline = "P2P transfer cancelled." if was_pending else "P2P transfer dropped."
        return self.customers.after_change(ob.id, headline, [cancelled], actor=actor)

    def cancel_confirmation(self, reference: str, actor: Actor | None = None) -> Confirmation:
        return self.customers.confirmation(
            reference, Change.CANCEL_P2P, actor, "cancelling a P2P transfer"
        )
