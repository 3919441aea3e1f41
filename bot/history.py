"""Recording a change: the activity line, and in the same unit of work what it causes (the
channel notices it becomes and the due work it starts), so neither can be lost or doubled."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from bot.activity import Activity
from bot.domain import Onboarding
from bot.notices import notice_deliveries
from bot.ports import UnitOfWork
from bot.records import Delivery, Mail
from bot.schedule import timers_for
from bot.wiring import MAIL_CHANNEL


def record(
    uow: UnitOfWork, ob: Onboarding, activity: Activity, sync_after: timedelta | None
) -> None:
    uow.activities.append(activity)
    for delivery in notice_deliveries(activity, ob, uow.subscriptions.all(), activity.at):
        uow.ledger.enqueue(delivery)
    uow.timers.schedule(timers_for(activity, ob, sync_after))


def enqueue_mail(uow: UnitOfWork, key: str, mail: Mail, now: datetime) -> bool:
    """Puts a mail in the ledger under `key` (see `bot.keys`); False if it is there already.
    It leaves after the unit of work commits."""
    return uow.ledger.enqueue(Delivery(key, MAIL_CHANNEL, asdict(mail), now, mail.onboarding_id))
