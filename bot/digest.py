"""The managers' digest: the schedule a person or channel asked for, and what a digest says.

A digest is one compact message (counts and their change since the last digest, new
enrollments, failures with their reasons, customers ready to Finish, steps whose three
reminders are spent, expiries coming up) that goes out through the delivery ledger with the
key (subscription, period), so it is sent once per day or week whatever restarts or replicas.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.domain import (
    GDAP_ENDING_WARNINGS_DAYS,
    P2P_LIFETIME,
    REMINDER_DELAYS,
    STEP_TITLES,
    Activity,
    GdapStatus,
    Onboarding,
    OverallStatus,
    P2PStatus,
)
from bot.errors import ValidationError
from bot.notices import NoticePayload
from bot.ports import UnitOfWork
from bot.presenters import waiting_line
from bot.records import Delivery, DigestFrequency, DigestSubscription
from bot.schedule import digest_period, latest_digest_at, next_digest_at
from bot.text import shorten
from bot.tone import Tone
from bot.views import Counts, Digest, DigestItem

USAGE = "Use: digest daily HH:MM [TZ] | digest weekly DAY HH:MM [TZ] | digest now | digest off"
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SHOWN = 5  # customers listed per section before "+N more"
P2P_WARNING = timedelta(days=7)  # a pending transfer is "expiring" in its last week
GDAP_WARNING = timedelta(days=max(GDAP_ENDING_WARNINGS_DAYS))  # in its last days, no extend
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")


# -- the schedule ----------------------------------------------------------------------------


def zone_named(name: str) -> str:
    """An IANA time zone name as typed (any case; a unique city works too), or a
    `ValidationError` that suggests the closest names."""
    text = name.strip()
    if text.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    zones = available_timezones()
    by_lower = {z.lower(): z for z in zones}
    if text.lower() in by_lower:
        return by_lower[text.lower()]
    city = text.lower().replace(" ", "_")
    by_city = [z for z in zones if "/" in z and z.rsplit("/", 1)[1].lower() == city]
    if len(by_city) == 1:
        return by_city[0]
    close = difflib.get_close_matches(
        text.lower().replace(" ", "_"), list(by_lower), n=3, cutoff=0.6
    )
    hint = (
        (" Did you mean " + " or ".join(by_lower[c] for c in close) + "?")
        if close
        else (" Use an IANA name like Europe/Berlin, America/New_York or UTC.")
    )
    raise ValidationError(f'Unknown time zone "{shorten(text)}".{hint}')


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_time(text: str) -> time:
    match = _TIME.match(text.strip().lower())
    if not match:
        raise ValidationError(
            f'"{shorten(text)}" is not a time: use HH:MM on a 24-hour clock, like 08:30.'
        )
    return time(int(match.group(1)), int(match.group(2)))


def parse_day(text: str) -> int:
    word = text.strip().lower()
    matches = [i for i, day in enumerate(DAYS) if len(word) >= 2 and day.startswith(word)]
    if len(matches) != 1:
        raise ValidationError(
            f'"{shorten(text)}" is not a day of the week: use Monday … Sunday (or Mon … Sun).'
        )
    return matches[0]


def parse_schedule(
    words: list[str], default_zone: str
) -> tuple[DigestFrequency, int | None, time, str]:
    """`daily HH:MM [TZ]` or `weekly DAY HH:MM [TZ]` → (frequency, weekday, time, zone)."""
    if not words:
        raise ValidationError(USAGE)
    kind = words[0].lower()
    if kind == "daily" and len(words) in (2, 3):
        weekday, at, rest = None, parse_time(words[1]), words[2:]
    elif kind == "weekly" and len(words) in (3, 4):
        weekday, at, rest = parse_day(words[1]), parse_time(words[2]), words[3:]
    else:
        raise ValidationError(USAGE)
    tz = zone_named(rest[0]) if rest else (known_zone(default_zone) or "UTC")
    return DigestFrequency(kind), weekday, at, tz


def known_zone(name: str) -> str | None:
    """A zone the platform gave (Slack's `user.tz`, Teams' `clientInfo`) when it is one we
    know, else None: what a platform sends is not the user's typo to point out."""
    if not name:
        return None
    try:
        return zone_named(name)
    except ValidationError:
        return None


