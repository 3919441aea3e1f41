"""A captured signed Slack request replayed inside its 5-minute window is refused, after a
restart and on a second replica too: the memory of what was taken is in the database."""

from __future__ import annotations

import time

from aiohttp.test_utils import TestClient, TestServer

from app import build, make_web_app
from tests.e2e.slack_support import Slack, signature, slack

__all__ = ["slack"]
ENROLL = 'enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US'


async def replay(http: TestClient, body: str, ts: str, sig: str) -> int:
    answer = await http.post(
        "/slack/events",
        data=body.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sig,
        },
    )
    return answer.status


async def test_a_replayed_request_is_refused_here_after_a_restart_and_on_another_replica(
    slack: Slack,
):
    reply_to = slack.api.response_url()
    body = slack.command_body(ENROLL, response_url=reply_to)
    ts = str(int(time.time()))
    sig = signature(body, ts)
    assert await replay(slack.http, body, ts, sig) == 200  # Slack's own delivery
    await slack.api.answer_to(reply_to)
    await slack.ask("cancel abctech.com --yes")
    assert slack.bot.service.customers.dashboard().total == 0

    assert await replay(slack.http, body, ts, sig) == 401  # the same process
    restarted = build(slack.bot.settings)  # a restart, or a second replica on the same store
    http = TestClient(TestServer(make_web_app(restarted)))
    await http.start_server()
    try:
        assert await replay(http, body, ts, sig) == 401
    finally:
        await http.close()
        restarted.engine.dispose()
    assert slack.bot.service.customers.dashboard().total == 0  # not re-enrolled
