"""Turns onboardings into view models: which actions apply now, and times in relative words."""

from __future__ import annotations

from datetime import datetime, timedelta

import humanize

from bot.domain import (
    STEP_TITLES,
    Activity,
    GdapStatus,
    HubStatus,
    Lifecycle,
    Onboarding,
    OverallStatus,
    P2PStatus,
    ResellerStatus,
    Step,
)
from bot.gdap_roles import role_names
from bot.views import Action, CustomerCard, CustomerRow, EventView, StepView

FINISH_TEXT = (
    "The onboarding process is complete. The customer will be removed from the onboarding system."
)


def relative_time(at: datetime, now: datetime) -> str:
    """ "3 minutes ago", "yesterday", "3 days ago", as the seed's grid shows enrollment."""
    delta = now - at
    if delta < timedelta(0):
        return "just now"
    if delta < timedelta(hours=24):
        return humanize.naturaltime(delta)
    if delta < timedelta(hours=48) or (now.date() - at.date()).days == 1:
        return "yesterday"
    return humanize.naturaltime(delta)


def customer_actions(ob: Onboarding) -> tuple[Action, ...]:
    """Every action that applies to the onboarding right now, in the order a user needs them."""
    if not ob.is_open:
        return (Action("Activity log", f"log {ob.id}"),)
    ref = ob.id
    actions: list[Action] = []
    reseller_ok = ob.reseller_status is ResellerStatus.ESTABLISHED
    if ob.overall_status is OverallStatus.COMPLETED:
        actions.append(Action("Finish", f"finish {ref}", "primary", FINISH_TEXT))
    if ob.reseller_status is ResellerStatus.IN_PROGRESS:
        actions.append(Action("Send reminder email", f"remind {ref} reseller"))
    if reseller_ok and ob.gdap_status in (
        GdapStatus.NOT_STARTED,
        GdapStatus.EXPIRED,
        GdapStatus.FAILED,
    ):
        actions.append(Action("Create GDAP request", f"gdap {ref}", "primary"))
    if ob.gdap_status is GdapStatus.IN_PROGRESS:
        actions.append(Action("Send reminder email (GDAP)", f"remind {ref} gdap"))
    if ob.hub_status is HubStatus.NOT_STARTED:
        actions.append(Action("Start MSP Hub access", f"hub {ref}"))
    if reseller_ok and ob.p2p_status in (
        P2PStatus.NOT_STARTED,
        P2PStatus.CANCELLED,
        P2PStatus.EXPIRED,
        P2PStatus.FAILED,
    ):
        actions.append(Action("Initiate P2P transfer", f"p2p {ref}"))
    if ob.p2p_status is P2PStatus.PENDING:
        actions.append(Action("Send reminder email (P2P)", f"remind {ref} p2p"))
        actions.append(
            Action(
                "Cancel transfer",
                f"p2p cancel {ref}",
                "danger",
                f"Cancel the P2P transfer request for {ob.name}?",
            )
        )
    elif ob.p2p_status in (P2PStatus.EXPIRED, P2PStatus.FAILED):
        actions.append(
            Action(
                "Drop transfer",
                f"p2p cancel {ref}",
                "danger",
                f"Drop the {ob.p2p_status.value.lower()} P2P transfer of {ob.name}"
                " so the onboarding can complete without it?",
            )
        )
    actions.append(
        Action(
            "Cancel onboarding",
            f"cancel {ref}",
            "danger",
            f"Cancel the onboarding of {ob.name}? Pending work stops and the "
            "customer is removed from the onboarding lists.",
        )
    )
    actions.append(Action("Activity log", f"log {ref}"))
    return tuple(actions)


def row_actions(ob: Onboarding) -> tuple[Action, ...]:
    """The grid's Actions column (Cancel/Finish), plus the way into the card."""
    keep = {"Finish", "Cancel onboarding"}
    return (Action("Show", f"show {ob.id}"), *(a for a in customer_actions(ob) if a.label in keep))


def customer_row(ob: Onboarding, now: datetime) -> CustomerRow:
    return CustomerRow(
        id=ob.id,
        name=ob.name,
        domain=ob.domain,
        reseller=ob.reseller_status.value,
        gdap=ob.gdap_status.value,
        hub=ob.hub_status.value,
        p2p=ob.p2p_status.value,
        overall=ob.overall_status.value,
        enrolled_at=ob.enrolled_at,
        enrolled=relative_time(ob.enrolled_at, now),
        actions=row_actions(ob),
    )


def event_view(activity: Activity, now: datetime) -> EventView:
    return EventView(
        activity.at, relative_time(activity.at, now), activity.actor.label, activity.message
    )


def _step_details(ob: Onboarding, now: datetime) -> dict[Step, str]:
    details: dict[Step, str] = {}
    if ob.customer_tenant_id:
        details[Step.RESELLER] = f"tenant {ob.customer_tenant_id}"
    if ob.gdap:
        parts = [
            f'"{ob.gdap.relationship_name}", {ob.gdap.duration_days} days, '
            f"{len(ob.gdap.role_ids)} roles"
        ]
        if ob.gdap.ends_at and ob.gdap_status is GdapStatus.ESTABLISHED:
            parts.append(f"ends {ob.gdap.ends_at:%Y-%m-%d}")
        parts.append(
            "auto-extends 180 days"
            if ob.gdap.auto_extend
            else "no auto-extend (Global Administrator)"
        )
        if ob.gdap_status is GdapStatus.IN_PROGRESS and ob.gdap.approval_url:
            parts.append(f"approval link {ob.gdap.approval_url}")
        details[Step.GDAP] = "; ".join(parts)
    if ob.p2p and ob.p2p_status is not P2PStatus.NOT_STARTED:
        text = f"from {ob.p2p.partner_name} <{ob.p2p.partner_email}>"
        if ob.p2p_status is P2PStatus.PENDING and ob.p2p.expires_at:
            text += f"; expires {relative_future(ob.p2p.expires_at, now)}"
        details[Step.P2P] = text
    return details


def relative_future(at: datetime, now: datetime) -> str:
    return (
        f"{at:%Y-%m-%d} ({humanize.naturaldelta(at - now)} left)"
        if at > now
        else (f"{at:%Y-%m-%d}")
    )


def customer_card(
    ob: Onboarding,
    activities: list[Activity],
    now: datetime,
    headline: str = "",
    last_events: int = 5,
) -> CustomerCard:
    details = _step_details(ob, now)
    steps = tuple(StepView(STEP_TITLES[s], ob.step_status(s), details.get(s, "")) for s in Step)
    closed = None if ob.lifecycle is Lifecycle.OPEN else ob.lifecycle.value
    return CustomerCard(
        row=customer_row(ob, now),
        email=ob.email,
        country=ob.country,
        steps=steps,
        failure_reason=ob.failure_reason if ob.overall_status is OverallStatus.FAILED else None,
        recovery_hint=ob.recovery_hint(),
        events=tuple(event_view(a, now) for a in activities[-last_events:]),
        actions=customer_actions(ob),
        headline=headline,
        closed=closed,
    )


def gdap_roles_text(role_ids: list[str]) -> str:
    return ", ".join(role_names(role_ids))