def describe(sub: DigestSubscription) -> str:
    when = (
        f"every {DAYS[sub.weekday].capitalize()}"
        if sub.frequency is DigestFrequency.WEEKLY and sub.weekday is not None
        else "every day"
    )
    return f"{when} at {sub.time} ({sub.timezone})"


def schedule_parts(sub: DigestSubscription) -> tuple[time, ZoneInfo]:
    hours, minutes = sub.time.split(":")
    return time(int(hours), int(minutes)), zone(sub.timezone)


def next_due(sub: DigestSubscription, after: datetime) -> datetime:
    at, tz = schedule_parts(sub)
    return next_digest_at(sub.frequency, sub.weekday, at, tz, after)


def period_of(sub: DigestSubscription, now: datetime) -> str:
    """The period a digest sent at `now` stands for: the latest scheduled time passed."""
    at, tz = schedule_parts(sub)
    return digest_period(latest_digest_at(sub.frequency, sub.weekday, at, tz, now), tz)


# -- what a digest says ----------------------------------------------------------------------


def _item(ob: Onboarding, detail: str) -> DigestItem:
    return DigestItem(ob.id, ob.name, ob.domain, detail)


def _waiting_detail(ob: Onboarding, activities: list[Activity], now: datetime) -> str:
    """Each stalled step with the card's "why is it waiting" line: who must act since when,
    the reminders sent and what to do now they are spent."""
    spent = []
    for step in ob.waiting_steps():
        started = ob.step_started_at(step)
        if started and now - started >= REMINDER_DELAYS[-1]:
            spent.append(f"{STEP_TITLES[step]}: {waiting_line(ob, step, activities, now)}")
    return "; ".join(spent)


def _expiry_detail(ob: Onboarding, now: datetime, tz: ZoneInfo) -> str | None:
    parts = []
    expires = ob.p2p.expires_at if ob.p2p and ob.p2p.transfer_id else None
    if ob.p2p_status is P2PStatus.PENDING and expires and expires - now <= P2P_WARNING:
        parts.append(f"P2P request expires {_day(expires, tz)}")
    gdap = ob.gdap
    if (
        ob.gdap_status is GdapStatus.ESTABLISHED
        and gdap
        and gdap.ends_at
        and not gdap.auto_extend
        and gdap.ends_at - now <= GDAP_WARNING
    ):
        parts.append(f"GDAP ends {_day(gdap.ends_at, tz)}, no auto-extend (Global Administrator)")
    return "; ".join(parts) or None


def _day(at: datetime, tz: ZoneInfo) -> str:
    local = at.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b}"


def counts_of(counts: dict[OverallStatus, int]) -> dict[str, int]:
    return {status.value.lower(): counts.get(status, 0) for status in OverallStatus}


def build_digest(
    uow: UnitOfWork,
    now: datetime,
    tz: ZoneInfo,
    title: str,
    previous: dict[str, int] | None,
    since: datetime,
) -> Digest:
    counts = counts_of(uow.onboardings.counts())
    current = Counts(counts["active"], counts["failed"], counts["completed"])
    change = None
    if previous is not None:
        change = Counts(
            *(counts[k] - int(previous.get(k, 0)) for k in ("active", "failed", "completed"))
        )
    new, new_total = uow.onboardings.enrolled_since(since, SHOWN)
    failed, _ = uow.onboardings.page(OverallStatus.FAILED, None, 0, SHOWN)
    ready, _ = uow.onboardings.page(OverallStatus.COMPLETED, None, 0, SHOWN)
    stalled = uow.onboardings.stalled(now - REMINDER_DELAYS[-1], SHOWN)
    expiring = [
        (ob, detail)
        for ob in uow.onboardings.expiring(
            now - (P2P_LIFETIME - P2P_WARNING), now + GDAP_WARNING, SHOWN * 2
        )
        if (detail := _expiry_detail(ob, now, tz))
    ][:SHOWN]
    digest = Digest(
        title=title,
        counts=current,
        change=change,
        new_enrollments=new_total,
        new_customers=tuple(ob.name for ob in new),
        failed=tuple(
            _item(ob, " ".join(filter(None, (ob.failure_reason, _hint(ob.recovery_hint())))))
            for ob in failed
        ),
        ready_to_finish=tuple(_item(ob, f"finish {ob.domain}") for ob in ready),
        reminders_spent=tuple(
            _item(ob, _waiting_detail(ob, uow.activities.of(ob.id), now)) for ob in stalled
        ),
        expiring=tuple(_item(ob, detail) for ob, detail in expiring),
        text="",
    )
    totals = {"failed": counts["failed"], "ready": counts["completed"]}
    return replace(digest, text=digest_text(digest, totals))


