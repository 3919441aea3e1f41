"""Schedule math without a database: reminder slots, catch-up, sync back-off, digest times
across daylight-saving changes, and the digest command's words."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.digest import parse_schedule, zone_named
from bot.domain import SYSTEM_ACTOR, ActivityKind, ordinal
from bot.errors import ValidationError
from bot.records import DigestFrequency, TimerKind
from bot.schedule import (
    digest_period,
    latest_digest_at,
    next_digest_at,
    sync_interval,
    timers_for,
)
from tests.unit.test_domain import T0, enrolled

BERLIN = ZoneInfo("Europe/Berlin")
DAILY = DigestFrequency.DAILY


def test_enrollment_schedules_three_reminders_and_a_sync():
    ob, activity = enrolled()
    timers = timers_for(activity, ob)
    reminders = [t for t in timers if t.kind is TimerKind.REMINDER]
    assert [t.due_at - T0 for t in reminders] == [
        timedelta(hours=24),
        timedelta(hours=48),
        timedelta(hours=168),
    ]
    assert len({t.key for t in reminders}) == 3
    (sync,) = [t for t in timers if t.kind is TimerKind.SYNC]
    assert sync.due_at == T0 + timedelta(minutes=15) and sync.replace
    assert not [t for t in timers_for(activity, ob, None) if t.kind is TimerKind.SYNC]


def test_a_note_schedules_nothing():
    ob, _ = enrolled()
    assert timers_for(ob.note(T0, SYSTEM_ACTOR, ActivityKind.GDAP_ENDING, "y"), ob) == []


def test_sync_backs_off_from_15_minutes_to_4_hours():
    assert sync_interval(timedelta(minutes=5)) == timedelta(minutes=15)
    assert sync_interval(timedelta(hours=6)) == timedelta(hours=1)
    assert sync_interval(timedelta(days=3)) == timedelta(hours=4)


def test_ordinals():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "23rd",
    ]


def test_daily_berlin_digest_across_the_end_of_summer_time():
    """Last Sunday of October 2026 (25th): 08:30 local is 06:30 UTC before, 07:30 after."""
    at = time(8, 30)
    first = next_digest_at(DAILY, None, at, BERLIN, datetime(2026, 10, 24, 0, 0, tzinfo=UTC))
    assert first == datetime(2026, 10, 24, 6, 30, tzinfo=UTC)
    second = next_digest_at(DAILY, None, at, BERLIN, first)
    assert second == datetime(2026, 10, 25, 7, 30, tzinfo=UTC)
    assert second - first == timedelta(hours=25)
    assert digest_period(second, BERLIN) == "2026-10-25"


def test_daily_berlin_digest_across_the_start_of_summer_time():
    """Last Sunday of March 2027 (28th): 07:30 UTC before, 06:30 UTC after."""
    at = time(8, 30)
    first = next_digest_at(DAILY, None, at, BERLIN, datetime(2027, 3, 27, 0, 0, tzinfo=UTC))
    second = next_digest_at(DAILY, None, at, BERLIN, first)
    assert (first, second) == (
        datetime(2027, 3, 27, 7, 30, tzinfo=UTC),
        datetime(2027, 3, 28, 6, 30, tzinfo=UTC),
    )
    assert second - first == timedelta(hours=23)


def test_times_that_do_not_exist_or_happen_twice_are_sent_once():
    at = time(2, 30)  # skipped on 28 March 2027, twice on 31 October 2027 in Berlin
    spring = next_digest_at(DAILY, None, at, BERLIN, datetime(2027, 3, 28, 0, 0, tzinfo=UTC))
    assert spring == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # 03:30 CEST
    autumn = next_digest_at(DAILY, None, at, BERLIN, datetime(2027, 10, 30, 23, 0, tzinfo=UTC))
    assert autumn == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # the first 02:30
    assert next_digest_at(DAILY, None, at, BERLIN, autumn).date().isoformat() == "2027-11-01"


def test_weekly_digest_and_the_period_a_late_one_reports():
    monday = 0
    at = time(9, 0)
    ny = ZoneInfo("America/New_York")
    after = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)  # a Wednesday
    due = next_digest_at(DigestFrequency.WEEKLY, monday, at, ny, after)
    assert due == datetime(2026, 11, 9, 14, 0, tzinfo=UTC)  # 09:00 EST
    late = latest_digest_at(DigestFrequency.WEEKLY, monday, at, ny, due + timedelta(days=9))
    assert late == datetime(2026, 11, 16, 14, 0, tzinfo=UTC)


def test_digest_words():
    assert parse_schedule(["daily", "8:30"], "") == (DAILY, None, time(8, 30), "UTC")
    assert parse_schedule(["weekly", "Fri", "17:00", "europe/london"], "UTC") == (
        DigestFrequency.WEEKLY,
        4,
        time(17, 0),
        "Europe/London",
    )
    assert parse_schedule(["daily", "07:00"], "Asia/Tokyo")[3] == "Asia/Tokyo"
    assert zone_named("Berlin") == "Europe/Berlin"
    with pytest.raises(ValidationError, match="Did you mean Europe/Berlin"):
        zone_named("Europe/Berln")
    with pytest.raises(ValidationError, match="24-hour"):
        parse_schedule(["daily", "25:00"], "")
    with pytest.raises(ValidationError, match="day of the week"):
        parse_schedule(["weekly", "someday", "09:00"], "")


def test_a_request_microsoft_did_not_answer_is_sent_again_with_back_off():
    from bot.schedule import retry_delay

    assert retry_delay(timedelta(0)) == timedelta(minutes=1)
    assert retry_delay(timedelta(hours=1)) == timedelta(minutes=10)
    assert retry_delay(timedelta(hours=10)) == timedelta(minutes=30)
    assert retry_delay(timedelta(0), retry_after=120) == timedelta(minutes=2)  # Retry-After


def test_access_assignments_are_polled_every_minute_then_less_often():
    from bot.schedule import access_poll_interval

    assert access_poll_interval(timedelta(0)) == timedelta(minutes=1)
    assert access_poll_interval(timedelta(hours=1)) == timedelta(minutes=10)
    assert access_poll_interval(timedelta(days=2)) == timedelta(hours=1)
