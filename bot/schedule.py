"""When due work falls: reminder slots, expiries, sync back-off and digest times; pure math.

The timers are derived from the activity that starts the work, in the same transaction, so
the database alone knows what is due (APScheduler only wakes the job that looks).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import keys
from bot.activity import Activity, ActivityKind
from bot.domain import REMINDER_DELAYS, Onboarding, Step, gdap_ending_warnings, reminder_due_at
from bot.records import DigestFrequency, Timer, TimerKind

SYNC_FIRST = timedelta(minutes=15)
SYNC_LONGEST = timedelta(hours=4)
SYNC_FRACTION = 6  # poll again after a sixth of the time the step has waited so far
RETRY_FIRST = timedelta(minutes=1)  # a request Microsoft did not answer is sent again after
RETRY_LONGEST = timedelta(minutes=30)
RETRY_FOR = timedelta(hours=24)  # then the step is Failed: Microsoft is down, not slow
ACCESS_POLL_FIRST = timedelta(minutes=1)  # Microsoft provisions assignments in minutes
ACCESS_POLL_LONGEST = timedelta(hours=1)


# -- onboarding timers --------------------------------------------------------------------


def reminder_timers(ob: Onboarding, step: Step) -> list[Timer]:
    started = ob.step_started_at(step)
    if started is None:
        return []
    return [
        Timer(
            keys.reminder(ob.id, step, started, slot),
            TimerKind.REMINDER,
            reminder_due_at(started, slot),
            ob.id,
            step.value,
            slot,
        )
        for slot in range(1, len(REMINDER_DELAYS) + 1)
    ]


def sync_timer(onboarding_id: str, due_at: datetime) -> Timer:
    """One per onboarding, moved on after every run (see `sync_interval`)."""
    return Timer(keys.sync(onboarding_id), TimerKind.SYNC, due_at, onboarding_id, replace=True)


def gdap_end_timers(ob: Onboarding, now: datetime) -> list[Timer]:
    """The end of the relationship as it stands, and (without auto-extend) the warnings
    before it that are still ahead of `now`."""
    gdap = ob.gdap
    if gdap is None or gdap.ends_at is None:
        return []
    ends = gdap.ends_at
    timers = [
        Timer(
            keys.gdap_end(ob.id, gdap.relationship_id, ends),
            TimerKind.GDAP_END,
            ends,
            ob.id,
            Step.GDAP.value,
        )
    ]
    if not gdap.auto_extend:
        timers += [
            Timer(
                keys.gdap_ending(ob.id, gdap.relationship_id, ends, days),
                TimerKind.GDAP_ENDING,
                at,
                ob.id,
                Step.GDAP.value,
                days,
            )
            for days, at in gdap_ending_warnings(ends, now)
        ]
    return timers


def retry_delay(waited: timedelta, retry_after: float | None = None) -> timedelta:
    """When to send again a request Microsoft did not answer: a minute at first, then a
    sixth of the time it has waited, at most every 30 minutes; never sooner than Microsoft
    asked (Retry-After)."""
    delay = max(RETRY_FIRST, min(RETRY_LONGEST, waited / SYNC_FRACTION))
    return max(delay, timedelta(seconds=retry_after or 0))


def retry_timer(onboarding_id: str, step: Step, due_at: datetime) -> Timer:
    return Timer(
        keys.microsoft_retry(onboarding_id, step),
        TimerKind.MICROSOFT_RETRY,
        due_at,
        onboarding_id,
        step.value,
        replace=True,
    )


def access_poll_interval(waited: timedelta) -> timedelta:
    """Polling of access assignments still pending: every minute at first, backing off to
    hourly for one that takes long (Microsoft usually provisions them in minutes)."""
    return max(ACCESS_POLL_FIRST, min(ACCESS_POLL_LONGEST, waited / SYNC_FRACTION))


def access_timer(onboarding_id: str, relationship_id: str, due_at: datetime) -> Timer:
    return Timer(
        keys.gdap_access(onboarding_id, relationship_id),
        TimerKind.GDAP_ACCESS,
        due_at,
        onboarding_id,
        Step.GDAP.value,
        replace=True,
    )


def p2p_expiry_timer(ob: Onboarding) -> list[Timer]:
    """The end of a pending transfer: Partner Center's own expiry, else the product's 30 days."""
    if ob.p2p is None or ob.p2p.expires_at is None:
        return []
    return [
        Timer(
            keys.p2p_expiry(ob.id, ob.p2p.expires_at),
            TimerKind.P2P_EXPIRY,
            ob.p2p.expires_at,
            ob.id,
            Step.P2P.value,
        )
    ]


RETRY_FROM: dict[ActivityKind, Step] = {
    ActivityKind.GDAP_WAITING: Step.GDAP,
    ActivityKind.P2P_WAITING: Step.P2P,
}

WAITING_FROM: dict[ActivityKind, Step] = {
    ActivityKind.ENROLLED: Step.RESELLER,
    ActivityKind.GDAP_REQUESTED: Step.GDAP,
    ActivityKind.P2P_PENDING: Step.P2P,
}


def timers_for(
    activity: Activity, ob: Onboarding, sync_after: timedelta | None = SYNC_FIRST
) -> list[Timer]:
    """The due work an activity starts: reminders, the transfer's expiry, the end of a GDAP
    relationship (and its warnings), the fallback sync of steps waiting on the customer, and
    the resend of a request Microsoft did not answer."""
    timers: list[Timer] = []
    step = WAITING_FROM.get(activity.kind)
    if step is not None and step in ob.waiting_steps():
        timers += reminder_timers(ob, step)
        if sync_after is not None:
            timers.append(sync_timer(ob.id, activity.at + sync_after))
    if activity.kind is ActivityKind.EDITED:  # a corrected address: its reminders start again
        for restarted in activity.details.get("restarted") or ():
            if Step(restarted) in ob.waiting_steps():
                timers += reminder_timers(ob, Step(restarted))
    if step is Step.P2P and step in ob.waiting_steps():
        timers += p2p_expiry_timer(ob)
    retry = RETRY_FROM.get(activity.kind)
    if retry is not None and "retry_at" in activity.details:
        due = datetime.fromisoformat(str(activity.details["retry_at"]))
        timers.append(retry_timer(ob.id, retry, due))
    if activity.kind in (ActivityKind.GDAP_ESTABLISHED, ActivityKind.GDAP_EXTENDED):
        timers += gdap_end_timers(ob, activity.at)
    return timers


def sync_interval(waited: timedelta) -> timedelta:
    """Back-off for the fallback poll: every 15 minutes at first, then a sixth of the time
    waited, at most every 4 hours (a step that waited 2 days is unlikely to move this minute,
    and webhooks remain the fast path)."""
    return max(SYNC_FIRST, min(SYNC_LONGEST, waited / SYNC_FRACTION))


def oldest_wait(ob: Onboarding, now: datetime) -> timedelta | None:
    starts = [s for s in (ob.step_started_at(step) for step in ob.waiting_steps()) if s]
    return now - min(starts) if starts else None


# -- digest times ---------------------------------------------------------------------------


def _occurrence(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The wall-clock time on that day in `zone`. A time that does not exist (spring forward)
    falls an hour later; a time that happens twice (fall back) is its first occurrence.
    In UTC, so comparisons are between instants, not wall-clock readings."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _days(frequency: DigestFrequency, weekday: int | None, around: date, span: range) -> list[date]:
    days = [around + timedelta(days=d) for d in span]
    if frequency is DigestFrequency.WEEKLY:
        days = [d for d in days if d.weekday() == weekday]
    return days


def next_digest_at(
    frequency: DigestFrequency, weekday: int | None, at: time, zone: ZoneInfo, after: datetime
) -> datetime:
    """The first digest time strictly after `after` (UTC)."""
    local = after.astimezone(zone).date()
    for day in _days(frequency, weekday, local, range(-1, 9)):
        candidate = _occurrence(day, at, zone)
        if candidate > after:
            return candidate
    raise AssertionError("a digest falls at least once a week")


def latest_digest_at(
    frequency: DigestFrequency, weekday: int | None, at: time, zone: ZoneInfo, now: datetime
) -> datetime:
    """The last digest time at or before `now` (UTC): the period a late digest reports."""
    local = now.astimezone(zone).date()
    for day in reversed(_days(frequency, weekday, local, range(-8, 2))):
        candidate = _occurrence(day, at, zone)
        if candidate <= now:
            return candidate
    raise AssertionError("a digest falls at least once a week")


def digest_period(occurrence: datetime, zone: ZoneInfo) -> str:
    """The ledger's period for a digest: the local date it is for (one per day or week)."""
    return occurrence.astimezone(zone).date().isoformat()
