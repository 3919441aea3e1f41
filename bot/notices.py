"""Channel notices: which activities a subscription wants, and the notice each one becomes.

Notices are derived from activity rows in the same transaction that writes them, and go
out through the delivery ledger, so a notice is posted once even after a retry or restart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain import Activity, Onboarding
from bot.ports import Delivery, NoticeLevel, Subscription
from bot.views import Tone

FAILURE_KINDS = frozenset(
    {"gdap.failed", "gdap.expired", "p2p.failed", "p2p.expired", "p2p.cancel_failed"}
)
SUCCESS_KINDS = frozenset(
    {
        "reseller.established",
        "gdap.established",
        "hub.completed",
        "p2p.completed",
        "onboarding.finished",
    }
)


def tone_of(kind: str) -> Tone:
    if kind in FAILURE_KINDS:
        return Tone.ERROR
    if kind in SUCCESS_KINDS:
        return Tone.SUCCESS
    return Tone.INFO


def wants(subscription: Subscription, kind: str) -> bool:
    return subscription.level is NoticeLevel.ALL or kind in FAILURE_KINDS


def notice_payload(
    activity: Activity, onboarding: Onboarding | None, destination: str
) -> dict[str, Any]:
    """What a notifier gets: plain data, so it can render the customer's current card too."""
    customer = onboarding.name if onboarding else ""
    return {
        "destination": destination,
        "activity_id": activity.id,
        "onboarding_id": activity.onboarding_id or None,
        "customer": customer,
        "domain": onboarding.domain if onboarding else "",
        "kind": activity.kind,
        "tone": tone_of(activity.kind).value,
        "actor": activity.actor.label,
        "text": f"{customer}: {activity.message}" if customer else activity.message,
        "at": activity.at.isoformat(),
    }


def notice_deliveries(
    activity: Activity,
    onboarding: Onboarding | None,
    subscriptions: list[Subscription],
    now: datetime,
) -> list[Delivery]:
    return [
        Delivery(
            f"notice:{activity.id}:{s.platform}:{s.destination}",
            s.platform,
            notice_payload(activity, onboarding, s.destination),
            now,
            activity.onboarding_id or None,
        )
        for s in subscriptions
        if wants(s, activity.kind)
    ]
