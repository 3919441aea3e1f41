"""The replay guard's memory, on both databases: a signature is taken once, by any process on
the store; keys past their window are forgotten (at most once a minute, off the per-request
path), never one still in its window nor one of another scope; and the commit that skips the
wait for the disk leaves the pooled connection as it found it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from storage.database import create_engine_for, is_sqlite
from storage.models import SeenRequestRow
from storage.seen_requests import SqlSeenRequests

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=10)


def kept(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(SeenRequestRow)).scalar_one())


def test_a_signature_is_taken_once_by_any_process_on_the_store(engine: Engine):
    assert SqlSeenRequests(engine).first_time("v0=abc", T0)
    assert not SqlSeenRequests(engine).first_time("v0=abc", T0 + timedelta(seconds=1))
    restarted = create_engine_for(engine.url)  # another process: its own connections
    try:
        assert not SqlSeenRequests(restarted).first_time("v0=abc", T0 + timedelta(minutes=4))
        assert SqlSeenRequests(restarted).first_time("v0=other", T0)
    finally:
        restarted.dispose()


def test_keys_past_their_window_are_forgotten_at_most_once_a_minute(engine: Engine):
    seen = SqlSeenRequests(engine, WINDOW)
    partner_center = SqlSeenRequests(engine, timedelta(days=3), scope="partner-center")
    assert partner_center.first_time("event-1", T0)
    assert seen.first_time("old", T0)
    assert kept(engine) == 2

    late = T0 + WINDOW + timedelta(seconds=1)
    assert seen.first_time("fresh", late)  # a minute since the last clean-up: "old" goes
    assert kept(engine) == 2  # "fresh", and Partner Center's event (its window is days)
    assert not seen.first_time("fresh", late + timedelta(seconds=30))

    assert seen.first_time("b", late + WINDOW - timedelta(seconds=30))  # cleans, none past
    assert seen.first_time("c", late + WINDOW + timedelta(seconds=1))  # "fresh" is past...
    assert kept(engine) == 4  # ...but the last clean-up was 31 s ago: kept a while longer
    assert seen.first_time("d", late + WINDOW + timedelta(seconds=30))  # a minute on
    assert kept(engine) == 4  # "fresh" gone, "b" in its window; Partner Center's kept


def test_the_guards_commit_leaves_the_connection_as_it_was(engine: Engine):
    """SQLite: `synchronous` is per connection, and every other transaction on it waits
    for the disk (FULL); PostgreSQL's setting is per transaction (SET LOCAL)."""
    SqlSeenRequests(engine).first_time("v0=abc", T0)
    with engine.connect() as conn:
        if is_sqlite(conn):
            raw = conn.connection.driver_connection
            assert raw is not None
            assert raw.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        else:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "on"
