"""The real `app.py` process with real SMTP: killed with SIGKILL after the server received a
mail's DATA but before it could mark it sent, the next run sends that one mail again (same
Message-ID) and nothing else twice. And a mail server that cannot be reached at start-up
is one line in the log while the bot stays up, the mail waiting in the ledger."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import trustme
from sqlalchemy import create_engine, select

from storage.models import DeliveryRow
from tests.fakes.smtp_server import SmtpServer, free_port

ROOT = Path(__file__).resolve().parents[2]
SENDER = "Fabrikam Onboarding <onboarding@fabrikam.example>"


def env_for(tmp_path: Path, smtp_url: str, ca_file: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "MICROSOFT_APP", "DATABASE_", "PORT", "HOST", "MAIL_"))
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        MAIL_BACKEND="smtp",
        SMTP_URL=smtp_url,
        MAIL_FROM=SENDER,
        SSL_CERT_FILE=ca_file,
        SCHEDULER_ENABLED="false",
    )
    return env


def app(*args: str, env: dict[str, str], cwd: Path, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def mail_rows(tmp_path: Path) -> list:
    engine = create_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    with engine.connect() as conn:
        rows = list(conn.execute(select(DeliveryRow).where(DeliveryRow.c.channel == "mail")).all())
    engine.dispose()
    return rows


def ca_setup(tmp_path: Path) -> tuple[ssl.SSLContext, str]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return context, str(path)


def test_sigkill_between_send_and_mark_sent_resends_only_that_mail_with_the_same_id(tmp_path):
    context, ca_file = ca_setup(tmp_path)
    # 1. Three enrollments while the mail server is down: their mail waits in the ledger.
    down = env_for(tmp_path, f"smtp://localhost:{free_port()}", ca_file)
    script = "".join(
        f'enroll "Customer {n}" it@customer{n}.com customer{n}.com us\n' for n in (1, 2, 3)
    )
    console = app("console", env=down, cwd=tmp_path, stdin=subprocess.PIPE)
    _, err = console.communicate(script, timeout=60)
    assert console.returncode == 0, err
    rows = mail_rows(tmp_path)
    assert [r.state for r in rows] == ["pending"] * 3
    assert all("cannot reach the mail server" in r.last_error for r in rows)

    at = datetime.now(UTC) + timedelta(minutes=10)  # past the first back-off
    with SmtpServer(context) as server:
        up = env_for(tmp_path, server.url(), ca_file)
        # 2. The server takes the first mail's DATA and holds its answer: the sender is
        #    killed right there, after the send and before it could mark it sent.
        server.handler.hold = threading.Event()
        tick = app("tick", "--at", at.isoformat(), env=up, cwd=tmp_path)
        try:
            assert server.handler.data_seen.wait(30), "the tick never sent DATA"
            tick.send_signal(signal.SIGKILL)
            tick.wait(10)
        finally:
            server.handler.hold.set()
        assert tick.returncode == -signal.SIGKILL
        assert len(server.handler.received) == 1
        first = server.handler.received[0].message["Message-ID"].strip()
        server.handler.hold = None
        assert {r.state for r in mail_rows(tmp_path)} == {"pending"}

        # 3. The next run, once the dead sender's lease has run out, sends what is left.
        later = (at + timedelta(minutes=10)).isoformat()
        done = subprocess.run(
            [sys.executable, str(ROOT / "app.py"), "tick", "--at", later],
            cwd=tmp_path,
            env=up,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        ids = Counter(r.message["Message-ID"].strip() for r in server.handler.received)

    rows = mail_rows(tmp_path)
    assert [r.state for r in rows] == ["sent"] * 3
    assert len(server.handler.received) == 4  # three mails, one of them twice
    assert ids[first] == 2  # the one in flight when killed, with the same Message-ID
    assert sorted(ids.values()) == [1, 1, 2]


def test_an_unreachable_mail_server_at_start_up_is_one_log_line_and_the_bot_stays_up(tmp_path):
    _, ca_file = ca_setup(tmp_path)
    port = free_port()
    env = env_for(tmp_path, f"smtp://user:s3cret@localhost:{free_port()}", ca_file)
    env["PORT"] = str(port)
    server = app(env=env, cwd=tmp_path, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, server.stderr.read()
            time.sleep(0.2)
        time.sleep(1.0)  # the background check has long answered by now
        assert server.poll() is None  # still up
    finally:
        server.send_signal(signal.SIGINT)
        try:
            _, err = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            _, err = server.communicate()
    mail_lines = [line for line in err.splitlines() if "mail:" in line]
    assert len(mail_lines) == 1, err
    assert "cannot reach the mail server localhost:" in mail_lines[0]
    assert "waits in the delivery ledger" in mail_lines[0]
    assert "s3cret" not in err
