"""Turns onboardings into view models: which actions apply now, and times in relative words."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import humanize
import idna

from bot.domain import (
    GDAP_AUTO_EXTEND_DAYS,
    REMINDER_DELAYS,
    STEP_TITLES,
    AccessState,
    Activity,
    ActivityKind,
    Change,
    GdapStatus,
    HubStatus,
    Lifecycle,
    Onboarding,
    OverallStatus,
    P2PStatus,
    ResellerStatus,
    Step,
    ordinal,
    reminder_due_at,
)
from bot.gdap_roles import role_names
from bot.group_access import ROLE_GROUPS_SETTING, pending_access, unmapped_roles
from bot.records import Role
from bot.tenants import no_tenant_line
from bot.text import scripts_of
from bot.tone import Tone
from bot.views import (
    Action,
    ActionRole,
    Confirmation,
    CustomerCard,
    CustomerRow,
    EventView,
    StepView,
)

FINISH_TEXT = (
    "The onboarding process is complete. The customer will be removed from the onboarding system."
)


def relative_time(at: datetime, now: datetime) -> str:
    """ "3 minutes ago", "yesterday", "3 days ago", as the seed's grid shows enrollment."""
    delta = now - at
    if delta < timedelta(0):
        return "just now"
    if delta < timedelta(minutes=1):
        return "now"  # "since 2 seconds ago" reads as noise, and depends on how busy we are
    if delta < timedelta(hours=24):
        return humanize.naturaltime(delta)
    if delta < timedelta(hours=48) or (now.date() - at.date()).days == 1:
        return "yesterday"
    return humanize.naturaltime(delta)


def confirm_text(ob: Onboarding, change: Change) -> str:
    """What a destructive or final change asks first: the one text buttons (Slack's confirm
    dialog) and confirmation answers both show."""
    if change is Change.FINISH:
        return FINISH_TEXT
    if change is Change.CANCEL_P2P:
        if ob.p2p_status is P2PStatus.PENDING:
            partner = ob.p2p.partner_name if ob.p2p else "the current partner"
            return (
                f"Cancel the P2P transfer request to {partner} for {ob.name}? The request is "
                "withdrawn in Partner Center."
            )
        return (
            f"Drop the {ob.p2p_status.value.lower()} P2P transfer of {ob.name}, so the "
            "onboarding can complete without it?"
        )
    if change is Change.CANCEL:
        extra = (
            " The pending P2P transfer request is withdrawn too."
            if ob.p2p_status is P2PStatus.PENDING
            else ""
        )
        return (
            f"Cancel the onboarding of {ob.name} ({ob.domain})? Pending work stops and the "
            f"customer is removed from the onboarding lists; its history is kept.{extra}"
        )
    raise ValueError(f"{change} asks no confirmation")


def confirmation(ob: Onboarding, change: Change) -> Confirmation:
    labels = {
        Change.FINISH: "Finish",
        Change.CANCEL: "Cancel onboarding",
        Change.CANCEL_P2P: "Cancel transfer"
        if ob.p2p_status is P2PStatus.PENDING
        else "Drop transfer",
    }
    return Confirmation(
        confirm_text(ob, change),
        f"{change.value} {ob.id} --yes",
        labels[change],
        None,
        danger=change is not Change.FINISH,
    )


# The role each kind of button needs: a button the viewer may not use is not shown (the use
# case behind it checks again).
NEEDS: dict[ActionRole, Role] = {
    ActionRole.FINISH: Role.ADMIN,
    ActionRole.CANCEL: Role.ADMIN,
    ActionRole.CANCEL_TRANSFER: Role.ADMIN,
    ActionRole.FORM: Role.OPERATOR,
    ActionRole.REMIND: Role.OPERATOR,
}


def customer_actions(ob: Onboarding, role: Role = Role.ADMIN) -> tuple[Action, ...]:
    """Every action that applies to the onboarding right now and that `role` may use, in the
    order a user needs them; whether one applies is the domain's answer
    (`Onboarding.allows`), never decided here."""
    return tuple(a for a in _customer_actions(ob) if _may(role, a))


def _may(role: Role, action: Action) -> bool:
    return role.covers(NEEDS.get(action.role, Role.VIEWER))


def _finish(ob: Onboarding) -> Action | None:
    if not ob.allows(Change.FINISH):
        return None
    return Action("Finish", f"finish {ob.id}", "primary", FINISH_TEXT, ActionRole.FINISH)


def _cancel(ob: Onboarding) -> Action | None:
    """Cancelling applies to every customer in onboarding."""
    if not ob.is_open:
        return None
    return Action(
        "Cancel onboarding",
        f"cancel {ob.id}",
        "danger",
        confirm_text(ob, Change.CANCEL),
        ActionRole.CANCEL,
    )


