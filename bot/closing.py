"""Leaving onboarding: Finish once every step is done, or Cancel at any time; both ask
first, and the history stays."""

from __future__ import annotations

from dataclasses import dataclass

from bot.activity import SYSTEM_ACTOR, ActivityKind, Actor
from bot.customers import Customers, resolve
from bot.domain import Change
from bot.errors import ProviderError
from bot.history import record
from bot.records import Role
from bot.steps import P2PStatus, Step
from bot.tone import Tone
from bot.views import Confirmation, CustomerCard
from bot.wiring import Wiring


@dataclass
class Closing:
    wiring: Wiring
    customers: Customers

    def finish_confirmation(self, reference: str, actor: Actor | None = None) -> Confirmation:
        return self.customers.confirmation(
            reference, Change.FINISH, actor, "finishing an onboarding"
        )

    def finish(self, reference: str, actor: Actor) -> CustomerCard:
        w = self.wiring
        w.access.require(actor, Role.ADMIN, "finishing an onboarding")
        with w.store.transaction() as uow:
            ob = resolve(uow, reference, for_update=True)
            finished = ob.finish(w.clock.now(), actor)
            record(uow, ob, finished, w.sync_after)
            uow.onboardings.save(ob)
        return self.customers.after_change(
            ob.id,
            f"{ob.name} finished onboarding and was removed from the onboarding lists.",
            [finished],
            actor=actor,
        )

    def cancel_confirmation(self, reference: str, actor: Actor | None = None) -> Confirmation:
        return self.customers.confirmation(
            reference, Change.CANCEL, actor, "cancelling an onboarding"
        )

    def cancel(self, reference: str, actor: Actor) -> CustomerCard:
        w = self.wiring
        w.access.require(actor, Role.ADMIN, "cancelling an onboarding")
        now = w.clock.now()
        with w.store.transaction() as uow:
            ob = resolve(uow, reference, for_update=True)
            transfer = ob.p2p if ob.p2p_status is P2PStatus.PENDING else None
            cancelled = ob.cancel(now, actor)
            record(uow, ob, cancelled, w.sync_after)
            changes = [cancelled]
            if transfer and transfer.transfer_id and ob.customer_tenant_id:
                try:
                    w.microsoft.cancel_transfer(ob.customer_tenant_id, transfer.transfer_id)
                except ProviderError as err:
                    failed = ob.note(
                        now,
                        SYSTEM_ACTOR,
                        ActivityKind.P2P_CANCEL_FAILED,
                        f"Could not withdraw the transfer at Microsoft: {err}. "
                        "Cancel it in Partner Center.",
                        Step.P2P,
                    )
                    record(uow, ob, failed, w.sync_after)
                    changes.append(failed)
            uow.onboardings.save(ob)
        tone = Tone.SUCCESS if len(changes) == 1 else Tone.ATTENTION
        return self.customers.after_change(
            ob.id, f"Onboarding of {ob.name} cancelled.", changes, tone=tone, actor=actor
        )
