"""Reminder mail: the "Send reminder email" button, the automatic 24 h / 48 h / 7 day
reminders of a waiting step, and the warnings before a GDAP relationship ends for good."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import keys, mails
from bot.activity import SYSTEM_ACTOR, ActivityKind, Actor
from bot.customers import Customers, resolve
from bot.domain import Change, Onboarding, Step
from bot.errors import Conflict
from bot.history import enqueue_mail, mail_delivery, record, record_all
from bot.ports import UnitOfWork
from bot.records import Mail, Role
from bot.views import CustomerCard
from bot.wiring import Wiring

MANUAL_REMINDER_GAP = timedelta(seconds=60)  # a second click within this is a double click


@dataclass
class Reminders:
    wiring: Wiring
    customers: Customers

    def _mail(self, ob: Onboarding, step: Step, slot: int | None) -> Mail:
        w = self.wiring
        return mails.mail_for_step(
            ob,
            step,
            w.partner_name,
            w.invitation_url(),
            w.transfer_link,
            mails.reminder_prefix(slot),
        )

    def remind(self, reference: str, step: Step | None, actor: Actor) -> CustomerCard:
        """Sends the reminder mail now; the automatic 24 h / 48 h / 7 day reminders keep their
        schedule. A second click within a minute is refused, not sent twice."""
        w = self.wiring
        w.access.require(actor, Role.OPERATOR, "sending reminders")
        now = w.clock.now()
        sent_to: list[str] = []
        changes = []
        with w.store.transaction() as uow:
            ob = resolve(uow, reference, for_update=True)
            ob.require(Change.REMIND, step)
            steps = [step] if step else ob.waiting_steps()
            recent = [
                a
                for a in uow.activities.of(ob.id, limit=50)
                if a.kind is ActivityKind.REMINDER_SENT
                and a.details.get("slot") is None
                and now - a.at < MANUAL_REMINDER_GAP
            ]
            for s in steps:
                if any(a.step == s for a in recent):
                    raise Conflict(
                        f"A reminder for {s.value} was sent to {ob.name} less than a "
                        "minute ago; it was not sent again."
                    )
                mail = self._mail(ob, s, None)
                reminded = ob.record_reminder(now, actor, s, mail.to)
                record(uow, ob, reminded, w.sync_after)
                changes.append(reminded)
                enqueue_mail(uow, keys.manual_reminder_mail(ob.id, s, uuid.uuid4().hex), mail, now)
                sent_to.append(f"{s.value} → {mail.to}")
            uow.onboardings.save(ob)
        return self.customers.after_change(
            ob.id, "Reminder sent: " + ", ".join(sent_to) + ".", changes, actor=actor
        )

    def send_automatic(self, onboarding_id: str, step: Step, slot: int) -> bool:
        """Automatic reminder `slot` for a waiting step, at most once (its ledger key is the
        reminder's own key). False when it was already sent or the step no longer waits."""
        with self.wiring.store.transaction() as uow:
            ob = uow.onboardings.get(onboarding_id, for_update=True)
            return ob is not None and self.send_automatic_all(uow, [(ob, step, slot)])[0]

    def send_automatic_all(
        self, uow: UnitOfWork, wanted: list[tuple[Onboarding, Step, int]]
    ) -> list[bool]:
        """Automatic reminders in the caller's unit of work, whose onboardings it has read
        locked (the scheduler's batch, or `send_automatic`'s one): one multi-row write per
        table. For each one wanted, in order, whether it was sent (False when it was already
        sent or the step no longer waits)."""
        w = self.wiring
        now = w.clock.now()
        candidates: list[tuple[Onboarding, Step, int, Mail, str] | None] = []
        for ob, step, slot in wanted:
            started = ob.step_started_at(step)
            if not ob.allows(Change.REMIND, step) or started is None:
                candidates.append(None)
                continue
            mail = self._mail(ob, step, slot)
            key = keys.reminder_mail(keys.reminder(ob.id, step, started, slot))
            candidates.append((ob, step, slot, mail, key))
        chosen = [c for c in candidates if c is not None]
        added = uow.ledger.enqueue_new([mail_delivery(c[4], c[3], now) for c in chosen])
        sent = [c for c in chosen if c[4] in added]
        record_all(
            uow,
            [
                (ob, ob.record_reminder(now, SYSTEM_ACTOR, step, mail.to, slot))
                for ob, step, slot, mail, _ in sent
            ],
            w.sync_after,
        )
        # A reminder only adds to the log (`record_reminder` changes no field), so the
        # onboardings' versions move on, as a save would move them, without the full write.
        uow.onboardings.touch_all(list({id(ob): ob for ob, *_ in sent}.values()))
        return [c is not None and c[4] in added for c in candidates]

    def warn_gdap_ending(self, uow: UnitOfWork, ob: Onboarding, now: datetime) -> None:
        """Logs (and announces) that a relationship without auto-extend is about to end, with
        the days really left; the scheduler calls it inside its own unit of work."""
        ends = ob.gdap.ends_at if ob.gdap else None
        if ends is None:
            return
        days = max(math.ceil((ends - now) / timedelta(days=1)), 0)
        left = "tomorrow" if days == 1 else ("today" if days == 0 else f"in {days} days")
        record(
            uow,
            ob,
            ob.note(
                now,
                SYSTEM_ACTOR,
                ActivityKind.GDAP_ENDING,
                f"GDAP relationship ends {left} ({ends:%d %b %Y}) and will not auto-extend "
                f'(Global Administrator): create a new request before then (gdap "{ob.domain}").',
                Step.GDAP,
            ),
            None,
        )
