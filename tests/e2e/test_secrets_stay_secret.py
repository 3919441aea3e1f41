"""No secret ever reaches a log, a message or the store: the real `python app.py` with every
secret set, at LOG_LEVEL=DEBUG, walked through a journey over signed Slack requests (and a
refused Teams request), then every log line, every Slack API call and every database row is
searched for each secret."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from sqlalchemy import inspect, text

from storage.database import create_engine_for
from tests.e2e.slack_support import SECRET, TOKEN, Slack, signature
from tests.e2e.test_serve import env_for, free_port
from tests.fakes.slack_api import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
APP_PASSWORD = "teams-app-secret-Zq8~9vX"
PARTNER_SECRET = "partner-client-secret-7Hk.Qw"
SMTP_PASSWORD = "smtp-pass-Lm4!x"
SECRETS = (TOKEN, SECRET, APP_PASSWORD, PARTNER_SECRET, SMTP_PASSWORD)
JOURNEY = (
    'enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US',
    "sandbox accept-reseller abctech.com",
    "show abctech.com",
    "remind abctech.com reseller",
    "notify here",
    "status",
    "log abctech.com",
    "access",
    "cancel abctech.com --yes",
)


async def post_signed(session: aiohttp.ClientSession, url: str, body: str) -> int:
    ts = str(int(time.time()))
    async with session.post(
        url,
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature(body, ts),
        },
    ) as answer:
        return answer.status


async def test_a_journey_with_every_secret_set_logs_and_stores_none_of_them(tmp_path: Path):
    api = await FakeSlack(TOKEN).start()
    port = free_port()
    db = tmp_path / "bot.db"
    env = env_for(
        tmp_path,
        PORT=str(port),
        LOG_LEVEL="DEBUG",
        DATABASE_URL=f"sqlite:///{db}",
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=api.api_url,
        MICROSOFT_APP_ID="00000000-0000-0000-0000-00000000b07a",
        MICROSOFT_APP_PASSWORD=APP_PASSWORD,
        MICROSOFT_APP_TENANT_ID="00000000-0000-0000-0000-0000000007e7",
        MAIL_BACKEND="smtp",
        SMTP_URL=f"smtp://bot:{SMTP_PASSWORD}@127.0.0.1:{free_port()}",
        MAIL_FROM="Fabrikam Onboarding <onboarding@fabrikam.example.net>",
        PARTNER_CLIENT_ID="11111111-2222-4333-8444-555555555555",
        PARTNER_CLIENT_SECRET=PARTNER_SECRET,
        BOT_ADMINS="slack:T0PARTNER:U0ALICE",
        SCHEDULER_INTERVAL_SECONDS="1",
    )
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"{url}/healthz") as health:
                        if health.status in (200, 503):
                            break
                except aiohttp.ClientConnectionError:
                    pass
                assert server.poll() is None, server.communicate()[0]
                assert time.monotonic() < deadline, "the server did not start in 30 s"
                await asyncio.sleep(0.2)
            fake = Slack(None, api, None)  # type: ignore[arg-type]
            for line in JOURNEY:
                reply_to = api.response_url()
                body = fake.command_body(line, response_url=reply_to)
                assert await post_signed(session, f"{url}/slack/events", body) == 200
                await api.answer_to(reply_to)
            # a forged Teams call carrying a secret-looking token is refused, and not logged
            async with session.post(
                f"{url}/api/messages",
                json={"type": "message", "text": "status"},
                headers={"Authorization": f"Bearer {APP_PASSWORD}"},
            ) as forged:
                assert forged.status == 401
            await asyncio.sleep(2)  # a scheduler run or two, at DEBUG
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
        await api.stop()
    assert "DEBUG" in output  # the level really was DEBUG
    for secret in SECRETS:
        assert secret not in output, f"a secret reached the log: {secret[:6]}…"
    sent = "\n".join(repr(call.args) for call in api.calls)
    assert "abctech.com" in sent  # the journey's messages went to Slack
    for secret in SECRETS:
        assert secret not in sent, "a secret reached a Slack message"
    engine = create_engine_for(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
                dump = repr(rows)
                for secret in SECRETS:
                    assert secret not in dump, f"a secret is stored in {table}"
    finally:
        engine.dispose()