def _customer_actions(ob: Onboarding) -> tuple[Action, ...]:
    ref = ob.id
    log = Action("Activity log", f"log {ref}", role=ActionRole.LOG)
    if not ob.is_open:
        return (log,)
    actions: list[Action] = []
    finish = _finish(ob)
    if finish:
        actions.append(finish)
    reminders = {
        Step.RESELLER: "Send reminder email",
        Step.GDAP: "Send reminder email (GDAP)",
        Step.P2P: "Send reminder email (P2P)",
    }
    if ob.allows(Change.REMIND, Step.RESELLER):
        actions.append(
            Action(reminders[Step.RESELLER], f"remind {ref} reseller", role=ActionRole.REMIND)
        )
    if ob.allows(Change.REQUEST_GDAP):
        actions.append(
            Action("Create GDAP request", f"gdap {ref}", "primary", role=ActionRole.FORM)
        )
    if ob.allows(Change.REMIND, Step.GDAP):
        actions.append(Action(reminders[Step.GDAP], f"remind {ref} gdap", role=ActionRole.REMIND))
    if ob.allows(Change.START_HUB):
        actions.append(Action("Start MSP Hub access", f"hub {ref}", role=ActionRole.FORM))
    if ob.allows(Change.INITIATE_P2P):
        actions.append(Action("Initiate P2P transfer", f"p2p {ref}", role=ActionRole.FORM))
    if ob.allows(Change.REMIND, Step.P2P):
        actions.append(Action(reminders[Step.P2P], f"remind {ref} p2p", role=ActionRole.REMIND))
    if ob.allows(Change.CANCEL_P2P):
        label = "Cancel transfer" if ob.p2p_status is P2PStatus.PENDING else "Drop transfer"
        actions.append(
            Action(
                label,
                f"p2p cancel {ref}",
                "danger",
                confirm_text(ob, Change.CANCEL_P2P),
                ActionRole.CANCEL_TRANSFER,
            )
        )
    if ob.allows(Change.EDIT):
        actions.append(Action("Correct details", f"edit {ref}", role=ActionRole.FORM))
    cancel = _cancel(ob)
    if cancel:
        actions.append(cancel)
    actions.append(log)
    return tuple(actions)


def row_actions(ob: Onboarding, role: Role = Role.ADMIN) -> tuple[Action, ...]:
    """The grid's Actions column (the card's Finish and Cancel), plus the way into the card;
    only those two are worked out, not every action of the card, for each row of a page."""
    return (
        Action("Show", f"show {ob.id}", role=ActionRole.OPEN),
        *(a for a in (_finish(ob), _cancel(ob)) if a is not None and _may(role, a)),
    )


def domain_shown(domain: str) -> str:
    """A domain as people read it: an international one in Unicode with its ASCII (punycode)
    form beside it, and a warning when a label mixes writing systems (a look-alike)."""
    if "xn--" not in domain:
        return domain
    try:
        unicode = idna.decode(domain)
    except idna.IDNAError:
        return domain
    mixed = [s for label in unicode.split(".") if len(s := scripts_of(label)) > 1]
    warning = (
        f"; mixes {' and '.join(w.title() for w in mixed[0])} letters: check it is the "
        "customer's real domain"
        if mixed
        else ""
    )
    return f"{unicode} ({domain}{warning})"


CLOSING_KINDS = frozenset({ActivityKind.FINISHED, ActivityKind.CANCELLED})


def closed_line(ob: Onboarding, closing: Activity | None, now: datetime) -> str:
    """ "Finished 3 days ago by alice" / "Cancelled yesterday by bob": what became of a customer
    off the lists, when and by whom (the person's name, from the log); "" while open."""
    if ob.is_open:
        return ""
    line = ob.lifecycle.value.capitalize()
    if ob.closed_at:
        recent = now - ob.closed_at < timedelta(minutes=1)
        line += " just now" if recent else f" {relative_time(ob.closed_at, now)}"
    if closing is not None:
        line += f" by {closing.actor.name}"
    return line


def customer_row(
    ob: Onboarding, now: datetime, role: Role = Role.ADMIN, closing: Activity | None = None
) -> CustomerRow:
    """`closing`: the activity that finished or cancelled a closed onboarding (who did it)."""
    return CustomerRow(
        id=ob.id,
        name=ob.name,
        domain=domain_shown(ob.domain),
        reseller=ob.reseller_status.value,
        gdap=ob.gdap_status.value,
        hub=ob.hub_status.value,
        p2p=ob.p2p_status.value,
        overall=ob.overall_status.value if ob.is_open else ob.lifecycle.value.capitalize(),
        enrolled_at=ob.enrolled_at,
        enrolled=relative_time(ob.enrolled_at, now),
        actions=row_actions(ob, role),
        closed=closed_line(ob, closing, now),
    )


