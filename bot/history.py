"""Recording a change: the activity line, and in the same unit of work what it causes (the
channel notices it becomes and the due work it starts), so neither can be lost or doubled."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta

from bot import presenters
from bot.activity import Activity, ActivityKind
from bot.domain import STEP_TITLES, Onboarding
from bot.notices import notice_deliveries, steps_concerned
from bot.ports import UnitOfWork
from bot.records import Delivery, Mail
from bot.schedule import timers_for
from bot.wiring import MAIL_CHANNEL


def record(
    uow: UnitOfWork, ob: Onboarding, activity: Activity, sync_after: timedelta | None
) -> None:
    uow.activities.append(activity)
    subscriptions = uow.subscriptions.all()
    if subscriptions:
        waiting = waiting_lines(uow, ob, activity)
        for delivery in notice_deliveries(activity, ob, subscriptions, activity.at, waiting):
            uow.ledger.enqueue(delivery)
    uow.timers.schedule(timers_for(activity, ob, sync_after))


def record_all(
    uow: UnitOfWork, changes: list[tuple[Onboarding, Activity]], sync_after: timedelta | None
) -> None:
    """`record` for many changes at once (a scheduler batch's reminders): one multi-row
    write per table instead of a few statements per change. Each notice's waiting line is
    what `record` would have given, in the order given (a reminder counts itself and the
    ones before it, not those after)."""
    if not changes:
        return
    uow.activities.append_all([activity for _, activity in changes])
    subscriptions = uow.subscriptions.all()
    if subscriptions:
        new = {activity.id for _, activity in changes}
        histories: dict[str, list[Activity]] = {}
        notices: list[Delivery] = []
        for ob, activity in changes:
            if ob.id not in histories:  # read once, without the changes given: they are
                # added one by one, so each notice sees the log as `record` would have
                histories[ob.id] = [a for a in uow.activities.of(ob.id) if a.id not in new]
            histories[ob.id].append(activity)
            waiting = waiting_lines(uow, ob, activity, histories[ob.id])
            notices += notice_deliveries(activity, ob, subscriptions, activity.at, waiting)
        uow.ledger.enqueue_all(notices)
    uow.timers.schedule([t for ob, a in changes for t in timers_for(a, ob, sync_after)])


def waiting_lines(
    uow: UnitOfWork, ob: Onboarding, activity: Activity, history: list[Activity] | None = None
) -> tuple[str, ...]:
    """The card's "why is it waiting" line of each step the activity concerns that still
    waits, as it stands once the activity is recorded (a reminder counts itself); `history`
    is the onboarding's log up to and with it, when the caller has it."""
    steps = [
        s
        for s in steps_concerned(activity)
        if ob.is_open and (s in ob.waiting_steps() or ob.microsoft_wait(s) is not None)
    ]
    if not steps:
        return ()
    if history is None:
        history = [activity] if activity.kind is ActivityKind.ENROLLED else uow.activities.of(ob.id)
    return tuple(
        f"{STEP_TITLES[s]}: {line}"
        for s in steps
        if (line := presenters.waiting_line(ob, s, history, activity.at))
    )


def enqueue_mail(uow: UnitOfWork, key: str, mail: Mail, now: datetime) -> bool:
    """Puts a mail in the ledger under `key` (see `bot.keys`); False if it is there already.
    It leaves after the unit of work commits."""
    return uow.ledger.enqueue(mail_delivery(key, mail, now))


def mail_delivery(key: str, mail: Mail, now: datetime) -> Delivery:
    """The ledger entry of a mail under `key`, for `enqueue` or `enqueue_all`."""
    payload = {f.name: getattr(mail, f.name) for f in fields(mail)}  # flat: no deep copy
    return Delivery(key, MAIL_CHANNEL, payload, now, mail.onboarding_id)
