"""Channel notices: which activities a subscription wants, how each one feels, and the notice
it becomes.

Notices are derived from activity rows in the same transaction that writes them, and go
out through the delivery ledger, so a notice is posted once even after a retry or restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import keys
from bot.activity import Activity, ActivityKind
from bot.domain import Onboarding
from bot.records import Delivery, NoticeLevel, Subscription
from bot.steps import Step
from bot.tone import Tone

FAILURE_KINDS = frozenset(
    {
        ActivityKind.GDAP_FAILED,
        ActivityKind.GDAP_EXPIRED,
        ActivityKind.P2P_FAILED,
        ActivityKind.P2P_EXPIRED,
        ActivityKind.P2P_CANCEL_FAILED,
        ActivityKind.MAIL_BOUNCED,
        ActivityKind.MAIL_UNDELIVERED,
        ActivityKind.ACCESS_FAILED,
    }
)
ATTENTION_KINDS = frozenset(
    {
        ActivityKind.GDAP_ENDING,
        ActivityKind.TENANT_MISSING,
        ActivityKind.GDAP_WAITING,
        ActivityKind.P2P_WAITING,
    }
)
# A step reached its goal; progress (enrolled, requested, reminded) is neutral information.
SUCCESS_KINDS = frozenset(
    {
        ActivityKind.RESELLER_ESTABLISHED,
        ActivityKind.GDAP_ESTABLISHED,
        ActivityKind.GDAP_EXTENDED,
        ActivityKind.ACCESS_ACTIVE,
        ActivityKind.HUB_COMPLETED,
        ActivityKind.P2P_COMPLETED,
        ActivityKind.FINISHED,
    }
)
# What the "failures" level of `notify here` posts, as its answer promises: expired or
# failed GDAP and P2P, and mail that could not be delivered.
WANTED_BY_FAILURES = FAILURE_KINDS


def tone_of(kind: ActivityKind | str) -> Tone:
    """How a change feels: the one classification every renderer uses."""
    if kind in FAILURE_KINDS:
        return Tone.FAILURE
    if kind in ATTENTION_KINDS:
        return Tone.ATTENTION
    if kind in SUCCESS_KINDS:
        return Tone.SUCCESS
    return Tone.INFO


def tone_of_all(activities: list[Activity]) -> Tone:
    """The tone of an answer that made several changes: one failure makes it a failure."""
    return Tone.worst([tone_of(a.kind) for a in activities]) if activities else Tone.INFO


def wants(subscription: Subscription, kind: ActivityKind | str) -> bool:
    return subscription.level is NoticeLevel.ALL or kind in WANTED_BY_FAILURES


@dataclass(frozen=True)
class NoticePayload:
    """What a notifier is given. Kept as JSON in the ledger (`to_json` / `from_json`), so it
    is plain data: enough to post the line and to render the customer's current card."""

    destination: str
    kind: str  # an `ActivityKind` value, or "digest" / "merged"
    tone: Tone
    text: str
    actor: str
    at: datetime
    activity_id: str | None = None
    onboarding_id: str | None = None
    customer: str = ""
    domain: str = ""
    merged: tuple[str, ...] = ()  # ledger keys a merged notice stands for
    digest: dict[str, Any] | None = None  # the digest's fields, for a digest notice
    # Why the step this notice is about still waits, as the card says it at that moment
    # ("Waiting for the customer to accept since now · next reminder in a day (25 Nov)").
    waiting: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "kind": self.kind,
            "tone": self.tone.value,
            "text": self.text,
            "actor": self.actor,
            "at": self.at.isoformat(),
            "activity_id": self.activity_id,
            "onboarding_id": self.onboarding_id,
            "customer": self.customer,
            "domain": self.domain,
            "merged": list(self.merged),
            "digest": self.digest,
            "waiting": list(self.waiting),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NoticePayload:
        return cls(
            destination=str(data.get("destination", "")),
            kind=str(data.get("kind", "")),
            tone=Tone(data.get("tone") or Tone.INFO.value),
            text=str(data.get("text", "")),
            actor=str(data.get("actor", "")),
            at=datetime.fromisoformat(str(data["at"])),
            activity_id=data.get("activity_id"),
            onboarding_id=data.get("onboarding_id"),
            customer=str(data.get("customer", "")),
            domain=str(data.get("domain", "")),
            merged=tuple(data.get("merged") or ()),
            digest=data.get("digest"),
            waiting=tuple(str(w) for w in data.get("waiting") or ()),
        )


def notice_payload(
    activity: Activity,
    onboarding: Onboarding | None,
    destination: str,
    waiting: tuple[str, ...] = (),
) -> NoticePayload:
    customer = onboarding.name if onboarding else ""
    return NoticePayload(
        destination=destination,
        kind=activity.kind.value,
        tone=tone_of(activity.kind),
        text=f"{customer}: {activity.message}" if customer else activity.message,
        actor=activity.actor.label,
        at=activity.at,
        activity_id=activity.id,
        onboarding_id=activity.onboarding_id or None,
        customer=customer,
        domain=onboarding.domain if onboarding else "",
        waiting=waiting,
    )


def steps_concerned(activity: Activity) -> tuple[Step, ...]:
    """The steps a notice is about, whose waiting line a reader of the thread needs: the
    activity's own step, or those an edit restarted (a new address gets the mail again)."""
    restarted = activity.details.get("restarted") or ()
    if restarted:
        return tuple(Step(s) for s in restarted)
    return (activity.step,) if activity.step else ()


def notice_deliveries(
    activity: Activity,
    onboarding: Onboarding | None,
    subscriptions: list[Subscription],
    now: datetime,
    waiting: tuple[str, ...] = (),
) -> list[Delivery]:
    """One delivery per subscription that wants the activity; `waiting` is the line (or
    lines) saying why its step still waits, when it does."""
    return [
        Delivery(
            keys.notice(activity.id, s.platform, s.destination),
            s.platform,
            notice_payload(activity, onboarding, s.destination, waiting).to_json(),
            now,
            activity.onboarding_id or None,
        )
        for s in subscriptions
        if wants(s, activity.kind)
    ]
