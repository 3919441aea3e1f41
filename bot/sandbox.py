"""`sandbox ...`: plays the customer or the current partner in the sandbox Microsoft backend,
then syncs as a webhook would, so the whole onboarding can be walked with no Microsoft
account."""

from __future__ import annotations

from dataclasses import dataclass

from bot.activity import Actor
from bot.customers import Customers, resolve
from bot.errors import NotAllowed, ValidationError
from bot.notices import tone_of_all
from bot.ports import CustomerSimulator
from bot.records import Role
from bot.steps import GdapStatus, P2PStatus, ResellerStatus
from bot.sync import MicrosoftSync
from bot.views import CustomerCard
from bot.wiring import Wiring

# What each action plays, as `help` and the error for an unknown one say it.
SANDBOX_ACTIONS: dict[str, str] = {
    "accept-reseller": "the customer accepts the reseller invitation",
    "approve-gdap": "the customer approves the GDAP request",
    "expire-gdap": "the relationship ends now (as when the customer removes auto-extend or "
    "terminates it); a request not approved yet ends as after Microsoft's 90 days",
    "accept-p2p": "the current partner accepts the transfer",
    "fail-p2p": "the current partner declines the transfer",
}


@dataclass
class SandboxDriver:
    wiring: Wiring
    customers: Customers
    sync: MicrosoftSync
    simulator: CustomerSimulator

    def play(self, action: str, reference: str, actor: Actor | None = None) -> CustomerCard:
        if actor:
            self.wiring.access.require(actor, Role.OPERATOR, "playing the customer in the sandbox")
        with self.wiring.store.transaction() as uow:
            ob = resolve(uow, reference)
        sim = self.simulator
        gdap_id = ob.gdap.relationship_id if ob.gdap else None
        transfer_id = ob.p2p.transfer_id if ob.p2p else None
        if action == "accept-reseller":
            _check(
                ob.reseller_status is ResellerStatus.IN_PROGRESS,
                f"The reseller relationship with {ob.name} is already Established.",
            )
            sim.accept_reseller(ob.domain, ob.name, ob.email, ob.country)
        elif action == "approve-gdap":
            _check(
                ob.gdap_status is GdapStatus.IN_PROGRESS,
                f"GDAP access for {ob.name} is {ob.gdap_status}, not In Progress.",
            )
            _check(
                gdap_id is not None,
                f"The GDAP request of {ob.name} is waiting for Microsoft: there is nothing "
                "to approve yet.",
            )
            assert gdap_id is not None
            sim.approve_gdap(gdap_id)
        elif action == "expire-gdap":
            _check(
                ob.gdap_status in (GdapStatus.IN_PROGRESS, GdapStatus.ESTABLISHED)
                and gdap_id is not None,
                f"GDAP access for {ob.name} is {ob.gdap_status}: there is no relationship to end.",
            )
            assert gdap_id is not None
            sim.expire_gdap(gdap_id)
        elif action in ("accept-p2p", "fail-p2p"):
            _check(
                ob.p2p_status is P2PStatus.PENDING and transfer_id is not None,
                f"The P2P transfer for {ob.name} is {ob.p2p_status}, not Pending.",
            )
            assert transfer_id is not None
            if action == "accept-p2p":
                sim.accept_transfer(transfer_id)
            else:
                sim.fail_transfer(transfer_id, "the current partner declined the transfer")
        else:
            raise ValidationError(
                f"Unknown sandbox action {action!r}. Use " + ", ".join(SANDBOX_ACTIONS) + "."
            )
        changes = self.sync.refresh(ob.id)
        headline = " ".join(a.message for a in changes) or "Nothing changed."
        return self.customers.after_change(
            ob.id, headline, changes, tone=tone_of_all(changes), actor=actor
        )


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise NotAllowed(message)
