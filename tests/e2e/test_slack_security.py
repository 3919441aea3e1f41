"""Only Slack gets in, once: a bad signature or an old timestamp is 401 and changes nothing; a
delivery Slack retries, or the same request twice, changes nothing twice; user text cannot
mention @channel or inject links; the token goes to Slack's file host only."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.slack import files
from bot.csvio import MAX_BYTES
from bot.errors import ProviderError, ValidationError
from tests.e2e.slack_support import (
    SECRET,
    TOKEN,
    Slack,
    signature,
    slack,
    text_of,
)
from tests.e2e.test_serve import env_for, free_port
from tests.fakes.slack_api import FakeSlack

__all__ = ["slack"]
ROOT = Path(__file__).resolve().parents[2]
ENROLL = 'enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US'


def enrolled(slack: Slack) -> int:
    return slack.bot.service.customers.dashboard().total


async def test_a_bad_signature_is_401_and_changes_nothing(slack: Slack):
    sent = await slack.command(ENROLL, secret="not-the-signing-secret")
    assert sent.status == 401
    await asyncio.sleep(0.3)
    assert slack.api.calls == [] and enrolled(slack) == 0


async def test_an_old_timestamp_is_401_even_when_signed(slack: Slack):
    sent = await slack.command(ENROLL, timestamp=int(time.time()) - 6 * 60)
    assert sent.status == 401
    body = slack.command_body(ENROLL)
    ts = str(int(time.time()))
    tampered = await slack.http.post(
        "/slack/events",
        data=body.replace("abctech", "evil"),
        headers={
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature(body, ts),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert tampered.status == 401
    unsigned = await slack.http.post("/slack/events", data=body)
    assert unsigned.status == 401
    await asyncio.sleep(0.3)
    assert slack.api.calls == [] and enrolled(slack) == 0


async def test_the_event_url_handshake_is_answered_when_signed(slack: Slack):
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    body = json.dumps({"token": "legacy", "challenge": challenge, "type": "url_verification"})
    answer = await slack.send(body, "application/json")
    assert answer.status == 200 and challenge in answer.body
    assert (await slack.send(body, "application/json", secret="wrong")).status == 401


async def test_a_retried_delivery_changes_nothing_twice(slack: Slack):
    body = slack.command_body(ENROLL)
    first = await slack.send(body, "application/x-www-form-urlencoded")
    again = await slack.send(
        body,
        "application/x-www-form-urlencoded",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert first.status == again.status == 200
    await slack.api.wait_for("response_url")
    await slack.api.quiet()
    assert len(slack.api.of("response_url")) == 1 and enrolled(slack) == 1

    # The same person sending it again (a new request) is refused by the store, not enrolled.
    answer = await slack.ask(ENROLL)
    assert "abctech.com is already in onboarding" in text_of(answer["blocks"])
    assert enrolled(slack) == 1

    # An event Slack retries is handled once.
    await slack.open_home(event_id="Ev0RETRIED")
    await slack.open_home(event_id="Ev0RETRIED", headers={"X-Slack-Retry-Num": "1"})
    await slack.api.wait_for("views.publish")
    await slack.api.quiet()
    assert len(slack.api.of("views.publish")) == 1


async def test_user_text_cannot_mention_or_link(slack: Slack):
    name = "<!channel> *Evil* <https://evil.example|click> Corp"
    await slack.ask(f'enroll "{name}" it@evilcorp.com evilcorp.com US')
    card = (await slack.api.wait_for("response_url"))[0].args
    read_as_mrkdwn = "\n".join(_mrkdwn_parts(card["blocks"]))
    assert "<!channel>" not in read_as_mrkdwn and "<https://" not in read_as_mrkdwn
    assert "&lt;!channel&gt;" in read_as_mrkdwn
    assert "*Evil*" not in read_as_mrkdwn  # cannot open bold
    assert "<!channel>" not in card["text"] and "&lt;!channel&gt;" in card["text"]
    # plain_text (the card's header) is never parsed for mentions, links or formatting
    assert f"{name} (evilcorp.com) — Active" in text_of(card["blocks"])


def _mrkdwn_parts(node) -> list[dict]:
    """Every mrkdwn text object; each must be verbatim (no auto-linked names or domains)."""
    found = []
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            assert node.get("verbatim") is True, node
            return [node["text"]]
        for value in node.values():
            found += _mrkdwn_parts(value)
    elif isinstance(node, list):
        for value in node:
            found += _mrkdwn_parts(value)
    return found


async def test_the_token_goes_to_slacks_file_host_only():
    """The download policy of `adapters/slack/files.py`: Slack's file hosts only, HTTPS only,
    no redirect followed, at most `bot.csvio.MAX_BYTES`."""
    api = await FakeSlack(TOKEN).start()
    try:
        from slack_sdk.web.async_client import AsyncWebClient

        client = AsyncWebClient(token=TOKEN, base_url=api.api_url)
        hosts = files.file_hosts(api.api_url)
        uploaded = api.add_file("customers.csv", b"Customer Name\n")
        assert await files.download(client, uploaded["id"], hosts) == (
            b"Customer Name\n",
            "customers.csv",
        )
        assert api.of("download")[0].headers["Authorization"] == f"Bearer {TOKEN}"
        with pytest.raises(ProviderError):  # the real hosts only: loopback is not among them
            await files.download(client, uploaded["id"], files.file_hosts(files.DEFAULT_API_URL))
        assert len(api.of("download")) == 1
        assert files.file_hosts(files.DEFAULT_API_URL) == {"files.slack.com"}

        plain = api.add_file("c.csv", b"x", url="http://files.slack.com/files-pri/{id}/c.csv")
        with pytest.raises(ProviderError, match="not on Slack's file host"):  # HTTPS only
            await files.download(client, plain["id"], hosts | {"files.slack.com"})

        moved = api.add_file("c.csv", b"x", url=api.base + "/files-moved/{id}/c.csv")
        with pytest.raises(ProviderError, match="answered 302"):
            await files.download(client, moved["id"], hosts)
        assert len(api.of("moved")) == 1 and len(api.of("download")) == 1  # not followed

        big = api.add_file("big.csv", b"x" * (MAX_BYTES + 1))
        with pytest.raises(ValidationError, match="over 5 MB"):
            await files.download(client, big["id"], hosts)
        assert len(api.of("download")) == 1  # refused by its size, not downloaded
    finally:
        await api.stop()


async def test_the_real_process_serves_slack_events(tmp_path: Path):
    """`python app.py` with SLACK_* set: signed requests in, answers out to Slack's API."""
    api = await FakeSlack(TOKEN).start()
    port = free_port()
    env = env_for(
        tmp_path,
        PORT=str(port),
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=api.api_url,
        # no SLACK_TEAM_IDS: the workspace served is the token's own, from auth.test
        BOT_ADMINS="slack:T0PARTNER:U0ALICE",
    )
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        import aiohttp

        url = f"http://127.0.0.1:{port}/slack/events"
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.post(url, data="x") as unsigned:
                        assert unsigned.status == 401
                        break
                except aiohttp.ClientConnectionError:
                    assert server.poll() is None, server.communicate()[1]
                    assert time.monotonic() < deadline, "the server did not start in 30 s"
                    await asyncio.sleep(0.2)
            fake = Slack(None, api, None)  # type: ignore[arg-type]
            reply_to = api.response_url()
            body = fake.command_body(ENROLL, response_url=reply_to)
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
                assert answer.status == 200
        card = await api.answer_to(reply_to)
        assert "ABC Technologies Inc. (abctech.com) — Active" in text_of(card["blocks"])
        assert api.of("auth.test")  # Bolt checked the token against our Slack
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=10)
        await api.stop()
    assert TOKEN not in stderr and SECRET not in stderr
    assert os.environ.get("SLACK_BOT_TOKEN") != TOKEN


def test_slack_is_on_only_when_configured_and_socket_mode_opens_no_url(tmp_path: Path):
    from app import build, make_web_app
    from settings import Settings

    def routes(**slack_settings: str) -> tuple[object, set[str]]:
        bot = build(
            Settings(
                _env_file=None, database_url=f"sqlite:///{tmp_path / 'b.db'}", **slack_settings
            )
        )
        paths = {r.resource.canonical for r in make_web_app(bot).router.routes()}
        bot.engine.dispose()
        return bot, paths

    bot, paths = routes(slack_bot_token=TOKEN)  # a token alone: no way in, Slack stays off
    assert bot.slack is None and "/slack/events" not in paths
    bot, paths = routes(slack_bot_token=TOKEN, slack_app_token="xapp-1-test")
    assert bot.slack is not None and bot.slack.notifier in bot.service.notifiers
    assert "/slack/events" not in paths  # Socket Mode alone: nothing unsigned can come in
    bot, paths = routes(slack_bot_token=TOKEN, slack_signing_secret=SECRET)
    assert "/slack/events" in paths and "/healthz" in paths
    assert TOKEN not in repr(bot.settings) and SECRET not in repr(bot.settings)