def event_view(activity: Activity, now: datetime) -> EventView:
    return EventView(
        activity.at, relative_time(activity.at, now), activity.actor.label, activity.message
    )


WAITS_FOR = {
    Step.RESELLER: "the customer to accept",
    Step.GDAP: "the customer to approve",
}


def waiting_line(ob: Onboarding, step: Step, activities: list[Activity], now: datetime) -> str:
    """Why a step waits and what comes next: who must act since when, how many of the three
    automatic reminders went out, and when the next one goes (or that they are spent); or
    that Microsoft has not answered the request yet, or is still assigning its roles."""
    started = ob.step_started_at(step)
    if started is None:
        return ""
    reason = ob.microsoft_wait(step)
    if reason is not None:
        return (
            f"Waiting for Microsoft since {relative_time(started, now)}: {reason} · "
            "the request is sent again automatically"
        )
    assigning = pending_access(ob) if step is Step.GDAP else []
    if assigning:
        groups = "group" if len(assigning) == 1 else "groups"
        return f"GDAP approved · assigning roles to {len(assigning)} {groups}"
    who = WAITS_FOR.get(step) or (
        f"{ob.p2p.partner_name} to accept" if ob.p2p else "the current partner to accept"
    )
    sent = sorted(
        {
            int(a.details["slot"])
            for a in activities
            if a.kind is ActivityKind.REMINDER_SENT
            and a.step is step
            and a.at >= started
            and a.details.get("slot")
        }
    )
    parts = [f"Waiting for {who} since {relative_time(started, now)}"]
    total = len(REMINDER_DELAYS)
    latest = max(sent, default=0)
    upcoming = [
        reminder_due_at(started, slot)
        for slot in range(1, total + 1)
        if slot not in sent and reminder_due_at(started, slot) > now
    ]
    if latest == total or (not upcoming and not sent and now - started >= REMINDER_DELAYS[-1]):
        # "3rd of 3 reminders sent · all 3 reminders sent" would say it twice.
        parts.append(f"all {total} reminders sent: contact {who.split(' to ')[0]}")
    else:
        if sent:
            parts.append(f"{ordinal(latest)} of {total} reminders sent")
        if upcoming:
            nxt = upcoming[0]
            parts.append(f"next reminder in {humanize.naturaldelta(nxt - now)} ({nxt:%d %b})")
        else:
            parts.append("next reminder due now")
    return " · ".join(parts)


def _step_details(
    ob: Onboarding,
    now: datetime,
    activities: list[Activity] | None = None,
    role_groups: Mapping[str, str] | None = None,
) -> dict[Step, str]:
    details: dict[Step, str] = {}
    if ob.is_open:
        for step in Step:
            if (
                step in ob.waiting_steps()
                or ob.microsoft_wait(step) is not None
                or (step is Step.GDAP and pending_access(ob))
            ):
                details[step] = waiting_line(ob, step, activities or [], now)

    def add(step: Step, text: str) -> None:
        details[step] = f"{details[step]}; {text}" if details.get(step) else text

    if ob.customer_tenant_id:
        add(Step.RESELLER, f"tenant {ob.customer_tenant_id}")
    elif ob.tenant_checked_at is not None and ob.reseller_status is ResellerStatus.IN_PROGRESS:
        add(Step.RESELLER, no_tenant_line(ob.domain))

    if ob.gdap:
        parts = [
            f'"{ob.gdap.relationship_name}", {ob.gdap.duration_days} days, '
            f"{len(ob.gdap.role_ids)} roles"
        ]
        if ob.gdap.ends_at and ob.gdap_status is GdapStatus.ESTABLISHED:
            parts.append(f"ends {ob.gdap.ends_at:%Y-%m-%d}")
        if ob.gdap_auto_extends:
            parts.append(f"auto-extends {GDAP_AUTO_EXTEND_DAYS} days")
        elif not ob.gdap.auto_extend:
            parts.append("no auto-extend (Global Administrator)")
        if ob.gdap_status is GdapStatus.IN_PROGRESS and ob.gdap.approval_url:
            parts.append(f"approval link {ob.gdap.approval_url}")
        lapses = ob.gdap.ends_unapproved_at
        if ob.gdap_status is GdapStatus.IN_PROGRESS and lapses and ob.gdap.relationship_id:
            parts.append(
                f"Microsoft ends the request {relative_future(lapses, now)} unless the "
                "customer approves it"
            )
        if ob.gdap_status is GdapStatus.ESTABLISHED:
            parts += access_lines(ob, now, role_groups or {})
        add(Step.GDAP, "; ".join(parts))
    if ob.p2p and ob.p2p_status is not P2PStatus.NOT_STARTED:
        text = f"from {ob.p2p.partner_name} <{ob.p2p.partner_email}>"
        if ob.p2p_status is P2PStatus.PENDING and ob.p2p.expires_at and ob.p2p.transfer_id:
            text += f"; expires {relative_future(ob.p2p.expires_at, now)}"
        add(Step.P2P, text)
    return details


