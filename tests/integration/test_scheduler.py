"""The scheduler's due work against a real store (SQLite and PostgreSQL), moving a fixed clock:
reminders at 24 h / 48 h / 7 days exactly once, expiries, digests, paced channel notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.clock import FixedClock
from bot import rules
from bot.commands import Context, Dispatcher
from bot.domain import Actor, Step
from bot.errors import ProviderError
from bot.gdap_roles import GLOBAL_ADMINISTRATOR_ID, RECOMMENDED_ROLE_IDS
from bot.jobs import run_due
from bot.notices import NoticePayload
from bot.records import Place, TimerKind
from bot.views import Digest, Notice
from storage.unit_of_work import SqlStore
from tests.services import sandboxed_service

ALICE = Actor("U1", "alice", "slack", "T0ACME")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CHANNEL = Place("slack", "C1", "#onboarding")


class FakeNotifier:
    """A chat platform that records what it was asked to post, and can refuse."""

    platform = "slack"

    def __init__(self) -> None:
        self.posts: list[tuple[str, NoticePayload]] = []
        self.refuse_with: ProviderError | None = None

    def post(self, destination: str, payload: NoticePayload) -> None:
        if self.refuse_with:
            err, self.refuse_with = self.refuse_with, None
            raise err
        self.posts.append((destination, payload))

    def texts(self) -> list[str]:
        return [p.text for _, p in self.posts]


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def notifier():
    return FakeNotifier()


@pytest.fixture
def service(engine, clock, notifier):
    return sandboxed_service(
        engine,
        clock,
        bootstrap_admins=frozenset({ALICE.identity}),
        partner_name="Fabrikam Cloud",
        notifiers=[notifier],
        notice_every=0,
    )


def enroll(service, domain="abctech.com", name="ABC Technologies Inc."):
    return service.enrollment.enroll(
        {"name": name, "email": f"john.doe@{domain}", "domain": domain, "country": "us"}, ALICE
    )


def reminder_subjects(service, ref=None):
    return sorted(
        m.subject.split(":")[0]
        for m in service.customers.outbox_mails(ref).mails
        if m.subject.startswith("Reminder")
    )


def tick(service, clock, at):
    clock.at = at
    return run_due(service)


def test_reminders_at_24h_48h_and_7_days_exactly_once(service, clock, notifier):
    service.subscriptions.notify(CHANNEL, "all", ALICE)
    enroll(service)
    for hours in (1, 23.9):
        assert tick(service, clock, T0 + timedelta(hours=hours)).reminders == 0
    for hours, expected in ((24, 1), (24.5, 0), (47, 0), (48, 1), (100, 0), (168, 1), (400, 0)):
        work = tick(service, clock, T0 + timedelta(hours=hours))
        assert work.reminders == expected, hours
        tick(service, clock, T0 + timedelta(hours=hours))  # a second run finds nothing
    assert reminder_subjects(service) == ["Reminder 1 of 3", "Reminder 2 of 3", "Reminder 3 of 3"]
    log = [e.message for e in service.customers.activity_log("abctech.com").events]
    assert "2nd of 3 reminders sent to john.doe@abctech.com (Reseller Relationship)." in log
    assert sum("reminders sent to" in t for t in notifier.texts()) == 3
    assert any(
        t.endswith("3rd of 3 reminders sent to john.doe@abctech.com (Reseller Relationship).")
        for t in notifier.texts()
    )
    # each reminder notice says where the step stands after it, as the card does
    waiting = [p.waiting for _, p in notifier.posts if "reminders sent to" in p.text]
    assert waiting == [
        (
            "Reseller Relationship: Waiting for the customer to accept since yesterday · "
            "1st of 3 reminders sent · next reminder in a day (04 Nov)",
        ),
        (
            "Reseller Relationship: Waiting for the customer to accept since 2 days ago · "
            "2nd of 3 reminders sent · next reminder in 5 days (09 Nov)",
        ),
        (
            "Reseller Relationship: Waiting for the customer to accept since 7 days ago · "
            "all 3 reminders sent: contact the customer",
        ),
    ]


def test_manual_reminder_does_not_shift_them_and_leaving_waiting_stops_them(service, clock):
    enroll(service)
    clock.at = T0 + timedelta(hours=20)
    service.reminders.remind("abctech.com", Step.RESELLER, ALICE)
    assert tick(service, clock, T0 + timedelta(hours=24)).reminders == 1
    clock.at = T0 + timedelta(hours=30)
    service.sandbox.play("accept-reseller", "abctech.com")
    work = tick(service, clock, T0 + timedelta(days=8))
    assert (work.reminders, work.skipped) == (0, 2)
    assert reminder_subjects(service) == ["Reminder", "Reminder 1 of 3"]


def test_after_an_outage_one_late_reminder_per_step_not_a_burst(service, clock):
    enroll(service, "abctech.com")
    enroll(service, "fourthcoffee.com", "Fourth Coffee")
    assert tick(service, clock, T0 + timedelta(hours=20)).reminders == 0
    # down for 3 days: the 24 h and 48 h slots were missed; one goes out late, once
    work = tick(service, clock, T0 + timedelta(hours=92))
    assert (work.reminders, work.skipped) == (2, 2)
    assert reminder_subjects(service, "abctech.com") == ["Reminder 2 of 3"]
    assert tick(service, clock, T0 + timedelta(hours=168)).reminders == 2
    assert reminder_subjects(service, "fourthcoffee.com") == ["Reminder 2 of 3", "Reminder 3 of 3"]
    # a new customer, and the bot down for its whole first week: one reminder, the last
    clock.at = T0 + timedelta(days=10)
    enroll(service, "contoso.com", "Contoso")
    work = tick(service, clock, T0 + timedelta(days=18))
    assert (work.reminders, work.skipped) == (1, 2)
    assert reminder_subjects(service, "contoso.com") == ["Reminder 3 of 3"]


def test_p2p_reminders_go_to_the_current_partner_and_it_expires_at_30_days(
    service, clock, notifier
):
    service.subscriptions.notify(CHANNEL, "failures", ALICE)
    enroll(service)
    clock.at = T0 + timedelta(hours=1)
    service.sandbox.play("accept-reseller", "abctech.com")
    service.transfers.initiate(
        "abctech.com",
        {
            "partner": "other",
            "partner_name": "Old Partner Ltd",
            "partner_tenant_id": "0e9b0b5f-0000-4a5d-9c1d-1234567890ab",
            "partner_email": "transfers@oldpartner.com",
        },
        ALICE,
    )
    tick(service, clock, T0 + timedelta(hours=25))
    mails = service.customers.outbox_mails("abctech.com").mails
    assert mails[0].to == "transfers@oldpartner.com"
    assert mails[0].subject.startswith("Reminder 1 of 3")
    work = tick(service, clock, T0 + timedelta(days=30, minutes=59))
    assert work.expired == 0
    assert service.customers.card("abctech.com").row.p2p == "Pending"
    work = tick(service, clock, T0 + timedelta(days=30, hours=1))
    assert work.expired == 1
    card = service.customers.card("abctech.com")
    assert (card.row.p2p, card.row.overall) == ("Expired", "Failed")
    assert notifier.texts()[-1].endswith("P2P transfer Expired: no action within 30 days.")


def gdap(service, clock, roles, days):
    enroll(service)
    service.sandbox.play("accept-reseller", "abctech.com")
    service.gdap.request(
        "abctech.com", {"name": "ABC GDAP", "duration": str(days), "roles": roles}, ALICE
    )
    clock.at = T0 + timedelta(hours=2)
    service.sandbox.play("approve-gdap", "abctech.com")


def test_gdap_without_auto_extend_is_flagged_then_expires(service, clock, notifier):
    service.subscriptions.notify(CHANNEL, "all", ALICE)
    gdap(service, clock, [*RECOMMENDED_ROLE_IDS, GLOBAL_ADMINISTRATOR_ID], 60)
    ends = T0 + timedelta(hours=2, days=60)
    assert tick(service, clock, ends - timedelta(days=31)).warnings == 0
    assert tick(service, clock, ends - timedelta(days=30)).warnings == 1
    assert "ends in 30 days" in notifier.texts()[-1]
    assert tick(service, clock, ends - timedelta(days=7)).warnings == 1
    assert tick(service, clock, ends - timedelta(minutes=1)).expired == 0
    assert tick(service, clock, ends).expired == 1
    card = service.customers.card("abctech.com")
    assert (card.row.gdap, card.row.overall) == ("Expired", "Failed")


def gdap_end_timers(engine, kind="gdap.end"):
    with SqlStore(engine).transaction() as uow:
        ob = uow.onboardings.find("abctech.com")[0]
        return [(t.due_at, t.state.value) for t in uow.timers.of(ob.id, TimerKind(kind))]


def test_gdap_with_auto_extend_is_extended_recorded_and_its_new_end_watched(
    service, clock, engine, notifier
):
    service.subscriptions.notify(CHANNEL, "all", ALICE)
    gdap(service, clock, list(RECOMMENDED_ROLE_IDS), 10)
    first_end = T0 + timedelta(hours=2, days=10)
    second_end = first_end + timedelta(days=180)
    work = tick(service, clock, first_end)
    assert (work.expired, work.warnings, work.changes) == (0, 0, 1)
    card = service.customers.card("abctech.com")
    assert card.row.gdap == "Established"
    assert f"ends {second_end:%Y-%m-%d}" in card.steps[1].detail
    assert "auto-extends 180 days" in card.steps[1].detail
    assert card.events[-1].message == (
        f"GDAP relationship auto-extended by 180 days, now ends {second_end:%d %b %Y}."
    )
    assert notifier.texts()[-1].endswith(card.events[-1].message)
    assert gdap_end_timers(engine) == [(first_end, "done"), (second_end, "pending")]
    # nothing re-arms every hour: the next days are quiet
    for hours in (1, 2, 30):
        assert tick(service, clock, first_end + timedelta(hours=hours)).changes == 0
    assert gdap_end_timers(engine) == [(first_end, "done"), (second_end, "pending")]
    tick(service, clock, second_end)
    assert gdap_end_timers(engine)[-1] == (second_end + timedelta(days=180), "pending")


def test_an_ended_relationship_never_says_it_auto_extends(service, clock):
    gdap(service, clock, list(RECOMMENDED_ROLE_IDS), 100)
    service.sandbox.play("expire-gdap", "abctech.com")
    card = service.customers.card("abctech.com")
    assert card.row.gdap == "Expired"
    assert "auto-extend" not in card.steps[1].detail


def test_gdap_warnings_name_the_days_really_left(service, clock, notifier, engine):
    service.subscriptions.notify(CHANNEL, "all", ALICE)
    gdap(service, clock, [*RECOMMENDED_ROLE_IDS, GLOBAL_ADMINISTRATOR_ID], 60)
    ends = T0 + timedelta(hours=2, days=60)
    # the scheduler was down on the 30-day mark and comes back 26 days before the end
    work = tick(service, clock, ends - timedelta(days=26))
    assert work.warnings == 1
    assert f"ends in 26 days ({ends:%d %b %Y})" in notifier.texts()[-1]
    assert tick(service, clock, ends - timedelta(days=7)).warnings == 1
    assert f"ends in 7 days ({ends:%d %b %Y})" in notifier.texts()[-1]


def test_a_short_relationship_gets_only_the_warnings_still_ahead(service, clock, engine):
    gdap(service, clock, [*RECOMMENDED_ROLE_IDS, GLOBAL_ADMINISTRATOR_ID], 20)
    ends = T0 + timedelta(hours=2, days=20)
    assert gdap_end_timers(engine, "gdap.ending") == [(ends - timedelta(days=7), "pending")]


def test_two_warnings_due_at_once_give_one(service, clock, notifier):
    service.subscriptions.notify(CHANNEL, "all", ALICE)
    gdap(service, clock, [*RECOMMENDED_ROLE_IDS, GLOBAL_ADMINISTRATOR_ID], 60)
    ends = T0 + timedelta(hours=2, days=60)
    work = tick(service, clock, ends - timedelta(days=3))  # an outage over both marks
    assert work.warnings == 1
    assert sum("ends in" in t for t in notifier.texts()) == 1
    assert "ends in 3 days" in notifier.texts()[-1]


def test_changing_the_reminder_delays_keeps_reminders_already_scheduled(
    service, clock, monkeypatch
):
    enroll(service)
    # an operator deploys shorter delays; what was scheduled at enrollment still goes out
    monkeypatch.setattr(
        rules, "REMINDER_DELAYS", (timedelta(hours=12), timedelta(hours=36), timedelta(days=5))
    )
    assert tick(service, clock, T0 + timedelta(hours=24)).reminders == 1
    assert reminder_subjects(service) == ["Reminder 1 of 3"]


def test_fallback_sync_notices_a_missed_webhook_and_backs_off(service, clock, engine):
    enroll(service)
    # the customer accepts, but no webhook arrives (the simulator is told directly)
    service.sandbox.simulator.accept_reseller("abctech.com", "ABC", "john.doe@abctech.com", "US")
    assert tick(service, clock, T0 + timedelta(minutes=14)).syncs == 0
    work = tick(service, clock, T0 + timedelta(minutes=15))
    assert (work.syncs, work.changes) == (1, 1)
    assert service.customers.card("abctech.com").row.reseller == "Established"
    assert tick(service, clock, T0 + timedelta(hours=1)).syncs == 0  # nothing waits now


def digest_of(notifier) -> NoticePayload:
    digests = [p for _, p in notifier.posts if p.kind == "digest"]
    assert digests, notifier.texts()
    return digests[-1]


def test_daily_digest_in_the_subscribers_time_zone_once_per_day(service, clock, notifier):
    dispatcher = Dispatcher(service)
    answer = dispatcher.handle("digest daily 08:30 Europe/Berlin", Context(ALICE, CHANNEL))
    assert isinstance(answer, Notice) and "every day at 08:30 (Europe/Berlin)" in answer.text
    enroll(service)
    assert tick(service, clock, datetime(2026, 11, 3, 7, 29, tzinfo=UTC)).digests == 0
    assert tick(service, clock, datetime(2026, 11, 3, 7, 30, tzinfo=UTC)).digests == 1
    assert tick(service, clock, datetime(2026, 11, 3, 9, 0, tzinfo=UTC)).digests == 0
    first = digest_of(notifier)
    assert first.onboarding_id is None
    assert first.text.splitlines()[:3] == [
        "Daily digest · Tue 3 Nov 2026, 08:30 CET",
        "Active 1 · Failed 0 · Completed 0",
        "New: 1 enrolled — ABC Technologies Inc.",
    ]
    clock.at = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    enroll(service, "fourthcoffee.com", "Fourth Coffee")
    # the bot is down for six days: one digest for the latest day, not six
    assert tick(service, clock, datetime(2026, 11, 9, 10, 0, tzinfo=UTC)).digests == 1
    second = digest_of(notifier)
    assert second.text.splitlines()[1] == "Active 2 (+1) · Failed 0 · Completed 0"
    assert "Reminders spent (1)" in second.text
    assert (
        "• ABC Technologies Inc. — Reseller Relationship: Waiting for the customer to accept "
        "since 7 days ago · all 3 reminders sent: contact the customer"
    ) in second.text.splitlines()
    assert second.digest["counts"] == {"active": 2, "failed": 0, "completed": 0}
    assert second.digest["change"] == {"active": 1, "failed": 0, "completed": 0}
    assert tick(service, clock, datetime(2026, 11, 10, 7, 29, tzinfo=UTC)).digests == 0
    assert tick(service, clock, datetime(2026, 11, 10, 7, 30, tzinfo=UTC)).digests == 1


def test_digest_now_off_and_the_console(service, clock, notifier):
    dispatcher = Dispatcher(service)
    enroll(service)
    dm = Place("slack", "D9", "a direct message", direct=True)
    assert "Digest sent" in dispatcher.handle("digest now", Context(ALICE, dm)).text
    assert notifier.posts[-1][0] == "D9" and notifier.posts[-1][1].kind == "digest"
    console = Dispatcher(service).handle("digest now", Context(ALICE, None))
    assert isinstance(console, Digest) and console.counts.active == 1
    refused = dispatcher.handle("digest daily 08:30", Context(ALICE, None))
    assert "Slack or Teams" in refused.text
    assert (
        "Europe/Paris"
        in dispatcher.handle("digest daily 08:30 Europe/Pariss", Context(ALICE, dm)).text
    )
    assert (
        "every Monday at 09:00 (America/New_York)"
        in dispatcher.handle("digest weekly mon 9:00 new_york", Context(ALICE, dm)).text
    )
    assert "is off" in dispatcher.handle("digest off", Context(ALICE, dm)).text
    assert tick(service, clock, T0 + timedelta(days=8)).digests == 0


def test_many_notices_for_one_channel_are_merged_into_one(service, clock, notifier, engine):
    service.subscriptions.notify(CHANNEL, "all", ALICE)
    service.delivery.notice_merge_over = 3
    for i in range(6):
        enroll(service, f"customer{i}.com", f"Customer {i}")  # delivers as it goes
    assert len(notifier.posts) == 6
    notifier.posts.clear()
    for i in range(6):
        service.reminders.remind(f"customer{i}.com", Step.RESELLER, ALICE)
    assert len(notifier.posts) == 6  # one at a time, each under the threshold
    notifier.posts.clear()
    clock.at = T0 + timedelta(hours=24)
    run_due(service)  # six automatic reminders at once, one channel
    assert len(notifier.posts) == 1
    merged = notifier.posts[0][1]
    assert merged.text.startswith("6 updates:\n• Customer 0: 1st of 3 reminders")
    assert len(merged.merged) == 6
    assert service.delivery.deliver_pending() == 0  # each of the six is recorded sent


def test_a_rate_limit_holds_back_that_channels_notices(service, clock, notifier):
    service.subscriptions.notify(CHANNEL, "all", ALICE)
    notifier.refuse_with = ProviderError("ratelimited", retry_after=30)
    enroll(service)
    assert notifier.posts == []
    assert service.delivery.deliver_pending() == 0  # not before Retry-After
    clock.advance(seconds=30)
    assert service.delivery.deliver_pending() == 1


def test_a_waiting_step_says_who_must_act_and_what_comes_next(service, clock):
    enroll(service)
    tenant = f"; tenant {service.sandbox.simulator.find_tenant('abctech.com')}"
    waiting = service.customers.card("abctech.com").steps[0].detail
    assert waiting == (
        "Waiting for the customer to accept since now · next reminder in a day (03 Nov)" + tenant
    )
    tick(service, clock, T0 + timedelta(hours=48, minutes=1))
    assert service.customers.card("abctech.com").steps[0].detail == (
        "Waiting for the customer to accept since 2 days ago · 2nd of 3 reminders sent · "
        "next reminder in 4 days (09 Nov)" + tenant
    )
    tick(service, clock, T0 + timedelta(days=8))
    assert service.customers.card("abctech.com").steps[0].detail == (
        "Waiting for the customer to accept since 8 days ago · "
        "all 3 reminders sent: contact the customer" + tenant
    )


def test_a_corrected_email_is_noticed_with_the_restarted_wait(service, clock, notifier):
    service.subscriptions.notify(CHANNEL, "all", ALICE)
    enroll(service)
    clock.advance(hours=30)
    service.editing.edit("abctech.com", {"email": "jo.doe@abctech.com"}, ALICE)
    service.delivery.deliver_pending()
    _, notice = notifier.posts[-1]
    assert notice.text == (
        'ABC Technologies Inc.: Corrected Email Address "john.doe@abctech.com" → '
        '"jo.doe@abctech.com". The invitation sent again to jo.doe@abctech.com; reminders '
        "start again."
    )
    assert notice.actor == "alice (slack)"
    assert notice.waiting == (
        "Reseller Relationship: Waiting for the customer to accept since now · next reminder "
        "in a day (04 Nov)",
    )