def _hint(hint: str | None) -> str:
    return f"→ {hint}" if hint else ""


def _signed(n: int) -> str:
    return f" (+{n})" if n > 0 else (f" (−{-n})" if n < 0 else "")


def digest_text(d: Digest, totals: dict[str, int]) -> str:
    """Plain text, short lines, the numbers first: it must read well in a phone notification."""
    c, ch = d.counts, d.change
    lines = [
        d.title,
        f"Active {c.active}{_signed(ch.active) if ch else ''} · "
        f"Failed {c.failed}{_signed(ch.failed) if ch else ''} · "
        f"Completed {c.completed}{_signed(ch.completed) if ch else ''}",
    ]
    if d.new_enrollments:
        names = ", ".join(d.new_customers)
        more = d.new_enrollments - len(d.new_customers)
        lines.append(
            f"New: {d.new_enrollments} enrolled — {names}" + (f" +{more} more" if more > 0 else "")
        )

    def section(title: str, items: tuple[DigestItem, ...], total: int | None = None) -> None:
        if not items:
            return
        lines.append(f"{title} ({total if total is not None else len(items)})")
        lines.extend(
            f"• {i.customer} — {i.detail}" if i.detail else f"• {i.customer}" for i in items
        )
        if total is not None and total > len(items):
            lines.append(f"  +{total - len(items)} more")

    section("Failed", d.failed, totals["failed"])
    section("Ready to finish", d.ready_to_finish, totals["ready"])
    section("Reminders spent", d.reminders_spent)
    section("Expiring soon", d.expiring)
    if not (d.failed or d.ready_to_finish or d.reminders_spent or d.expiring):
        lines.append("Nothing needs attention.")
    return "\n".join(lines)


def title_for(label: str, at: datetime, tz: ZoneInfo) -> str:
    local = at.astimezone(tz)
    return f"{label} · {local:%a} {local.day} {local:%b %Y}, {local:%H:%M %Z}"


def digest_payload(digest: Digest, destination: str, actor: str, at: datetime) -> dict[str, Any]:
    """A chat notice without a customer: notifiers post its `text` as it is."""
    structured = asdict(digest)
    structured.pop("text")
    return NoticePayload(
        destination=destination,
        kind="digest",
        tone=Tone.INFO,
        text=digest.text,
        actor=actor,
        at=at,
        digest=structured,
    ).to_json()


def send_digest(
    uow: UnitOfWork, sub: DigestSubscription, now: datetime, key: str, next_due_at: datetime | None
) -> Digest:
    """Builds the subscription's digest and records it in the ledger under `key`, with the
    counts it reported, in the caller's transaction."""
    _, tz = schedule_parts(sub)
    label = "Weekly digest" if sub.frequency is DigestFrequency.WEEKLY else "Daily digest"
    default_since = now - (
        timedelta(days=7) if sub.frequency is DigestFrequency.WEEKLY else timedelta(days=1)
    )
    digest = build_digest(
        uow, now, tz, title_for(label, now, tz), sub.last_counts, sub.last_sent_at or default_since
    )
    uow.ledger.enqueue(
        Delivery(
            key,
            sub.platform,
            digest_payload(digest, sub.destination, f"{label}, {describe(sub)}", now),
            now,
        )
    )
    if sub.id is not None:
        uow.digests.sent(
            sub.id,
            now,
            {
                "active": digest.counts.active,
                "failed": digest.counts.failed,
                "completed": digest.counts.completed,
            },
            next_due_at,
        )
    return digest


def console_digest(uow: UnitOfWork, now: datetime) -> Digest:
    """`digest now` at the console: the last day's news, in UTC."""
    utc = ZoneInfo("UTC")
    return build_digest(uow, now, utc, title_for("Digest", now, utc), None, now - timedelta(days=1))


def when(at: datetime, tz_name: str) -> str:
    local = at.astimezone(zone(tz_name))
    return f"{local:%a} {local.day} {local:%b} at {local:%H:%M %Z}"
