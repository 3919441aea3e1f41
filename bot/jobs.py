"""Due work at an instant: automatic reminders, expiries, fallback syncs, digests, then the
delivery ledger. The scheduler runs `run_due` every few seconds; `app.py tick` runs it once.

What is due, and who does it, is decided in the database: each timer is claimed with a lease
(`FOR UPDATE SKIP LOCKED` on PostgreSQL), and every action re-checks the onboarding as it is
now and finishes its timer in the same transaction as the change it makes. A worker that dies
mid-way leaves its claims to expire and be taken again; the ledger keys make the retry send
nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import digest as digests
from bot import keys
from bot.domain import GdapStatus, Onboarding, P2PStatus, Step, ordinal
from bot.group_access import pending_access
from bot.ports import UnitOfWork
from bot.records import Timer, TimerKind, TimerState
from bot.schedule import oldest_wait, sync_interval
from bot.service import OnboardingService

log = logging.getLogger(__name__)

# Timers claimed at a time. The due reminders among them are sent in one transaction, so
# a larger batch costs fewer round trips per reminder: 1,000 due reminders took 2.3-2.5x
# the floor of writing their rows at 250 against 3.0-3.4x at 100 (bench.tick, both
# databases). Beyond that no gain was measured, and the batch's onboardings stay locked
# (an edit of one of them waits) for as long as the batch takes.
BATCH = 250
LEASE_SECONDS = 300  # a claim older than this is free again (its worker died or hangs)
GIVE_UP_AFTER = 20  # attempts before a timer that keeps failing is dropped (and logged)
MICROSOFT_LAG = timedelta(hours=1)  # recheck a relationship Microsoft has not ended yet
DIGESTS_PER_RUN = 500


@dataclass
class DueWork:
    """What one run did; `line()` is what `app.py tick` prints."""

    at: datetime
    reminders: int = 0
    skipped: int = 0
    expired: int = 0
    warnings: int = 0
    syncs: int = 0
    changes: int = 0
    digests: int = 0
    resumed: int = 0  # bulk imports whose worker died, finished here
    delivered: int = 0
    failed: int = 0

    def line(self) -> str:
        return (
            f"{self.at.isoformat()}: {self.reminders} reminders sent, {self.skipped} "
            f"skipped, {self.expired} expired, {self.warnings} GDAP end warnings, "
            f"{self.syncs} syncs ({self.changes} changes), {self.digests} digests, "
            f"{self.delivered} delivered"
            + (f", {self.resumed} bulk imports resumed" if self.resumed else "")
            + (f", {self.failed} failed" if self.failed else "")
        )


def run_due(
    service: OnboardingService, *, batch: int = BATCH, lease_seconds: int = LEASE_SECONDS
) -> DueWork:
    """Runs everything due at the service clock's current instant, then sends what it
    caused (once, at the end of the batch, so many notices to one channel are merged), and
    retries earlier deliveries that are due again. Safe to run in several processes at once."""
    now = service.clock.now()
    work = DueWork(now)
    sent_before = service.delivery.sent_total
    with service.store.batched():
        while True:
            with service.store.transaction() as uow:
                timers = uow.timers.claim(now, batch, lease_seconds)
            together, alone = _reminders_apart(timers)
            _run_each(service, alone, now, work)
            _reminders_together(service, together, now, work)
            if len(timers) < batch:
                break
        work.digests = send_due_digests(service, now)
        work.resumed = service.bulk.resume_interrupted()
    service.delivery.deliver_pending()  # retries whose back-off has passed
    work.delivered = service.delivery.sent_total - sent_before
    return work


def _run_each(
    service: OnboardingService, timers: list[Timer], now: datetime, work: DueWork
) -> None:
    """Each timer in its own transaction; one that fails is logged and left claimed, to be
    taken again when its lease expires, and the others go on."""
    for timer in timers:
        try:
            _run(service, timer, now, work)
        except Exception:
            work.failed += 1
            log.exception(
                "due work %s failed (attempt %s); retried when its claim expires",
                timer.key,
                timer.attempts,
            )


def _run(service: OnboardingService, timer: Timer, now: datetime, work: DueWork) -> None:
    if timer.attempts > GIVE_UP_AFTER:
        log.error("due work %s failed %s times; dropped", timer.key, timer.attempts - 1)
        with service.store.transaction() as uow:
            uow.timers.finish(timer.id or 0, TimerState.SKIPPED, now, "gave up after failures")
        return
    handler = {
        TimerKind.REMINDER: _reminder,
        TimerKind.P2P_EXPIRY: _p2p_expiry,
        TimerKind.GDAP_END: _gdap_end,
        TimerKind.GDAP_ENDING: _gdap_ending,
        TimerKind.SYNC: _sync,
        TimerKind.MICROSOFT_RETRY: _microsoft_retry,
        TimerKind.GDAP_ACCESS: _gdap_access,
    }[timer.kind]
    handler(service, timer, now, work)


def _skip(uow: UnitOfWork, timer: Timer, now: datetime, work: DueWork, why: str) -> None:
    uow.timers.finish(timer.id or 0, TimerState.SKIPPED, now, why)
    work.skipped += 1


# -- reminders -------------------------------------------------------------------------------


def _reminders_apart(timers: list[Timer]) -> tuple[list[Timer], list[Timer]]:
    """The claimed batch split into the reminders handled together and the rest, run one by
    one, in claim order, before them: an expiry or sync then runs before the reminders of
    its onboarding are decided, so they see what it found (a step Microsoft says is done
    gets no reminder). A reminder that has failed before goes with the rest, and so do the
    other reminders of its onboarding: it is given up on or retried by itself."""
    by_itself = {t.onboarding_id for t in timers if t.kind is TimerKind.REMINDER and t.attempts > 1}
    together, alone = [], []
    for timer in timers:
        if (
            timer.kind is TimerKind.REMINDER
            and timer.onboarding_id
            and timer.onboarding_id not in by_itself
        ):
            together.append(timer)
        else:
            alone.append(timer)
    return together, alone


def _reminders_together(
    service: OnboardingService, timers: list[Timer], now: datetime, work: DueWork
) -> None:
    """The reminders of one claimed batch in ONE transaction: their onboardings read (and
    locked) in one query, their reminder timers in another, each decided as `_reminder`
    decides, then the mail, activities, timer outcomes and onboarding saves written with one
    multi-row statement per table. Per reminder one by one, the transaction and its small
    statements cost twenty times the rows they write.

    The guarantees are those of one by one: the timers are this worker's claims (leased,
    skipped by other workers on PostgreSQL), the onboardings are locked before anything is
    decided, and each mail's ledger key is unique, so a reminder is sent at most once even
    if two workers decide on it. If the batch fails (one reminder's data the mail cannot be
    made from, a save that lost a race), nothing of it is written; rather than letting the
    whole batch wait out its lease and fail again together, each reminder is then run alone
    in its own transaction (`_run_each`): the good ones go out now and the failing one is
    logged with its timer key, and retried by itself when its claim expires."""
    if not timers:
        return
    try:
        _reminders_in_one_transaction(service, timers, now, work)
    except Exception as err:  # the first line only: a store error's later ones hold the rows
        first = (str(err).splitlines() or [""])[0][:300]
        log.warning(
            "the batch of %d reminders failed together (%s: %s); running each alone",
            len(timers),
            type(err).__name__,
            first,
        )
        _run_each(service, timers, now, work)


def _reminders_in_one_transaction(
    service: OnboardingService, timers: list[Timer], now: datetime, work: DueWork
) -> None:
    """Decides and writes `timers` in one transaction; `work` counts them only once it
    committed."""
    done = DueWork(now)
    with service.store.transaction() as uow:
        _decide_reminders(service, uow, timers, now, done)
    work.reminders += done.reminders
    work.skipped += done.skipped


def _decide_reminders(
    service: OnboardingService, uow: UnitOfWork, timers: list[Timer], now: datetime, work: DueWork
) -> None:
    ids = [t.onboarding_id or "" for t in timers]
    obs = uow.onboardings.get_many(ids, for_update=True)  # serialises a step's slots
    series_of = uow.timers.of_many(ids, TimerKind.REMINDER)
    finished: dict[int, tuple[TimerState, str]] = {}
    sending: list[tuple[Timer, Onboarding, Step, int]] = []

    def finish(timer: Timer, state: TimerState, outcome: str) -> None:
        timer.state = state  # later timers of the batch see it finished, as one by one
        finished[timer.id or 0] = (state, outcome)
        if state is TimerState.SKIPPED:
            work.skipped += 1

    for timer in timers:
        step, slot = Step(timer.step or ""), timer.slot or 0
        ob = obs.get(timer.onboarding_id or "")
        series = [
            t
            for t in series_of.get(timer.onboarding_id or "", [])
            if keys.reminder_series(t.key) == keys.reminder_series(timer.key)
        ]
        mine = next((t for t in series if t.id == timer.id), None)
        if mine is None or mine.state is not TimerState.PENDING:
            continue  # finished meanwhile by another worker
        why = _reminder_refusal(ob, mine, series, step, slot, now)
        if why is not None or ob is None:
            finish(mine, TimerState.SKIPPED, why or "onboarding closed")
            continue
        sending.append((mine, ob, step, slot))
        for older in series:
            if (older.slot or 0) < slot and older.state is TimerState.PENDING:
                finish(older, TimerState.SKIPPED, f"superseded by the {ordinal(slot)} reminder")
        mine.state = TimerState.DONE  # decided: not pending for the rest of the batch
    sent = service.reminders.send_automatic_all(uow, [(ob, s, n) for _, ob, s, n in sending])
    for (timer, _, _, _), was_sent in zip(sending, sent, strict=True):
        if was_sent:
            finished[timer.id or 0] = (TimerState.DONE, _sent_outcome(timer, now))
            work.reminders += 1
        else:
            finish(timer, TimerState.SKIPPED, "already sent")
    uow.timers.finish_all([(i, s, o) for i, (s, o) in finished.items()], now)


def _reminder_refusal(
    ob: Onboarding | None,
    timer: Timer,
    series: list[Timer],
    step: Step,
    slot: int,
    now: datetime,
) -> str | None:
    """Why a due reminder is not sent (the timer's outcome), or None: it goes out."""
    if ob is None or not ob.is_open:
        return "onboarding closed"
    if step not in ob.waiting_steps():
        return f"{step.value} is {ob.step_status(step)}"
    started = ob.step_started_at(step)
    if started is None or keys.reminder(ob.id, step, started, slot) != timer.key:
        # The key records the step start it was scheduled for; comparing due times would
        # drop every reminder already scheduled when the reminder delays change.
        return f"{step.value} started again"
    later = [
        t
        for t in series
        if (t.slot or 0) > slot
        and (t.state is TimerState.DONE or (t.state is TimerState.PENDING and t.due_at <= now))
    ]
    if later:
        return f"superseded by the {ordinal(later[-1].slot or 0)} reminder"
    return None


def _reminder(service: OnboardingService, timer: Timer, now: datetime, work: DueWork) -> None:
    """Sends the slot unless the step moved on, or a later slot is due too (after an outage
    only the latest missed slot goes out, late; the older ones are skipped)."""
    _reminders_in_one_transaction(service, [timer], now, work)


def _sent_outcome(timer: Timer, now: datetime) -> str:
    late = now - timer.due_at
    return "sent" if late < timedelta(minutes=5) else f"sent {_ago(late)} late"


def _ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"


# -- expiries -----------------------------------------------------------------------------------


def _p2p_expiry(service: OnboardingService, timer: Timer, now: datetime, work: DueWork) -> None:
    """Thirty days after the request was sent: sync decides, so a transfer the partner
    accepted at the last minute (webhook missed) is Completed, not Expired."""
    with service.store.transaction() as uow:
        ob = uow.onboardings.get(timer.onboarding_id or "")
        if (
            ob is None
            or not ob.is_open
            or ob.p2p_status is not P2PStatus.PENDING
            or ob.p2p is None
            or ob.p2p.expires_at != timer.due_at
        ):
            return _skip(uow, timer, now, work, "no such pending transfer any more")
    changes = [a.message for a in service.sync.refresh(timer.onboarding_id or "")]
    with service.store.transaction() as uow:
        ob = uow.onboardings.get(timer.onboarding_id or "")
        if ob is not None and ob.p2p_status is P2PStatus.EXPIRED:
            work.expired += 1
        work.changes += len(changes)
        uow.timers.finish(timer.id or 0, TimerState.DONE, now, "; ".join(changes) or "unchanged")
    return None


def _gdap_end(service: OnboardingService, timer: Timer, now: datetime, work: DueWork) -> None:
    """The day a relationship ends: Microsoft either extends it (auto-extend: a new end to
    watch) or ends it (Expired)."""
    with service.store.transaction() as uow:
        ob = uow.onboardings.get(timer.onboarding_id or "")
        if ob is None or not ob.is_open or ob.gdap_status is not GdapStatus.ESTABLISHED:
            return _skip(uow, timer, now, work, "no Established relationship any more")
    changes = [a.message for a in service.sync.refresh(timer.onboarding_id or "")]
    work.changes += len(changes)
    with service.store.transaction() as uow:
        ob = uow.onboardings.get(timer.onboarding_id or "", for_update=True)
        if ob is not None and ob.gdap_status is GdapStatus.EXPIRED:
            work.expired += 1
        if (
            ob is not None
            and ob.is_open
            and ob.gdap_status is GdapStatus.ESTABLISHED
            and ob.gdap
            and ob.gdap.ends_at
            and ob.gdap.ends_at <= now
        ):
            # An extension was recorded by the sync, with the timers of its new end; an end
            # still in the past means Microsoft has not caught up yet: look again later.
            uow.timers.reschedule(timer.id or 0, now + MICROSOFT_LAG)
            return None
        uow.timers.finish(timer.id or 0, TimerState.DONE, now, "; ".join(changes) or "unchanged")
    return None


def _gdap_ending(service: OnboardingService, timer: Timer, now: datetime, work: DueWork) -> None:
    days = timer.slot or 0
    with service.store.transaction() as uow:
        ob = uow.onboardings.get(timer.onboarding_id or "", for_update=True)
        ends = ob.gdap.ends_at if ob and ob.gdap else None
        if (
            ob is None
            or not ob.is_open
            or ob.gdap_status is not GdapStatus.ESTABLISHED
            or ends is None
            or ends - timedelta(days=days) != timer.due_at
        ):
            return _skip(uow, timer, now, work, "relationship changed")
        nearer = [
            t
            for t in uow.timers.of(ob.id, TimerKind.GDAP_ENDING)
            if t.id != timer.id
            and t.state is TimerState.PENDING
            and t.due_at <= now
            and t.due_at > timer.due_at
        ]
        if nearer:  # two warnings due at once (an outage): only the nearer one is given
            return _skip(uow, timer, now, work, "a nearer warning is due too")
        service.reminders.warn_gdap_ending(uow, ob, now)
        uow.timers.finish(timer.id or 0, TimerState.DONE, now, f"warned {days} days before")
        work.warnings += 1
    return None


# -- fallback sync ---------------------------------------------------------------------------


def _sync(service: OnboardingService, timer: Timer, now: datetime, work: DueWork) -> None:
    """Asks Microsoft about a waiting onboarding in case a webhook was missed, then backs off
    (see `bot.schedule.sync_interval`); stops once nothing waits."""
    changes = [a.message for a in service.sync.refresh(timer.onboarding_id or "")]
    work.syncs += 1
    work.changes += len(changes)
    with service.store.transaction() as uow:
        ob = uow.onboardings.get(timer.onboarding_id or "")
        waited = oldest_wait(ob, now) if ob is not None and ob.is_open else None
        if waited is not None and service.sync_after is not None:
            uow.timers.reschedule(timer.id or 0, now + sync_interval(waited))
        else:
            uow.timers.finish(timer.id or 0, TimerState.DONE, now, "nothing waits")


# -- requests Microsoft did not answer, and access assignments -------------------------------


def _microsoft_retry(
    service: OnboardingService, timer: Timer, now: datetime, work: DueWork
) -> None:
    """Sends again a GDAP or transfer request Microsoft did not answer. Still no answer: the
    resend has moved this timer on (backing off); an answer: done."""
    step = Step(timer.step or "")
    resend = service.gdap.resend if step is Step.GDAP else service.transfers.resend
    changes = [a.message for a in resend(timer.onboarding_id or "")]
    work.changes += len(changes)
    with service.store.transaction() as uow:
        ob = uow.onboardings.get(timer.onboarding_id or "")
        if changes:
            uow.timers.finish(timer.id or 0, TimerState.DONE, now, "; ".join(changes))
        elif ob is not None and ob.is_open and ob.microsoft_wait(step) is not None:
            return None  # no answer again: the resend moved this timer on
        else:
            return _skip(uow, timer, now, work, "not waiting for Microsoft any more")
    return None


def _gdap_access(service: OnboardingService, timer: Timer, now: datetime, work: DueWork) -> None:
    """Reads the relationship's access assignments again; while any is pending the sync has
    moved this timer on, otherwise it is done."""
    changes = [a.message for a in service.sync.refresh(timer.onboarding_id or "")]
    work.syncs += 1
    work.changes += len(changes)
    with service.store.transaction() as uow:
        ob = uow.onboardings.get(timer.onboarding_id or "")
        if ob is not None and ob.is_open and pending_access(ob):
            return None
        uow.timers.finish(timer.id or 0, TimerState.DONE, now, "; ".join(changes) or "settled")
    return None


# -- digests ---------------------------------------------------------------------------------


def send_due_digests(
    service: OnboardingService, now: datetime, limit: int = DIGESTS_PER_RUN
) -> int:
    """Each due digest in its own transaction: claimed (others skip it), recorded in the
    ledger under (subscription, period) and moved to its next time, all at once. After an
    outage one digest reports the latest missed period; the older ones are not sent."""
    sent = 0
    while sent < limit:
        with service.store.transaction() as uow:
            sub = uow.digests.claim_due(now)
            if sub is None:
                break
            digests.send_digest(
                uow,
                sub,
                now,
                keys.digest(sub.id or 0, digests.period_of(sub, now)),
                digests.next_due(sub, now),
            )
        sent += 1
    return sent
