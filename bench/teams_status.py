"""Teams `status` turn, median, with a store of 10,000 onboardings
(`teams_status_median_vs_echo_bot`): an activity POSTed to `/api/messages` until the HTTP
response, against a bare botbuilder echo bot on the same adapter (`make_adapter`, the SDK's
`CloudAdapter` with the bot's `TeamsAuthentication`) answering with the text it got.

Both run without Bot Framework credentials (the SDK's anonymous path, local clients only),
are served the same way (an aiohttp `AppRunner` on loopback) and send their replies to the
same loopback connector (`tests/e2e/teams_support.py`), whose replies both wait for before
they answer the POST. The connector counts the TCP connections the replies arrive on, and
the script prints how many each side's turns opened: the SDK made a new connector client
(and connection) per turn; the adapter now keeps its clients (`auth.ReusedClients`), for
both sides alike, so after the warm-up turns neither opens any. On PostgreSQL the store is
ANALYZEd after it is filled, as autovacuum would have done by then.

Run: .venv/bin/python -m bench.teams_status [--quick] [--database sqlite|postgresql]
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from botbuilder.core import ActivityHandler, MessageFactory, TurnContext
from botbuilder.schema import Activity

from adapters.teams.auth import (
    Credentials,
    OpenIdKeys,
    TeamsAuthentication,
    TokenValidator,
    make_adapter,
)
from app import build, make_web_app
from bench.common import (
    Figure,
    arguments,
    database,
    median_turn,
    populate,
    quiet_logs,
    record,
    served,
)
from settings import Settings
from tests.e2e.teams_support import PERSONAL, TENANT, FakeConnector, TeamsClient, TeamsUser


class EchoBot(ActivityHandler):
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(MessageFactory.text(turn_context.activity.text or ""))


def echo_app() -> web.Application:
    """The baseline: the same adapter, an echo bot, the route the bot's front end mounts."""
    credentials = Credentials()
    auth = TeamsAuthentication(credentials, TokenValidator(credentials.app_id, OpenIdKeys()))
    adapter = make_adapter(auth)
    bot = EchoBot()

    async def messages(request: web.Request) -> web.Response:
        activity = Activity().deserialize(await request.json())
        await adapter.process_activity("", activity, bot.on_turn)
        return web.Response(status=201)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    return app


class CountingConnector(FakeConnector):
    """The loopback connector, counting the connections replies arrive on."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: set[Any] = set()

    def app(self) -> web.Application:
        app = super().app()

        @web.middleware
        async def count(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            if request.transport is not None:
                self.peers.add(request.transport.get_extra_info("peername"))
            return await handler(request)

        app.middlewares.append(count)
        return app


async def turn(client: TeamsClient, text: str) -> float:
    """Seconds from the POST of a message activity to the HTTP response."""
    before = len(client.connector.sent)
    activity = client.base(PERSONAL, "message")
    activity.update(text=text, textFormat="plain")
    started = time.perf_counter()
    response = await client.post(activity)
    took = time.perf_counter() - started
    if response.status not in (200, 201):
        raise SystemExit(f"{client.bot_url} answered {response.status}")
    if len(client.connector.sent) == before:
        raise SystemExit(f"{client.bot_url} answered {text!r} with nothing")
    return took


async def measure(url: str, count: int, turns: int, per_turn: int, warm: int) -> dict[str, Any]:
    connector = CountingConnector()
    connector_runner, connector.url = await served(connector.app())
    settings = Settings(
        _env_file=None,
        database_url=url,
        microsoft_app_id="",
        bot_admins=f"teams:{TENANT}:{TeamsUser().aad_object_id}",
        partner_name="Fabrikam Cloud",
    )
    bot = build(settings)
    populate(bot.service, count)
    if url.startswith("postgresql"):  # as autovacuum would have by now (and bench.dashboard)
        with bot.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE onboardings")
    bot_runner, bot_url = await served(make_web_app(bot))
    echo_runner, echo_url = await served(echo_app())
    ours: list[float] = []
    echo: list[float] = []
    connections = {"bot": 0, "echo": 0}
    try:
        async with aiohttp.ClientSession() as http:
            bot_client = TeamsClient(bot_url, connector, http)
            echo_client = TeamsClient(echo_url, connector, http)
            for _ in range(warm):
                await turn(echo_client, "status")
                await turn(bot_client, "status")
            for _ in range(turns):
                before = len(connector.peers)
                bare = [await turn(echo_client, "status") for _ in range(per_turn)]
                connections["echo"] += len(connector.peers) - before
                before = len(connector.peers)
                mine = [await turn(bot_client, "status") for _ in range(per_turn)]
                connections["bot"] += len(connector.peers) - before
                echo.append(statistics.median(bare))
                ours.append(statistics.median(mine))
                connector.sent.clear()
    finally:
        await bot_runner.cleanup()
        await echo_runner.cleanup()
        await connector_runner.cleanup()
        bot.engine.dispose()
    return {"ours": ours, "echo": echo, "connections": connections}


def main() -> None:
    args = arguments(__doc__ or "")
    quiet_logs()
    count, turns, per_turn, warm = (1_000, 3, 20, 5) if args.quick else (10_000, 7, 60, 10)
    figures = []
    for dialect in args.databases:
        with database(dialect) as url:
            measured = asyncio.run(measure(url, count, turns, per_turn, warm))
        value, baseline = median_turn(measured["ours"], measured["echo"])
        figures.append(
            Figure("teams_status_median_vs_echo_bot", value, baseline, 1.3, "s", dialect)
        )
        made = measured["connections"]
        print(
            f"{dialect}: {turns} turns of {per_turn} activities each, store of {count:,}; "
            f"connections at the connector for {turns * per_turn} turns: bot {made['bot']}, "
            f"echo bot {made['echo']}"
        )
    record(figures)


if __name__ == "__main__":
    main()
