"""Requests Slack would never send, and requests not from Slack: a clear status (400 for a
malformed request that is signed, 401 for one that is not), one short log line with the
reason and the size, no stack trace, nothing done; a flood of unsigned megabytes leaves a few
kilobytes of log, and nothing in a request can forge a log line."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time

import pytest

from tests.e2e.slack_support import SECRET, Slack, slack

__all__ = ["slack"]
ENROLL = 'enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US'
FORM = "application/x-www-form-urlencoded"


def enrolled(slack: Slack) -> int:
    return slack.bot.service.customers.dashboard().total


def app_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the bot logged (the HTTP access log, one line per request, aside)."""
    return [r for r in caplog.records if r.name != "aiohttp.access"]


async def post(
    slack: Slack,
    body: bytes,
    content_type: str | None = FORM,
    timestamp: str | None = None,
    secret: str | None = SECRET,
) -> int:
    ts = timestamp if timestamp is not None else str(int(time.time()))
    headers = {"X-Slack-Request-Timestamp": ts}
    if content_type:
        headers["Content-Type"] = content_type
    if secret:
        base = b"v0:" + ts.encode() + b":" + body
        headers["X-Slack-Signature"] = (
            "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
        )
    answer = await slack.http.post("/slack/events", data=body, headers=headers)
    return answer.status


MALFORMED = {
    "payload is not JSON": (b"payload=%7Bnot+json", FORM, None, 400),
    "payload is not an object": (b"payload=%5B1%2C2%5D", FORM, None, 400),
    "JSON body is not JSON": (b'{"type": "event_callback", ', "application/json", None, 400),
    "timestamp is not a number": (b"command=%2Fonboard&text=help", FORM, "soon", 400),
    "timestamp is not a number, unsigned": (b"command=%2Fonboard", FORM, "soon", 401),
    "unknown content type": (b"command=%2Fonboard&text=help", "text/plain", None, 400),
    "no content type": (b"command=%2Fonboard&text=help", None, None, 400),
    "empty body": (b"", FORM, None, 400),
    "not UTF-8": (b"text=\xff\xfe", FORM, None, 400),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
async def test_a_malformed_request_is_refused_in_one_line(
    slack: Slack, caplog: pytest.LogCaptureFixture, case: str
):
    body, content_type, timestamp, status = MALFORMED[case]
    caplog.set_level(logging.DEBUG)
    secret = "not-the-secret" if case.endswith("unsigned") else SECRET
    assert await post(slack, body, content_type, timestamp, secret) == status
    await asyncio.sleep(0.2)
    assert "Traceback" not in caplog.text
    (line,) = app_lines(caplog)
    assert line.getMessage().startswith("refused a Slack request: ")
    assert f"({len(body):,} bytes)" in line.getMessage() and len(line.getMessage()) < 120
    assert slack.api.calls == [] and enrolled(slack) == 0


async def test_a_flood_of_unsigned_megabytes_leaves_a_few_kilobytes_of_log(
    slack: Slack, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    body = b"text=" + b"A" * (1_048_576 - 5)
    statuses = [await post(slack, body, secret=None if i % 2 else "wrong") for i in range(50)]
    assert statuses == [401] * 50
    logged = "\n".join(r.getMessage() for r in app_lines(caplog))
    assert len(logged) < 10 * 1024, f"{len(logged):,} characters logged"
    assert len(app_lines(caplog)) == 50
    assert "refused a Slack request: bad signature (1,048,576 bytes)" in logged
    assert "refused a Slack request: unsigned (1,048,576 bytes)" in logged
    assert "AAAA" not in caplog.text
    assert slack.api.calls == [] and enrolled(slack) == 0


FORGED = "\n2026-01-01 00:00:00,000 CRITICAL onboarding: forged line"


async def test_nothing_in_a_request_can_forge_a_log_line(
    slack: Slack, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    # Unsigned: the body is not logged at all.
    assert await post(slack, f"text={FORGED}".encode(), secret="wrong") == 401
    # Signed, with request values that reach the log: a retried delivery's trigger id and
    # the channel the bot could not post in; and an interaction Bolt has no listener for.
    slack.api.refuse[("chat.postMessage", "C0\nEVIL")] = "not_in_channel"
    body = slack.command_body("help", trigger=f"1.2.{FORGED}")
    for retry in ("", "1"):
        headers = {"X-Slack-Retry-Num": retry} if retry else {}
        assert (await slack.send(body, FORM, headers=headers)).status == 200
    await slack.api.quiet()
    unknown = {"type": "block_actions", "actions": [{"action_id": FORGED, "value": FORGED}]}
    await slack.interact({**unknown, "team": {"id": "T0"}, "user": {"id": FORGED}})
    await asyncio.sleep(0.2)
    messages = [r.getMessage() for r in app_lines(caplog)]
    assert any("dropped a repeated Slack delivery" in m for m in messages), messages
    assert all("\n" not in m and "\r" not in m for m in messages), messages
    assert not any(line.startswith("2026-01-01") for line in caplog.text.splitlines())
    assert "forged line" in caplog.text  # it is there, escaped, inside one line
