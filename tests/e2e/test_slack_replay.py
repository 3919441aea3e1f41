"""A captured signed Slack request replayed inside its 5-minute window is refused, after a
restart and on a second replica too: the memory of what was taken is in the database. The
check runs while Bolt gets to the ack, so these also show that nothing runs before it says
the request is new: not a command acked first, not a modal submitted, not two at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp.test_utils import TestClient, TestServer

from app import build, make_web_app
from tests.e2e.slack_support import Slack, settle, signature, slack

__all__ = ["slack"]
ENROLL = 'enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US'
FORM = "application/x-www-form-urlencoded"
BOTH = pytest.mark.parametrize(
    "slack", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


async def replay(http: TestClient, body: str, ts: str, sig: str) -> int:
    answer = await http.post(
        "/slack/events",
        data=body.encode(),
        headers={
            "Content-Type": FORM,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sig,
        },
    )
    return answer.status


@asynccontextmanager
async def replica(slack: Slack) -> AsyncIterator[TestClient]:
    """A restart, or a second replica on the same store: its memory of Slack's deliveries
    (retries dropped by event or trigger id) is empty, only the store's remains. Its work
    after an ack is waited for before it stops."""
    other = build(slack.bot.settings)
    http = TestClient(TestServer(make_web_app(other)))
    await http.start_server()
    try:
        yield http
        await settle()
    finally:
        await http.close()
        other.engine.dispose()


@BOTH
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
    async with replica(slack) as http:
        assert await replay(http, body, ts, sig) == 401
    await settle()
    assert slack.bot.service.customers.dashboard().total == 0  # not re-enrolled
    assert len(slack.api.posts_to(reply_to)) == 1  # nor answered again


@BOTH
async def test_the_same_signed_command_to_two_replicas_at_once_runs_once(slack: Slack):
    reply_to = slack.api.response_url()
    body = slack.command_body(ENROLL, response_url=reply_to)
    ts = str(int(time.time()))
    sig = signature(body, ts)
    async with replica(slack) as http:
        statuses = await asyncio.gather(
            replay(slack.http, body, ts, sig), replay(http, body, ts, sig)
        )
        assert sorted(statuses) == [200, 401]
        await slack.api.answer_to(reply_to)
    await settle()
    assert len(slack.api.posts_to(reply_to)) == 1  # one answer: the replay ran nothing
    assert slack.bot.service.customers.dashboard().total == 1


@BOTH
async def test_a_replayed_modal_submission_is_refused_before_it_runs(slack: Slack):
    typed = {
        "name": "ABC Technologies Inc.",
        "email": "john.doe@abctech.com",
        "domain": "abctech.com",
        "country": "US",
    }
    sent = await slack.command("enroll")
    body = slack.submission_body(await slack.modal(), typed)
    ts = str(int(time.time()))
    sig = signature(body, ts)
    assert await replay(slack.http, body, ts, sig) == 200  # the modal closes
    await slack.api.answer_to(sent.response_url)
    await slack.ask("cancel abctech.com --yes")

    async with replica(slack) as http:
        assert await replay(http, body, ts, sig) == 401
    await settle()
    assert len(slack.api.posts_to(sent.response_url)) == 1
    assert slack.bot.service.customers.dashboard().total == 0  # not re-enrolled
