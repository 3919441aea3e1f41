"""Idempotency keys: one function per thing that must happen at most once, one scheme each.

A key is unique in its table (ledger or timers), so writing the same key twice writes nothing
the second time: that is what makes retries, double clicks, restarts and second replicas safe.
"""

from __future__ import annotations

from datetime import datetime

from bot.steps import Step


def invitation_mail(onboarding_id: str) -> str:
    """The reseller invitation of an enrollment: sent once, however often enrollment is replayed."""
    return f"mail:{onboarding_id}:reseller:invite"


def gdap_request_mail(onboarding_id: str, relationship_id: str) -> str:
    """The approval mail of one GDAP relationship: a new request (new id) mails again."""
    return f"mail:{onboarding_id}:gdap:{relationship_id}:request"


def p2p_request_mail(onboarding_id: str, transfer_id: str) -> str:
    """The mail to the current partner for one transfer request."""
    return f"mail:{onboarding_id}:p2p:{transfer_id}:request"


def corrected_address_mail(onboarding_id: str, step: Step, edit_id: str) -> str:
    """The waiting step's mail sent again to a corrected email address: once per correction
    (the edit's activity id), so it is neither lost to the first mail's key nor doubled."""
    return f"mail:{onboarding_id}:{step.value}:corrected:{edit_id}"


def manual_reminder_mail(onboarding_id: str, step: Step, nonce: str) -> str:
    """A reminder a user asked for: each click is its own mail (double clicks are refused
    before this, by the one-minute guard), so the key carries a fresh nonce."""
    return f"mail:{onboarding_id}:{step.value}:manual:{nonce}"


def reminder(onboarding_id: str, step: Step, started_at: datetime, slot: int) -> str:
    """Automatic reminder `slot` of a step since it started waiting: the SAME key names the
    timer that is due and the mail it sends, so the mail exists once per slot and a step that
    starts again (a new `started_at`) gets a fresh set of three."""
    return f"reminder:{onboarding_id}:{step.value}:{started_at.isoformat()}:{slot}"


def reminder_mail(reminder_key: str) -> str:
    """The mail of automatic reminder `reminder_key` (see `reminder`): the timer's own key."""
    return f"mail:{reminder_key}"


def reminder_series(key: str) -> str:
    """The reminder key without its slot: all slots of one step since one start."""
    return key.rsplit(":", 1)[0]


def notice(activity_id: str, platform: str, destination: str) -> str:
    """One activity posted once to one channel or chat."""
    return f"notice:{activity_id}:{platform}:{destination}"


def bulk_notice(import_id: str, platform: str, destination: str) -> str:
    """The one summary notice of a bulk import per channel."""
    return f"notice:bulk-{import_id}:{platform}:{destination}"


def sync(onboarding_id: str) -> str:
    """The one fallback poll of an onboarding; moved on after each run, never duplicated."""
    return f"sync:{onboarding_id}"


def microsoft_retry(onboarding_id: str, step: Step) -> str:
    """The one pending resend of a step's request that Microsoft did not answer; moved on
    after each failed attempt, so attempts never pile up."""
    return f"microsoft.retry:{onboarding_id}:{step.value}"


def gdap_access(onboarding_id: str, relationship_id: str) -> str:
    """The one poll of a relationship's access assignments, moved on until all are settled."""
    return f"gdap.access:{onboarding_id}:{relationship_id}"


def p2p_expiry(onboarding_id: str, expires_at: datetime) -> str:
    """The 30-day end of one transfer request (a new request has a new end)."""
    return f"p2p.expiry:{onboarding_id}:{expires_at.isoformat()}"


def gdap_end(onboarding_id: str, relationship_id: str | None, ends_at: datetime) -> str:
    """The end of one relationship at one end date: an extension (new end) is watched anew."""
    return f"gdap.end:{onboarding_id}:{relationship_id}:{ends_at.isoformat()}"


def gdap_ending(
    onboarding_id: str, relationship_id: str | None, ends_at: datetime, days: int
) -> str:
    """The warning `days` before one relationship's end."""
    return f"gdap.ending:{onboarding_id}:{relationship_id}:{ends_at.isoformat()}:{days}"


def digest(subscription_id: int, period: str) -> str:
    """One digest per subscription and period (a local date), across replicas and restarts."""
    return f"digest:{subscription_id}:{period}"


def digest_now(platform: str, destination: str, nonce: str) -> str:
    """`digest now`: every request is its own digest."""
    return f"digest:{platform}:{destination}:now:{nonce}"
