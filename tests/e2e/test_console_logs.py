"""`./run.sh` on a terminal runs the server, the scheduler and the console in one process:
their log lines go to a file in the user's state folder (said at start-up) instead of
landing in the prompt; without a terminal the log stays on standard error and standard
output carries only the answers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.console_support import ROOT, console_env, has_pty, on_terminal, piped
from tests.e2e.test_serve import free_port

LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO|WARNING) ")


def wait_for(path: Path, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text() if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never reached {path}")


@pytest.mark.skipif(not has_pty(), reason="no pseudo-terminal on this machine")
def test_on_a_terminal_the_log_goes_to_the_state_folder_not_into_the_prompt(tmp_path):
    port = free_port()
    log_file = tmp_path / "state" / "onboarding-bot" / "server.log"
    with on_terminal(
        tmp_path, "serve", PORT=str(port), SCHEDULER_INTERVAL_SECONDS="1", LOG_LEVEL="DEBUG"
    ) as terminal:
        terminal.expect("onboard> ")
        assert f"Listening on http://127.0.0.1:{port}." in terminal.screen
        told = " ".join(terminal.screen.split())
        assert f"The log is in {log_file}; only errors are shown here." in told
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        wait_for(log_file, "apscheduler")  # the scheduler has run (and logged) meanwhile
        terminal.type('enroll "Fourth Coffee" it@fourthcoffee.com fourthcoffee.com US')
        terminal.expect("Cancel onboarding")
        terminal.type("quit")
        assert terminal.wait_for_exit() == 0
        screen = terminal.screen
    assert not LOG_LINE.search(screen), screen
    logged = log_file.read_text()
    assert f"listening on http://127.0.0.1:{port}" in logged
    assert "alembic" in logged and "apscheduler" in logged


def test_without_a_terminal_the_log_stays_on_standard_error(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "serve"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=console_env(tmp_path, PORT=str(port)),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    assert f"listening on http://127.0.0.1:{port}" in err
    assert out == ""
    assert not (tmp_path / "state" / "onboarding-bot" / "server.log").exists()


def test_json_mode_keeps_standard_output_to_the_answers(tmp_path):
    result = piped(
        tmp_path,
        'enroll "Fourth Coffee" it@fourthcoffee.com fourthcoffee.com US\nstatus\n',
        "--json",
        LOG_LEVEL="DEBUG",
    )
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["type"] for line in result.stdout.splitlines()] == [
        "CustomerCard",
        "ListPage",
    ]
    assert not (tmp_path / "state" / "onboarding-bot" / "server.log").exists()
