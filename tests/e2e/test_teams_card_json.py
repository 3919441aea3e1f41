"""Cards reach Teams exactly as the SDK sent them from a plain dict. An activity holds its card
as `card_json.CardJson`, which msrest sends as it is and the SDK's deep copy shares, instead
of copying the dict node by node; the same turn, with the bot's cards put back as the plain
dicts the SDK used to get, must reach the loopback connector as the same JSON, key for key
and in the same order: new messages and cards updated in place, for the dashboard, a
customer card, a form, a confirmation, help and a refusal."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core import Middleware, TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity

from adapters.clock import FixedClock
from adapters.teams.auth import Credentials, bot_config
from adapters.teams.card_json import CardJson
from tests.dbs import PostgresUnavailable, database_url
from tests.e2e.teams_support import (
    PERSONAL,
    Sent,
    World,
    button,
    last_card,
    loopback_only,
    teams_world,
)

__all__ = ["loopback_only"]  # the fixture, used by name

T0 = datetime(2026, 12, 1, 12, 5, tzinfo=UTC)
CUSTOMERS = [  # names whose text the card escapes, quotes and non-ASCII among them
    ("ABC Technologies Inc.", "abctech.com"),
    ("Émile & Søn *Consulting*", "emileson.fr"),
    ("Quote 'Co' 😀 [link](https://x.example)", "quoteco.de"),
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path, loopback_only: list[str]
) -> AsyncIterator[World]:
    try:
        with database_url(request.param, tmp_path) as url:
            async with teams_world(tmp_path, clock=FixedClock(T0), database_url=url) as w:
                yield w
    except PostgresUnavailable as err:
        pytest.fail(str(err), pytrace=False)
    assert not loopback_only, f"tried to reach {loopback_only}"


class PlainCards(Middleware):
    """Puts each card the bot sends or updates back as the plain dict it is, once the SDK
    has copied the activity, before it writes it: what the SDK got before `CardJson`."""

    def __init__(self) -> None:
        self.cards = 0  # put back as dicts

    async def on_turn(self, context: TurnContext, logic: Callable[[], Awaitable[None]]) -> None:
        def plain(activities: list[Activity]) -> None:
            for activity in activities:
                for attachment in activity.attachments or []:
                    if isinstance(attachment.content, CardJson):
                        attachment.content = attachment.content.card
                        assert type(attachment.content) is dict
                        self.cards += 1

        async def sending(_: TurnContext, activities: list[Activity], send: Any) -> Any:
            plain(activities)
            return await send()

        async def updating(_: TurnContext, activity: Activity, update: Any) -> Any:
            plain([activity])
            return await update()

        context.on_send_activities(sending)
        context.on_update_activity(updating)
        await logic()


def plain_cards_adapter(plain: PlainCards) -> CloudAdapter:
    """The SDK's own adapter, configured as the bot's (no credentials), sending plain cards."""
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(bot_config(Credentials())))
    adapter.use(plain)
    return adapter


async def both_ways(w: World, activity: dict[str, Any]) -> tuple[Sent, Sent]:
    """The same activity run by the bot (POSTed to its endpoint) and by the same bot sending
    plain cards (`PlainCards`); what each sent to the connector."""
    before = len(w.connector.sent)
    response = await w.teams.post(activity)
    assert response.status in (200, 201), response.status
    (ours,) = w.connector.sent[before:]
    assert w.bot.teams is not None
    plain = PlainCards()
    await plain_cards_adapter(plain).process_activity(
        "", Activity().deserialize(json.loads(json.dumps(activity))), w.bot.teams.bot.on_turn
    )
    (sdks,) = w.connector.sent[before + 1 :]
    assert plain.cards == 1  # the bot's own card, compared with itself as a plain dict
    return ours, sdks


async def enroll_customers(w: World) -> None:
    for name, domain in CUSTOMERS:
        await w.teams.say(PERSONAL, f'enroll "{name}" it@{domain} {domain} US')
    assert w.customers() == len(CUSTOMERS)


def assert_same_json(ours: Sent, sdks: Sent) -> None:
    assert (ours.kind, ours.conversation, ours.activity_id[:4]) == (
        sdks.kind,
        sdks.conversation,
        sdks.activity_id[:4],
    )
    assert ours.card is not None
    # the whole activity as written, so a key out of order or a value changed shows
    assert json.dumps(ours.body, ensure_ascii=False) == json.dumps(sdks.body, ensure_ascii=False)


async def test_replies_carry_the_same_json_as_plain_cards(world: World):
    w = world
    await enroll_customers(w)
    lines = [
        "status",
        "status active",
        "show abctech.com",
        "show emileson.fr",
        "search co",
        "enroll",
        "cancel abctech.com",
        "help",
        "show nobody.com",
    ]
    for line in lines:
        activity = w.teams.base(PERSONAL, "message")
        activity.update(text=line, textFormat="plain")
        ours, sdks = await both_ways(w, activity)
        assert_same_json(ours, sdks)
        if line == "status":  # the dashboard with its rows, not a short notice
            assert ours.card is not None
            rows = [b for b in ours.card["body"] if b.get("type") == "Container"]
            assert len(rows) == len(CUSTOMERS)


async def test_a_card_updated_in_place_carries_the_same_json_as_a_plain_card(
    world: World,
):
    w = world
    await enroll_customers(w)
    listing = last_card(await w.teams.say(PERSONAL, "status"))
    assert listing.card is not None
    activity = w.teams.base(PERSONAL, "message")
    activity["replyToId"] = listing.activity_id
    activity["value"] = button(listing.card, "Active")
    activity["channelData"]["source"] = {"name": "message"}
    activity["channelData"]["legacy"] = {"replyToId": listing.activity_id}
    ours, sdks = await both_ways(w, activity)
    assert ours.kind == "update" and ours.activity_id == listing.activity_id
    assert_same_json(ours, sdks)
