"""`python app.py tick --at …` as an operator (or a test moving time) runs it: the work due at
that instant, once, and a one-line summary."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from tests.e2e.test_serve import ROOT, env_for


def app(tmp_path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args],
        cwd=tmp_path,
        env=env_for(tmp_path, LOG_LEVEL="WARNING"),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_tick_sends_the_reminder_due_at_that_instant_once(tmp_path):
    enrolled = app(
        tmp_path,
        "console",
        stdin='enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US\n',
    )
    assert enrolled.returncode == 0, enrolled.stderr
    day = datetime.now(UTC) + timedelta(hours=24, minutes=1)
    first = app(tmp_path, "tick", "--at", day.isoformat())
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("tick ") and "1 reminders sent" in first.stdout
    again = app(tmp_path, "tick", "--at", day.isoformat())
    assert "0 reminders sent" in again.stdout
    outbox = app(tmp_path, "console", stdin="outbox abctech.com\n")
    assert "Reminder 1 of 3: " in outbox.stdout


def test_a_bad_instant_is_one_line(tmp_path):
    result = app(tmp_path, "tick", "--at", "tomorrow")
    assert result.returncode == 2
    assert "is not an ISO 8601 time" in result.stderr
