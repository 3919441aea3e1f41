"""Many reminders due in one tick (the scheduler handles a claimed batch of them in one
transaction), against a real store: each is sent exactly once, also with two schedulers on
one database at once; a closed customer in the middle of the batch is skipped, and one whose
reminder cannot be made does not hold back the others."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from adapters.clock import FixedClock
from bot.domain import Actor
from bot.gdap_roles import RECOMMENDED_ROLE_IDS
from bot.jobs import BATCH, DueWork, run_due
from bot.records import Place
from storage.database import create_engine_for
from tests.services import sandboxed_service

ALICE = Actor("U1", "alice", "slack", "T0ACME")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DUE = T0 + timedelta(hours=24)  # the first reminder of everyone enrolled at T0
CHANNEL = Place("slack", "C1", "#onboarding")


class Channel:
    """A chat platform that records what it was asked to post."""

    platform = "slack"

    def __init__(self) -> None:
        self.texts: list[str] = []

    def post(self, destination: str, payload) -> None:
        self.texts.append(payload.text)


def service_on(engine, clock, channel=None):
    return sandboxed_service(
        engine,
        clock,
        bootstrap_admins=frozenset({ALICE.identity}),
        partner_name="Fabrikam Cloud",
        notifiers=[channel] if channel else [],
        notice_every=0,
    )


def enroll_many(service, count: int) -> list[str]:
    """`count` customers enrolled from one CSV file, as a user imports them; their domains."""
    domains = [f"customer{i:04d}.com" for i in range(count)]
    rows = "".join(f"Customer {i:04d} Ltd,it@{d},{d},US\r\n" for i, d in enumerate(domains))
    data = ("Customer Name,Email Address,Domain Name,Country Code\r\n" + rows).encode()
    review = service.bulk.review(data, "customers.csv", ALICE)
    assert len(review.valid) == count
    service.bulk.confirm(review.import_id, ALICE)
    return domains


def outbox_reminders(engine) -> Counter[str]:
    """Every reminder mail the outbox holds (the page above shows only the newest)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT to_address FROM outbox_mail WHERE subject LIKE 'Reminder%'")
        ).scalars()
        return Counter(address.split("@")[1] for address in rows)


def logged_reminders(service, domain: str) -> list[str]:
    return [
        e.message
        for e in service.customers.activity_log(domain).events
        if "reminders sent to" in e.message
    ]


def test_many_due_reminders_in_one_tick_are_each_sent_once(engine, caplog):
    caplog.set_level(logging.WARNING, logger="bot.jobs")
    clock = FixedClock(T0)
    channel = Channel()
    service = service_on(engine, clock, channel)
    service.subscriptions.notify(CHANNEL, "all", ALICE)
    count = BATCH + 30  # two claimed batches
    domains = enroll_many(service, count)
    clock.at = DUE
    posted = len(channel.texts)
    work = run_due(service)
    assert (work.reminders, work.skipped, work.failed) == (count, 0, 0)
    assert not [r for r in caplog.records if "failed together" in r.getMessage()]
    assert outbox_reminders(engine) == Counter(dict.fromkeys(domains, 1))
    for domain in (domains[0], domains[BATCH - 1], domains[BATCH], domains[-1]):
        assert logged_reminders(service, domain) == [
            f"1st of 3 reminders sent to it@{domain} (Reseller Relationship)."
        ]
    # the channel hears of them all, merged: a notice per 500 deliveries the sender takes
    merged = channel.texts[posted:]
    assert 1 <= len(merged) <= 2 and all(" updates:\n" in t for t in merged)
    assert sum(int(t.split(" updates:")[0]) for t in merged) == count
    assert "1st of 3 reminders sent to it@customer0000.com" in merged[0]
    assert run_due(service).reminders == 0  # a second tick at the same instant finds nothing
    assert outbox_reminders(engine) == Counter(dict.fromkeys(domains, 1))


