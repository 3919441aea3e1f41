"""Two bot processes on one PostgreSQL run a simulated week over 1,000 onboardings; one is
killed with SIGKILL in the middle of a run. Every due reminder is mailed exactly once, none is
missed. And the due-work queries use their indexes, so they cost what is due."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, text

from adapters.clock import FixedClock
from bot.domain import Actor
from bot.service import OnboardingService
from storage.database import create_engine_for
from storage.migrate import upgrade
from storage.unit_of_work import SqlStore
from tests.dbs import PostgresUnavailable, postgres_schema
from tests.services import sandboxed_service

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests" / "replicas" / "runner.py"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ACTOR = Actor("ops", "ops", "console")
CUSTOMERS = 1000

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url():
    unavailable = None
    try:
        with postgres_schema() as url:
            yield url
    except PostgresUnavailable as err:
        unavailable = str(err)
    if unavailable:
        pytest.fail(unavailable, pytrace=False)


def service_on(engine, clock) -> OnboardingService:
    return sandboxed_service(
        engine,
        clock,
        partner_id="00000000-0000-4000-8000-00000000c0de",
        sync_after=None,
    )


def enroll_many(service: OnboardingService, count: int) -> None:
    lines = ["Customer Name,Email Address,Domain Name,Country Code"]
    lines += [f"Customer {i},it@cust{i:04d}.com,cust{i:04d}.com,US" for i in range(count)]
    review = service.bulk.review("\r\n".join(lines).encode(), "week.csv", ACTOR)
    assert len(service.bulk.confirm(review.import_id, ACTOR).enrolled) == count


class Replica:
    def __init__(self, url: str, tmp_path: Path, name: str) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "MICROSOFT_APP", "DATABASE_"))
        }
        env.update(DATABASE_URL=url, SYNC_INTERVAL_MINUTES="0", LOG_LEVEL="WARNING")
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, str(RUNNER)],
            cwd=tmp_path,
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(tmp_path / f"{name}.log", "w"),  # noqa: SIM115
        )

    def send(self, at: datetime) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(at.isoformat() + "\n")
        self.process.stdin.flush()

    def wait_done(self) -> str:
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            assert line, f"{self.name} died"
            if line.startswith("done"):
                return line

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(30)


def wait_until_mid_run(engine, slot: int) -> None:
    """Until a batch of these reminders is done and the next one is claimed but not done:
    killed then, the replica is in the middle of its run and holds claims, whatever the
    machine's speed (a fixed sleep was too long once reminders were sent in batches)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            done, claimed = conn.execute(
                text(
                    "SELECT count(*) FILTER (WHERE state <> 'pending'),"
                    " count(*) FILTER (WHERE state = 'pending' AND claimed_until IS NOT NULL)"
                    " FROM timers WHERE kind = 'reminder' AND slot = :slot"
                ),
                {"slot": slot},
            ).one()
        if 50 <= done <= CUSTOMERS - 200 and claimed:
            return
        time.sleep(0.002)
    raise AssertionError(f"reminder {slot} was never caught in the middle of a run")


