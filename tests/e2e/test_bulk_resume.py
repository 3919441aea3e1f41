"""A bulk import whose process is killed half-way is not stuck: the scheduler (or the next
`bulk confirm`) resumes it, every row is enrolled once and every customer gets one
invitation. The real `python app.py` process, SIGKILLed, on SQLite and PostgreSQL.

The kill lands at a chunk boundary whatever the machine's load: a trigger the test puts on
the table lets the first chunk in and holds the second one's insert for ever (SQLite: a
query that cannot finish; PostgreSQL: a lock the test holds), so the process is killed with
exactly one chunk committed and the second one in flight."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from bot.bulk import BULK_CHUNK
from storage.database import READ_ONLY, create_engine_for
from tests.dbs import PostgresUnavailable, database_url

ROOT = Path(__file__).resolve().parents[2]
ROWS = BULK_CHUNK + 200  # two chunks: the first committed before the kill, the second not


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    try:
        with database_url(request.param, tmp_path) as url:
            yield url
    except PostgresUnavailable as err:
        pytest.fail(str(err), pytrace=False)


def environment(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "SLACK_"))}
    env.update(DATABASE_URL=url, SYNC_INTERVAL_MINUTES="0", LOG_LEVEL="WARNING")
    return env


def app(*args: str, url: str, cwd: Path, script: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args],
        input=script,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment(url),
        timeout=300,
    )


def count(engine, sql: str) -> int:
    """Reads without asking for the write lock: on SQLite the held chunk keeps it for ever."""
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        return int(conn.execute(text(sql)).scalar_one())


@contextmanager
def second_chunk_held(engine: Engine) -> Iterator[Connection | None]:
    """Holds every insert into onboardings once a chunk is in; yields, on PostgreSQL, the
    connection holding the lock the held insert waits for."""
    if engine.dialect.name == "sqlite":
        # 500^4 rows to count: a statement that never ends, until its process is killed
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TRIGGER hold_second_chunk BEFORE INSERT ON onboardings "
                    f"WHEN (SELECT count(*) FROM onboardings) >= {BULK_CHUNK} BEGIN "
                    "SELECT count(*) FROM onboardings a, onboardings b, onboardings c, "
                    "onboardings d; END"
                )
            )
        try:
            yield None
        finally:
            with engine.begin() as conn:
                conn.execute(text("DROP TRIGGER hold_second_chunk"))
        return
    key = uuid.uuid4().int % 2**31
    with engine.connect() as holder:
        holder.execute(text(f"SELECT pg_advisory_lock({key})"))
        holder.commit()
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE FUNCTION hold_second_chunk() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    f"BEGIN IF (SELECT count(*) FROM onboardings) >= {BULK_CHUNK} THEN "
                    f"PERFORM pg_advisory_xact_lock({key}); END IF; RETURN NULL; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER hold_second_chunk BEFORE INSERT ON onboardings "
                    "FOR EACH STATEMENT EXECUTE FUNCTION hold_second_chunk()"
                )
            )
        holder.info["lock_key"] = key
        try:
            yield holder
        finally:
            with engine.begin() as conn:
                conn.execute(text("DROP TRIGGER hold_second_chunk ON onboardings"))
                conn.execute(text("DROP FUNCTION hold_second_chunk()"))


def wait_for_the_held_chunk(engine: Engine, holder: Connection | None, process) -> None:
    """Returns once the first chunk is committed and the second one is held."""
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline, "the import did not get to its second chunk"
        if holder is None:
            reached = count(engine, "SELECT count(*) FROM onboardings") >= BULK_CHUNK
        else:
            waiting = (
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                f"AND objid = {holder.info['lock_key']}"
            )
            reached = count(engine, waiting) > 0
        if reached:
            return
        time.sleep(0.05)


def release(engine: Engine, holder: Connection | None) -> None:
    """Ends the killed process's server side too (PostgreSQL does not notice the client
    has gone while it waits), so nothing it did stays half-done."""
    if holder is None:
        return
    key = holder.info["lock_key"]
    with engine.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                f"AND NOT granted AND objid = {key}"
            )
        )
        conn.commit()
    holder.execute(text(f"SELECT pg_advisory_unlock({key})"))
    holder.commit()


def test_a_bulk_import_killed_half_way_resumes_and_enrolls_each_row_once(db, tmp_path):
    csv_file = tmp_path / "customers.csv"
    lines = ["Customer Name,Email Address,Domain Name,Country Code"]
    lines += [f"Customer {i},it@cust{i:05d}.com,cust{i:05d}.com,US" for i in range(ROWS)]
    csv_file.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    migrated = app("migrate", url=db, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    engine = create_engine_for(db)
    try:
        with second_chunk_held(engine) as holder:
            confirming = subprocess.Popen(
                [sys.executable, str(ROOT / "app.py"), "console"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                text=True,
                cwd=tmp_path,
                env=environment(db),
            )
            assert confirming.stdin is not None
            confirming.stdin.write(f"bulk {csv_file}\nyes\n")  # review, then confirm
            confirming.stdin.flush()
            wait_for_the_held_chunk(engine, holder, confirming)
            confirming.send_signal(signal.SIGKILL)
            confirming.wait(10)
            release(engine, holder)
        with engine.connect() as conn:
            import_id = conn.execute(text("SELECT id FROM bulk_imports")).scalar_one()
        enrolled = count(engine, "SELECT count(*) FROM onboardings")
        assert enrolled == BULK_CHUNK
        state = f"SELECT state FROM bulk_imports WHERE id = '{import_id}'"
        with engine.connect() as conn:
            assert conn.execute(text(state)).scalar_one() == "running"

        # Right after the restart the dead worker's lease still holds: the user is told how
        # far it got and what happens next, and nothing is enrolled twice meanwhile.
        asked = app("console", url=db, cwd=tmp_path, script=f"bulk confirm {import_id}\n")
        assert "rows done" in asked.stdout and "resumes by itself" in asked.stdout

        # Ten minutes on: past the dead worker's hold on the import (30 s) and on the mails
        # it had claimed but not sent (5 minutes), which go out now, once.
        later = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
        tick = app("tick", "--at", later, url=db, cwd=tmp_path)
        assert tick.returncode == 0, tick.stderr
        assert "1 bulk imports resumed" in tick.stdout

        assert count(engine, "SELECT count(*) FROM onboardings") == ROWS
        assert count(engine, "SELECT count(DISTINCT domain) FROM onboardings") == ROWS
        invitations = "SELECT count(*) FROM deliveries WHERE key LIKE 'mail:%:reseller:invite'"
        assert count(engine, invitations) == ROWS
        assert count(engine, "SELECT count(*) FROM outbox_mail") == ROWS
        with engine.connect() as conn:
            assert conn.execute(text(state)).scalar_one() == "done"

        summary = app("console", url=db, cwd=tmp_path, script=f"bulk confirm {import_id}\n")
        assert f"{ROWS} enrolled, 0 not enrolled" in summary.stdout
    finally:
        engine.dispose()