def access_lines(ob: Onboarding, now: datetime, role_groups: Mapping[str, str]) -> list[str]:
    """Who in the partner tenant can use an Established relationship: the groups holding
    its roles, those Microsoft is still assigning or refused, and the roles nobody holds."""
    gdap = ob.gdap
    if gdap is None:
        return []
    lines = []
    for access in gdap.assignments:
        roles = gdap_roles_text(access.role_ids)
        if access.state is AccessState.ACTIVE:
            lines.append(f"group {access.group_id} holds {roles}")
        elif access.state is AccessState.FAILED:
            why = f" ({access.detail})" if access.detail else ""
            lines.append(f"group {access.group_id} failed to get {roles}{why}")
        elif access.state is AccessState.PENDING:
            since = f" since {relative_time(access.since, now)}" if access.since else ""
            lines.append(f"group {access.group_id} pending{since}: {roles}")
        else:
            why = f": {access.detail}" if access.detail else ""
            lines.append(f"group {access.group_id} waiting for Microsoft{why} ({roles})")
    if not role_groups and not gdap.assignments:
        lines.append(
            "nobody in your partner tenant can use this access until its roles are "
            f"assigned to security groups: set {ROLE_GROUPS_SETTING}"
        )
    elif role_groups:
        held = {role.lower() for a in gdap.assignments for role in a.role_ids}
        missing = [r for r in unmapped_roles(gdap.role_ids, role_groups) if r.lower() not in held]
        if missing:
            lines.append(
                f"no group holds {gdap_roles_text(missing)}: add them to {ROLE_GROUPS_SETTING}"
            )
    return lines


def relative_future(at: datetime, now: datetime) -> str:
    return (
        f"{at:%Y-%m-%d} ({humanize.naturaldelta(at - now)} left)"
        if at > now
        else (f"{at:%Y-%m-%d}")
    )


STEPS_DONE = frozenset(
    {ResellerStatus.ESTABLISHED, GdapStatus.ESTABLISHED, HubStatus.COMPLETED, P2PStatus.COMPLETED}
)
STEPS_BROKEN = frozenset(
    {GdapStatus.EXPIRED, GdapStatus.FAILED, P2PStatus.EXPIRED, P2PStatus.FAILED}
)


def step_tone(status: str) -> Tone:
    """How a step's status feels: done is a success, failed or expired a failure; waiting,
    not started or cancelled is information (reminders deal with waiting)."""
    if status in STEPS_DONE:
        return Tone.SUCCESS
    if status in STEPS_BROKEN:
        return Tone.FAILURE
    return Tone.INFO


def customer_card(
    ob: Onboarding,
    activities: list[Activity],
    now: datetime,
    headline: str = "",
    last_events: int = 5,
    *,
    tone: Tone = Tone.INFO,
    role: Role = Role.ADMIN,
    role_groups: Mapping[str, str] | None = None,
) -> CustomerCard:
    details = _step_details(ob, now, activities, role_groups)
    steps = tuple(
        StepView(STEP_TITLES[s], status, details.get(s, ""), step_tone(status))
        for s in Step
        for status in (ob.step_status(s),)
    )
    closed = None if ob.lifecycle is Lifecycle.OPEN else ob.lifecycle.value
    closing = next((a for a in reversed(activities) if a.kind in CLOSING_KINDS), None)
    return CustomerCard(
        row=customer_row(ob, now, role, closing),
        email=ob.email,
        country=ob.country,
        steps=steps,
        failure_reason=ob.failure_reason if ob.overall_status is OverallStatus.FAILED else None,
        recovery_hint=ob.recovery_hint(),
        events=tuple(event_view(a, now) for a in activities[-last_events:]),
        actions=customer_actions(ob, role),
        headline=headline,
        closed=closed,
        tone=tone,
    )


def gdap_roles_text(role_ids: list[str]) -> str:
    return ", ".join(role_names(role_ids))