def test_two_replicas_send_every_reminder_once_when_one_is_killed(pg_url, tmp_path):
    engine = create_engine_for(pg_url)
    upgrade(engine)
    started = time.perf_counter()
    enroll_many(service_on(engine, FixedClock(T0)), CUSTOMERS)
    enrolled_in = time.perf_counter() - started

    ticks = [T0 + timedelta(hours=1)] + [T0 + timedelta(hours=h) for h in range(6, 7 * 24 + 13, 6)]
    one, two = Replica(pg_url, tmp_path, "one"), Replica(pg_url, tmp_path, "two")
    killed_mid_run = False
    try:
        for at in ticks:
            alive = [r for r in (one, two) if r.process.poll() is None]
            if at == T0 + timedelta(hours=24):  # 1,000 first reminders: one starts alone
                one.send(at)
                wait_until_mid_run(engine, slot=1)
                one.kill()
                assert one.process.stdout is not None
                killed_mid_run = not any(
                    line.startswith(f"done {at.isoformat()}")
                    for line in one.process.stdout.read().splitlines()
                )
                alive = [two]
            for replica in alive:
                replica.send(at)
            for replica in alive:
                replica.wait_done()
    finally:
        for replica in (one, two):
            if replica.process.poll() is None:
                replica.stop()
    assert killed_mid_run, "replica one finished its run before it was killed"

    with engine.connect() as conn:
        per_slot = conn.execute(
            text(
                "SELECT onboarding_id, left(subject, 15) AS slot, count(*) FROM outbox_mail "
                "WHERE subject LIKE 'Reminder % of 3:%' GROUP BY 1, 2"
            )
        ).all()
        invitations = conn.execute(
            text("SELECT count(*) FROM outbox_mail WHERE subject NOT LIKE 'Reminder%'")
        ).scalar()
        retried = conn.execute(text("SELECT count(*) FROM timers WHERE attempts > 1")).scalar()
        pending = conn.execute(text("SELECT count(*) FROM timers WHERE state = 'pending'")).scalar()
        unsent = conn.execute(
            text("SELECT count(*) FROM deliveries WHERE state <> 'sent'")
        ).scalar()
    engine.dispose()
    assert invitations == CUSTOMERS
    assert len(per_slot) == 3 * CUSTOMERS, "a due reminder was missed"
    assert {count for *_, count in per_slot} == {1}, "a reminder was sent twice"
    assert {slot for _, slot, _ in per_slot} == {
        "Reminder 1 of 3",
        "Reminder 2 of 3",
        "Reminder 3 of 3",
    }
    assert retried > 0, "the killed replica's claims were taken over"
    assert (pending, unsent) == (0, 0)
    print(f"\n1,000 enrolled in {enrolled_in:.1f} s; {len(ticks)} ticks on two replicas")


def plan(conn, statement: tuple[str, dict]) -> str:
    sql, params = statement
    return "\n".join(conn.exec_driver_sql("EXPLAIN " + sql, params).scalars().all())


def test_due_work_queries_use_their_indexes(pg_url):
    """EXPLAIN on a table of 20,000 future timers and 500 digests: the due queries are index
    scans that stop at what is due, not scans of every row."""
    engine = create_engine_for(pg_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO timers (key, kind, onboarding_id, step, slot, due_at, state, attempts,"
                " created_at) SELECT 'k' || i, 'reminder', 'ob' || i, 'reseller', 1, "
                ":t0 + (i || ' minutes')::interval, CASE WHEN i % 3 = 0 THEN 'done' ELSE "
                "'pending' END, 0, :t0 FROM generate_series(1, 20000) AS i"
            ),
            {"t0": T0},
        )
        conn.execute(
            text(
                "INSERT INTO digests (platform, destination, label, direct, frequency, time, "
                "timezone, next_due_at, created_by, created_at) SELECT 'slack', 'C' || i, 'c', "
                "false, 'daily', '08:30', 'UTC', :t0 + (i || ' hours')::interval, 'x', :t0 "
                "FROM generate_series(1, 500) AS i"
            ),
            {"t0": T0},
        )
        conn.execute(text("ANALYZE timers"))
        conn.execute(text("ANALYZE digests"))
    store = SqlStore(engine)
    statements: list[tuple[str, dict]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    now = T0 + timedelta(minutes=30)
    with store.transaction() as uow:
        uow.timers.claim(now, 100, 300)
        uow.digests.claim_due(now)
    event.remove(engine, "before_cursor_execute", capture)
    claim_sql = next(s for s in statements if "FROM timers" in s[0] and "SKIP LOCKED" in s[0])
    digest_sql = next(s for s in statements if "FROM digests" in s[0])
    with engine.connect() as conn:
        timers_plan = plan(conn, claim_sql)
        digests_plan = plan(conn, digest_sql)
    engine.dispose()
    print("\n" + timers_plan + "\n\n" + digests_plan)
    assert "ix_timers_pending_due_at" in timers_plan and "Seq Scan" not in timers_plan
    assert "ix_digests_next_due_at" in digests_plan and "Seq Scan" not in digests_plan
