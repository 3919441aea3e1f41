"""`python app.py` as an operator starts it: migrate, then serve with a health check."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "MICROSOFT_APP", "DATABASE_", "PORT", "HOST"))
    }
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'bot.db'}", **extra})
    return env


def test_migrate_then_serve_answers_healthz(tmp_path):
    migrate = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "migrate"],
        cwd=tmp_path,
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert migrate.returncode == 0, migrate.stderr
    assert "up to date" in migrate.stdout
    assert (tmp_path / "data" / "bot.db").exists()

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env=env_for(tmp_path, PORT=str(port)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not start in 30 s"
                time.sleep(0.2)
        assert answer.status_code == 200
        assert answer.json() == {"status": "ok", "database": True}
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_bad_port_setting_is_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env=env_for(tmp_path, PORT="99999"),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "app.py: Setting PORT is wrong: Input should be less than or equal to 65535 (got '99999')."
    ]
