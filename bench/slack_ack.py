"""Slack `/onboard status` ack time, median and p99, with a store of 10,000 onboardings
(`slack_ack_median_vs_bare_bolt`, `slack_ack_p99_vs_bare_bolt`), against a bare Bolt app
that acks a fixed text on the same adapter (aiohttp, `to_bolt_request`, `async_dispatch`).

Both apps are served the same way (an aiohttp `AppRunner` on a loopback port) and get real
signed slash commands over HTTP from one keep-alive client; Bolt verifies each signature. A
turn is a run of commands to the bare app, then the same to the bot; after each of the bot's
acks the bench waits (untimed) for its answer to reach the response_url of the loopback
Slack Web API (`tests/fakes/slack_api.py`), so one command's work after its ack does not
bleed into the next one's ack.

Run: .venv/bin/python -m bench.slack_ack [--quick] [--database sqlite|postgresql]
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from app import build, make_web_app
from bench.common import (
    Figure,
    arguments,
    database,
    median_turn,
    percentile,
    populate,
    quiet_logs,
    record,
    served,
)
from tests.e2e.slack_support import ALICE, SECRET, TOKEN, Slack, signature, slack_settings
from tests.fakes.slack_api import FakeSlack

FIXED = "Got it."


def bare_bolt(api_url: str) -> web.Application:
    """The baseline: Bolt with the same signing secret and Web API, `/onboard` acked with a
    fixed text, mounted as the bot mounts its Bolt app."""
    bolt = AsyncApp(
        client=AsyncWebClient(token=TOKEN, base_url=api_url),
        signing_secret=SECRET,
        name="bare-bolt",
    )

    @bolt.command("/onboard")
    async def _ack(ack: Any) -> None:
        await ack(FIXED)

    async def handle(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", handle)
    return app


async def ack_time(
    http: aiohttp.ClientSession, url: str, slack: Slack, api: FakeSlack, *, answered: bool
) -> float:
    """One signed `/onboard status`: seconds until the HTTP answer (the ack)."""
    response_url = api.response_url()
    body = slack.command_body("status", ALICE, response_url=response_url)
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature(body, ts),
    }
    started = time.perf_counter()
    async with http.post(url, data=body.encode(), headers=headers) as answer:
        await answer.read()
        took = time.perf_counter() - started
        if answer.status != 200:
            raise SystemExit(f"{url} answered {answer.status}: {await answer.text()}")
    if answered:
        await api.answer_to(response_url, timeout=30)
    return took


async def measure(
    url: str, count: int, turns: int, per_turn: int, warm: int
) -> tuple[list[float], ...]:
    api = await FakeSlack(TOKEN).start()
    settings = slack_settings(url, api.api_url)
    bot = build(settings)
    populate(bot.service, count)
    bot_runner, bot_url = await served(make_web_app(bot), "/slack/events")
    bare_runner, bare_url = await served(bare_bolt(api.api_url), "/slack/events")
    slack = Slack(None, api, bot)  # type: ignore[arg-type]  # only its request bodies
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(warm):
                await ack_time(http, bare_url, slack, api, answered=False)
                await ack_time(http, bot_url, slack, api, answered=True)
            medians: tuple[list[float], list[float]] = ([], [])  # (bot, bare) per turn
            p99s: tuple[list[float], list[float]] = ([], [])
            for _ in range(turns):
                bare = [
                    await ack_time(http, bare_url, slack, api, answered=False)
                    for _ in range(per_turn)
                ]
                ours = [
                    await ack_time(http, bot_url, slack, api, answered=True)
                    for _ in range(per_turn)
                ]
                medians[0].append(statistics.median(ours))
                medians[1].append(statistics.median(bare))
                p99s[0].append(percentile(ours, 99))
                p99s[1].append(percentile(bare, 99))
                api.calls.clear()
    finally:
        await bot_runner.cleanup()
        await bare_runner.cleanup()
        await api.stop()
        bot.engine.dispose()
    return medians[0], medians[1], p99s[0], p99s[1]


def main() -> None:
    args = arguments(__doc__ or "")
    quiet_logs()
    count, turns, per_turn, warm = (1_000, 3, 20, 5) if args.quick else (10_000, 7, 100, 20)
    figures = []
    for dialect in args.databases:
        with database(dialect) as url:
            ours, bare, ours_p99, bare_p99 = asyncio.run(measure(url, count, turns, per_turn, warm))
        value, baseline = median_turn(ours, bare)
        figures.append(Figure("slack_ack_median_vs_bare_bolt", value, baseline, 1.3, "s", dialect))
        value, baseline = median_turn(ours_p99, bare_p99)
        figures.append(Figure("slack_ack_p99_vs_bare_bolt", value, baseline, 1.3, "s", dialect))
        print(f"{dialect}: {turns} turns of {per_turn} commands each, store of {count:,}")
    record(figures)


if __name__ == "__main__":
    main()
