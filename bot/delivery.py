"""Sending what the ledger holds: mail inside the transaction that marks it sent, chat
notices paced per channel and merged when many wait, retries with back-off, and a
platform's Retry-After honoured for the whole channel."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.activity import SYSTEM_ACTOR, ActivityKind
from bot.domain import Change
from bot.errors import ProviderError
from bot.history import record
from bot.mails import describe
from bot.notices import NoticePayload
from bot.ports import Clock, Mailer, Notifier, Store, StoreMailer, UnitOfWork
from bot.priority import in_turns, step_aside, users_active
from bot.records import Delivery, Mail
from bot.steps import Step
from bot.tone import Tone
from bot.wiring import MAIL_CHANNEL

DELIVERY_RETRY = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
MERGED_LINES = 10  # lines a merged notice lists before "… and N more"
LEASE_SECONDS = 300
# Mails written to the outbox per statement while users are active, when a batch goes
# together: between statements a user's command goes first (bot/priority.py); 50 take 2-4 ms.
MAIL_TURN = 50

Send = Callable[[dict[str, Any]], None]
log = logging.getLogger(__name__)


def _guarded(channel: str, send: Send) -> Send:
    """A sender whose unexpected failure (a bug, a dropped connection the client did not
    map) counts as a failed attempt, retried with back-off, instead of stalling the batch."""

    def guarded(payload: dict[str, Any]) -> None:
        try:
            send(payload)
        except ProviderError:
            raise
        except Exception as err:
            log.exception("sending on %s failed unexpectedly; retried with back-off", channel)
            raise ProviderError(f"{type(err).__name__}: {err}") from err

    return guarded


def _poster(notifier: Notifier) -> Send:
    return lambda payload: notifier.post(
        str(payload.get("destination", "")), NoticePayload.from_json(payload)
    )


class Pacer:
    """Per-destination token buckets for chat notices: chat rate limits are per channel per
    second (Slack allows about one message a second with short bursts; Teams throttles a
    conversation past a few per second). Time is the delivery's clock, the same one that
    dates a deferred notice, so a paced notice comes due when the clock says it may go."""

    def __init__(self, burst: int, every: float) -> None:
        self.burst = burst
        self.every = every
        self._buckets: dict[tuple[str, str], tuple[float, datetime]] = {}
        self._lock = threading.Lock()

    def take(self, key: tuple[str, str], now: datetime) -> float:
        """0 when a post may go now (and counts it), else the seconds to wait."""
        with self._lock:
            tokens, stamp = self._buckets.get(key, (float(self.burst), now))
            elapsed = max((now - stamp).total_seconds(), 0.0)
            if self.every > 0:
                tokens = min(float(self.burst), tokens + elapsed / self.every)
            else:
                tokens = float(self.burst)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) * self.every


@dataclass
class LedgerSender:
    store: Store
    clock: Clock
    mailer: Mailer
    notifiers: list[Notifier] = field(default_factory=list)
    notice_burst: int = 4  # posts to one destination at once before pacing sets in
    notice_every: float = 1.0  # seconds per further post to one destination
    notice_merge_over: int = 5  # more pending notices than this for one destination: merged
    pacer: Pacer = field(init=False, repr=False)
    sent_total: int = field(default=0, init=False)  # since start, for `tick`'s summary
    _count_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.pacer = Pacer(self.notice_burst, self.notice_every)

    def _count(self, sent: int) -> int:
        with self._count_lock:
            self.sent_total += sent
        return sent

    def deliver_pending(self, limit: int = 500) -> int:
        """Sends what the ledger holds for mail and for every configured chat platform;
        returns how many deliveries went out. Safe to call from several threads or processes.

        Mail is sent inside the transaction that marks it sent, so a mailer that writes to
        the store (the outbox) sends exactly once even if the process dies. Chat notices are
        paced per destination (`Pacer`); past `notice_merge_over` pending for one
        destination they go as one merged notice, and a platform's Retry-After holds back
        the rest of that destination's notices too.
        """
        senders: dict[str, Send] = {
            MAIL_CHANNEL: _guarded(MAIL_CHANNEL, lambda payload: self.mailer.send(Mail(**payload)))
        }
        for notifier in self.notifiers:
            senders[notifier.platform] = _guarded(notifier.platform, _poster(notifier))
        sent = 0
        while True:
            now = self.clock.now()
            # While users are active, short claims: decoding 500 mails is one stretch of
            # 20-30 ms without a safe point, which a user's command would share.
            claim_size = min(limit, MAIL_TURN) if users_active() else limit
            with self.store.transaction() as uow:
                batch = uow.ledger.claim(
                    now, claim_size, lease_seconds=LEASE_SECONDS, channels=list(senders)
                )
            if not batch:
                return self._count(sent)
            by_destination: dict[tuple[str, str], list[Delivery]] = {}
            # The mail carries its ledger key: the mailer derives the Message-ID.
            mails = [
                replace(d, payload={**d.payload, "key": d.key})
                for d in batch
                if d.channel == MAIL_CHANNEL
            ]
            step_aside()  # between transactions: a user's command in this process goes first
            if isinstance(self.mailer, StoreMailer) and self._send_mail_together(mails):
                sent += len(mails)
            else:
                for mail in mails:
                    if self._attempt(mail, senders[MAIL_CHANNEL], atomic=True) is None:
                        sent += 1
            for delivery in batch:
                if delivery.channel != MAIL_CHANNEL:
                    where = (delivery.channel, str(delivery.payload.get("destination", "")))
                    by_destination.setdefault(where, []).append(delivery)
            for where, notices in by_destination.items():
                sent += self._post_notices(where, notices, senders[where[0]])
            if len(batch) < claim_size:
                return self._count(sent)

    def _send_mail_together(self, mails: list[Delivery]) -> bool:
        """A mailer that writes to the store (the outbox) sends a whole batch in the
        transaction that marks it sent: one transaction, not one per mail, and still exactly
        once if the process dies. False (nothing sent) when the batch cannot go as one; then
        each mail is tried alone, so one bad mail is retried or given up on by itself."""
        if not mails:
            return True
        assert isinstance(self.mailer, StoreMailer)
        try:
            with self.store.transaction() as uow:
                # a user's command in this process goes first between statements (bulk.py)
                for part in in_turns(mails, MAIL_TURN, uow.blocks_other_writers):
                    self.mailer.send_all([Mail(**m.payload) for m in part])
                    uow.ledger.mark_all_sent([m.id or 0 for m in part], self.clock.now())
        except Exception:
            log.warning("sending %d mails together failed; trying each alone", len(mails))
            return False
        return True

    def _post_notices(self, where: tuple[str, str], notices: list[Delivery], send: Send) -> int:
        if len(notices) > self.notice_merge_over:
            wait = self.pacer.take(where, self.clock.now())
            if wait:
                self._defer(notices, wait)
                return 0
            return len(notices) if self._attempt_merged(notices, send) else 0
        sent = 0
        for i, delivery in enumerate(notices):
            wait = self.pacer.take(where, self.clock.now())
            if wait:
                self._defer(notices[i:], wait)
                break
            failure = self._attempt(delivery, send)
            if failure is None:
                sent += 1
            elif failure.retry_after:
                self._defer(notices[i + 1 :], failure.retry_after)
                break
        return sent

    def _defer(self, deliveries: list[Delivery], seconds: float) -> None:
        if not deliveries:
            return
        until = self.clock.now() + timedelta(seconds=max(seconds, 0.001))
        with self.store.transaction() as uow:
            for delivery in deliveries:
                uow.ledger.defer(delivery.id or 0, until)

    def _attempt_merged(self, notices: list[Delivery], send: Send) -> bool:
        """One post standing for several notices; each of them is recorded sent with it."""
        payloads = [n.payload for n in notices]
        lines = [f"• {p.get('text', '')}" for p in payloads[:MERGED_LINES]]
        if len(payloads) > MERGED_LINES:
            lines.append(f"… and {len(payloads) - MERGED_LINES} more (log CUSTOMER shows all).")
        merged = NoticePayload(
            destination=str(payloads[0].get("destination", "")),
            kind="merged",
            tone=Tone.worst([Tone(p.get("tone") or Tone.INFO.value) for p in payloads]),
            text=f"{len(payloads)} updates:\n" + "\n".join(lines),
            actor="onboarding bot",
            at=self.clock.now(),
            merged=tuple(n.key for n in notices),
        ).to_json()
        try:
            send(merged)
        except ProviderError as err:
            for delivery in notices:
                self._failed(delivery, err)
            return False
        with self.store.transaction() as uow:
            for delivery in notices:
                uow.ledger.mark_sent(delivery.id or 0, self.clock.now())
        return True

    def _attempt(
        self, delivery: Delivery, send: Send, *, atomic: bool = False
    ) -> ProviderError | None:
        """Sends one delivery and records the outcome; returns the refusal, if any."""
        try:
            if atomic:
                with self.store.transaction() as uow:
                    send(delivery.payload)
                    uow.ledger.mark_sent(delivery.id or 0, self.clock.now())
                return None
            send(delivery.payload)
        except ProviderError as err:
            self._failed(delivery, err)
            return err
        with self.store.transaction() as uow:
            uow.ledger.mark_sent(delivery.id or 0, self.clock.now())
        return None

    def _failed(self, delivery: Delivery, err: ProviderError) -> None:
        now = self.clock.now()
        if err.permanent:
            retry: datetime | None = None
        elif err.retry_after is not None:
            retry = now + timedelta(seconds=err.retry_after)
        elif delivery.attempts <= len(DELIVERY_RETRY):
            retry = now + DELIVERY_RETRY[delivery.attempts - 1]
        else:
            retry = None
        with self.store.transaction() as uow:
            uow.ledger.mark_failed(delivery.id or 0, now, str(err), retry)
            if retry is None and delivery.channel == MAIL_CHANNEL:
                self._mail_given_up(uow, delivery, err, now)

    def _mail_given_up(
        self, uow: UnitOfWork, delivery: Delivery, err: ProviderError, now: datetime
    ) -> None:
        """A mail that will not be sent is never silent: a failure on the customer's card, in
        its log and in subscribed channels, with what to do, in the same transaction."""
        mail = Mail(**delivery.payload)
        ob = uow.onboardings.get(delivery.onboarding_id) if delivery.onboarding_id else None
        if ob is None:
            log.warning("mail %s to %s given up: %s", delivery.key, mail.to, err)
            return
        what = describe(mail)
        what = what[0].upper() + what[1:]
        reason = str(err).rstrip(".")
        if err.permanent:
            kind = ActivityKind.MAIL_BOUNCED
            message = f"{what} to {mail.to} bounced: {reason}. Correct the email address and "
        else:
            kind = ActivityKind.MAIL_UNDELIVERED
            message = (
                f"{what} to {mail.to} could not be delivered after {delivery.attempts} "
                f"attempts: {reason}. Check the mail settings (MAIL_BACKEND) and "
            )
        step = Step(mail.kind) if mail.kind in set(Step) else None
        if step is not None and ob.allows(Change.REMIND, step):
            message += f"send a reminder: remind {ob.domain} {step.value}"
        else:
            message += "send it again"
        record(uow, ob, ob.note(now, SYSTEM_ACTOR, kind, message + ".", step), None)
