"""A bulk import whose process is killed half-way is not stuck: the scheduler (or the next
`bulk confirm`) resumes it, every row is enrolled once and every customer gets one
invitation. The real `python app.py` process, SIGKILLed, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.database import create_engine_for
from tests.dbs import PostgresUnavailable, database_url

ROOT = Path(__file__).resolve().parents[2]
ROWS = 700
KILL_AT = 250  # in its second chunk of 200: one chunk committed, the rest not


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
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_a_bulk_import_killed_half_way_resumes_and_enrolls_each_row_once(db, tmp_path):
    csv_file = tmp_path / "customers.csv"
    lines = ["Customer Name,Email Address,Domain Name,Country Code"]
    lines += [f"Customer {i},it@cust{i:05d}.com,cust{i:05d}.com,US" for i in range(ROWS)]
    csv_file.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    migrated = app("migrate", url=db, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    engine = create_engine_for(db)
    try:
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
        deadline = time.monotonic() + 120
        while count(engine, "SELECT count(*) FROM onboardings") < KILL_AT:
            assert confirming.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline, "the import did not get going"
            time.sleep(0.05)
        confirming.send_signal(signal.SIGKILL)
        confirming.wait(10)
        with engine.connect() as conn:
            import_id = conn.execute(text("SELECT id FROM bulk_imports")).scalar_one()
        enrolled = count(engine, "SELECT count(*) FROM onboardings")
        assert KILL_AT <= enrolled < ROWS
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
