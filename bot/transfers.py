"""P2P transfers: moving billing from the customer's current partner, requested at
Microsoft with a mail to that partner, and cancelled or dropped on request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import keys, labels, mails
from bot.activity import SYSTEM_ACTOR, Activity, Actor
from bot.customers import Customers, resolve
from bot.domain import Change, Onboarding, P2PStatus, P2PTransfer, Step
from bot.errors import NotAllowed, ProviderError, ValidationError
from bot.forms import OTHER_PARTNER, p2p_form
from bot.history import enqueue_mail, record
from bot.ports import UnitOfWork
from bot.records import KnownPartner, Role, Transfer
from bot.schedule import RETRY_FOR, retry_delay, retry_timer
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
            ob.require(Change.INITIATE_P2P)
            if not ob.customer_tenant_id:
                raise NotAllowed(
                    f"The customer tenant of {ob.name} is not known yet; wait for "
                    "the reseller relationship to show in Partner Center."
                )
            answer = self._create(ob, ob.customer_tenant_id, transfer)
            changes = self._settle(uow, ob, transfer, answer, now, actor)
        if isinstance(answer, ProviderError) and answer.permanent:
            headline = f"Microsoft refused the P2P transfer request: {answer}"
        elif isinstance(answer, ProviderError):
            headline = (
                f"Microsoft did not answer yet ({answer}): the P2P transfer request is kept "
                "and sent again automatically; the card shows when it is there."
            )
        else:
            headline = f"P2P transfer request sent to {transfer.partner_name}."
        return self.customers.after_change(ob.id, headline, changes, actor=actor)

    def resend(self, onboarding_id: str) -> list[Activity]:
        """Sends again a transfer request Microsoft did not answer (the scheduler calls it);
        after a day without an answer the step Failed."""
        w = self.wiring
        now = w.clock.now()
        with w.store.transaction() as uow:
            ob = uow.onboardings.get(onboarding_id, for_update=True)
            if ob is None or not ob.is_open or ob.microsoft_wait(Step.P2P) is None:
                return []
            transfer, tenant_id = ob.p2p, ob.customer_tenant_id
            assert transfer is not None and tenant_id is not None
            answer = self._create(ob, tenant_id, transfer)
            return self._settle(uow, ob, transfer, answer, now, SYSTEM_ACTOR)

    def _create(
        self, ob: Onboarding, tenant_id: str, transfer: P2PTransfer
    ) -> Transfer | ProviderError:
        try:
            return self.wiring.microsoft.create_transfer(
                customer_tenant_id=tenant_id,
                partner_tenant_id=transfer.partner_tenant_id,
                partner_name=transfer.partner_name,
                customer_email=ob.email,
            )
        except ProviderError as err:
            return err

    def _settle(
        self,
        uow: UnitOfWork,
        ob: Onboarding,
        transfer: P2PTransfer,
        answer: Transfer | ProviderError,
        now: datetime,
        actor: Actor,
    ) -> list[Activity]:
        """Applies Partner Center's answer to a new transfer request (first try or resend):
        Pending with its mail to the current partner, kept to be sent again, or Failed with
        Microsoft's reason."""
        w = self.wiring
        first = transfer is not ob.p2p
        if isinstance(answer, ProviderError):
            waited = now - (ob.p2p_started_at or now) if not first else timedelta(0)
            if answer.permanent:
                change = ob.refuse_p2p(now, actor, transfer, str(answer))
            elif waited >= RETRY_FOR:
                change = ob.fail_p2p(
                    now,
                    SYSTEM_ACTOR,
                    f"Microsoft did not answer the transfer request for "
                    f"{RETRY_FOR // timedelta(hours=1)} hours (last: {answer})",
                )
            elif first:
                retry_at = now + retry_delay(timedelta(0), answer.retry_after)
                change = ob.keep_p2p_request(now, actor, transfer, str(answer), retry_at)
            else:
                transfer.waiting = str(answer) or transfer.waiting
                uow.timers.schedule(
                    [retry_timer(ob.id, Step.P2P, now + retry_delay(waited, answer.retry_after))]
                )
                uow.onboardings.save(ob)
                return []
        elif first:
            transfer.transfer_id, transfer.microsoft_expires_at = answer.id, answer.expires_at
            change = ob.initiate_p2p(now, actor, transfer)
        else:
            change = ob.p2p_created(now, answer.id, answer.expires_at)
        record(uow, ob, change, w.sync_after)
        uow.onboardings.save(ob)
        if not isinstance(answer, ProviderError):
            uow.partners.remember(
                KnownPartner(
                    transfer.partner_tenant_id, transfer.partner_name, transfer.partner_email
                )
            )
            enqueue_mail(
                uow,
                keys.p2p_request_mail(ob.id, answer.id),
                mails.p2p_request(ob, w.partner_name, w.transfer_link),
                now,
            )
        return [change]

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