def test_two_schedulers_on_one_database_send_nothing_twice(engine, db_url):
    """Two services, each with its own engine, tick at once. Their leases last no time, and
    the second one's clock is a second ahead, so it may take over every claim of the first
    while the first still works on it: only the onboarding locks and the ledger keys keep
    each reminder to one mail."""
    count = 120
    first = service_on(engine, FixedClock(T0))
    domains = enroll_many(first, count)
    other_engine = create_engine_for(db_url)
    try:
        second = service_on(other_engine, FixedClock(T0))
        first.clock.at, second.clock.at = DUE, DUE + timedelta(seconds=1)  # type: ignore[attr-defined]
        start = threading.Barrier(2)
        done: list[DueWork] = []
        errors: list[BaseException] = []

        def tick(service) -> None:
            try:
                start.wait()
                done.append(run_due(service, batch=25, lease_seconds=0))
            except BaseException as err:  # reported below, in the test's thread
                errors.append(err)

        threads = [threading.Thread(target=tick, args=(s,)) for s in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors
        assert sum(w.reminders for w in done) == count
        assert sum(w.failed for w in done) == 0
        assert outbox_reminders(engine) == Counter(dict.fromkeys(domains, 1))
        assert run_due(second).reminders == 0
        assert logged_reminders(first, domains[count // 2]) == [
            f"1st of 3 reminders sent to it@{domains[count // 2]} (Reseller Relationship)."
        ]
    finally:
        other_engine.dispose()


def test_a_closed_customer_in_the_batch_is_skipped_and_the_others_are_sent(engine):
    clock = FixedClock(T0)
    service = service_on(engine, clock)
    domains = enroll_many(service, 9)
    clock.at = T0 + timedelta(hours=3)
    service.closing.cancel(domains[4], ALICE)
    clock.at = DUE
    work = run_due(service)
    assert (work.reminders, work.skipped, work.failed) == (8, 1, 0)
    assert outbox_reminders(engine) == Counter({d: 1 for d in domains if d != domains[4]})
    assert logged_reminders(service, domains[4]) == []
    assert logged_reminders(service, domains[5]) == [
        f"1st of 3 reminders sent to it@{domains[5]} (Reseller Relationship)."
    ]


@pytest.fixture
def gdap_waiting(engine):
    """Nine customers waiting to accept the reseller relationship, and one that accepted it
    and waits to approve its GDAP request, all enrolled at T0."""
    clock = FixedClock(T0)
    service = service_on(engine, clock)
    domains = enroll_many(service, 9)
    service.enrollment.enroll(
        {"name": "Broken Data Ltd", "email": "it@brokendata.com"}
        | {"domain": "brokendata.com", "country": "us"},
        ALICE,
    )
    service.sandbox.play("accept-reseller", "brokendata.com")
    service.gdap.request(
        "brokendata.com",
        {"name": "Broken GDAP", "duration": "60", "roles": list(RECOMMENDED_ROLE_IDS)},
        ALICE,
    )
    return service, clock, domains


def test_a_reminder_that_cannot_be_made_does_not_stop_the_rest(engine, gdap_waiting, caplog):
    """Its GDAP request lost its approval link (a row written by hand or by an older
    version): the approval mail cannot be made, so the batch cannot go as one. The others
    are sent anyway, and the failing one is logged by its timer and retried later."""
    service, clock, domains = gdap_waiting
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE onboardings SET gdap_approval_url = NULL WHERE domain = :d"),
            {"d": "brokendata.com"},
        )
    clock.at = DUE
    work = run_due(service)
    assert (work.reminders, work.failed) == (9, 1)
    assert outbox_reminders(engine) == Counter(dict.fromkeys(domains, 1))
    failed = [r for r in caplog.records if r.getMessage().startswith("due work reminder:")]
    assert len(failed) == 1 and "failed (attempt 1)" in failed[0].getMessage()
    assert ":gdap:" in failed[0].getMessage()
    # its claim expires: it is tried again by itself, and nothing else is sent again
    clock.at = DUE + timedelta(minutes=10)
    again = run_due(service)
    assert (again.reminders, again.failed) == (0, 1)
    assert "failed (attempt 2)" in caplog.records[-1].getMessage()
    assert outbox_reminders(engine) == Counter(dict.fromkeys(domains, 1))
