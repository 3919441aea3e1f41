"""What a user may ask of an onboarding right now, and why not: the one home of every guard.
Transitions, forms, buttons and confirmations all ask here (through `Onboarding.refusal`),
so the rule and its message are never copied."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.rules import Change
from bot.steps import (
    STEP_TITLES,
    GdapStatus,
    HubStatus,
    Lifecycle,
    OverallStatus,
    P2PStatus,
    ResellerStatus,
    Step,
)

if TYPE_CHECKING:
    from bot.domain import Onboarding


def refusal(ob: Onboarding, change: Change, step: Step | None = None) -> str | None:
    """Why `change` cannot be made now, in words the user can act on; None if it can.
    The one home of every guard: transitions, forms, buttons and confirmations ask here."""
    if ob.lifecycle is Lifecycle.FINISHED:
        return f"{ob.name} was already finished and is no longer in onboarding."
    if ob.lifecycle is Lifecycle.CANCELLED:
        return f"The onboarding of {ob.name} was cancelled."
    if change is Change.REQUEST_GDAP:
        if ob.reseller_status is not ResellerStatus.ESTABLISHED:
            return _needs_reseller(ob, "A GDAP request")
        if ob.gdap_status in (GdapStatus.IN_PROGRESS, GdapStatus.ESTABLISHED):
            return f"GDAP access for {ob.name} is already {ob.gdap_status}."
    elif change is Change.START_HUB:
        if ob.hub_status is not HubStatus.NOT_STARTED:
            return f"MSP Hub access for {ob.name} is already {ob.hub_status}."
    elif change is Change.INITIATE_P2P:
        if ob.reseller_status is not ResellerStatus.ESTABLISHED:
            return _needs_reseller(ob, "A P2P transfer")
        if ob.p2p_status in (P2PStatus.PENDING, P2PStatus.COMPLETED):
            return f"The P2P transfer for {ob.name} is already {ob.p2p_status}."
    elif change is Change.CANCEL_P2P:
        if ob.p2p_status not in (P2PStatus.PENDING, P2PStatus.EXPIRED, P2PStatus.FAILED):
            return f"There is no P2P transfer to cancel for {ob.name} (it is {ob.p2p_status})."
    elif change is Change.REMIND:
        if step is None and not ob.waiting_steps():
            return f"Nothing is waiting for {ob.name}: no reminder to send."
        if step is not None and ob.microsoft_wait(step) is not None:
            return (
                f"The {STEP_TITLES[step]} request of {ob.name} is waiting for Microsoft: "
                "nobody has anything to act on yet, so no reminder is sent."
            )
        if step is not None and step not in ob.waiting_steps():
            return (
                f"{STEP_TITLES[step]} for {ob.name} is {ob.step_status(step)}: "
                "there is nothing to remind about."
            )
    elif change is Change.EDIT_TENANT and ob.reseller_status is ResellerStatus.ESTABLISHED:
        tenant = f" ({ob.customer_tenant_id})" if ob.customer_tenant_id else ""
        return (
            f"The domain and country of {ob.name} can no longer change: the reseller "
            f"relationship is Established, so the customer's tenant{tenant} is already bound. "
            "If this is the wrong customer, cancel it and enroll the right one."
        )
    elif change is Change.FINISH and ob.overall_status is not OverallStatus.COMPLETED:
        missing = [f"{STEP_TITLES[s]} is {ob.step_status(s)}" for s in Step if not ob.step_done(s)]
        return f"{ob.name} cannot be finished yet: " + "; ".join(missing) + "."
    return None


def _needs_reseller(ob: Onboarding, what: str) -> str:
    return (
        f"{what} needs the reseller relationship with {ob.name} first: it is still "
        "In Progress. Send a reminder email, and try again once the customer accepts."
    )
