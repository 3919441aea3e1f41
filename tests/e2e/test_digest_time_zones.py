"""`digest daily 08:00` means 08:00 where the person is, when the platform says where that
is: Slack's users.info (`user.tz`, scope users:read), Teams' `clientInfo` entity on the
message. A time zone typed in the command still wins; without either, UTC as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.slack_support import ALICE, TEAM_CHANNEL, TOKEN, Channel, Slack, slack, text_of
from tests.e2e.teams_support import PERSONAL, World, last_card, loopback_only, teams_world

__all__ = ["loopback_only", "slack"]

ALICE_DM = Channel("D0ALICE", "directmessage")


def schedule_of(bot, platform: str, destination: str):
    with bot.service.wiring.store.transaction() as uow:
        return uow.digests.get(platform, destination)


def at_eight_in(sub, zone: str) -> bool:
    """The next digest is due at 08:00 on the wall clock of `zone`."""
    local = sub.next_due_at.astimezone(ZoneInfo(zone))
    return (local.hour, local.minute) == (8, 0)


async def test_slack_takes_the_persons_time_zone_from_users_info(slack: Slack):
    slack.api.time_zones[ALICE.id] = "Europe/Berlin"
    answer = await slack.ask("digest daily 08:00", channel=ALICE_DM)
    shown = text_of(answer["blocks"])
    assert "every day at 08:00 (Europe/Berlin)" in shown
    assert "That is your time zone in Slack; to choose another, add it: digest daily 08:00" in (
        " ".join(shown.split())
    )
    (asked,) = slack.api.of("users.info")
    assert asked["user"] == ALICE.id and asked.headers["Authorization"] == f"Bearer {TOKEN}"
    sub = schedule_of(slack.bot, "slack", ALICE_DM.id)
    assert sub.timezone == "Europe/Berlin" and at_eight_in(sub, "Europe/Berlin")


async def test_slack_a_typed_time_zone_wins_and_other_commands_ask_nothing(slack: Slack):
    slack.api.time_zones[ALICE.id] = "Europe/Berlin"
    await slack.ask("status")
    assert slack.api.of("users.info") == []  # only a digest's schedule needs the zone
    answer = await slack.ask("digest weekly mon 08:00 America/Chicago", channel=TEAM_CHANNEL)
    shown = text_of(answer["blocks"])
    assert "every Monday at 08:00 (America/Chicago)" in shown
    assert "your time zone in Slack" not in shown
    sub = schedule_of(slack.bot, "slack", TEAM_CHANNEL.id)
    assert at_eight_in(sub, "America/Chicago") and sub.next_due_at.weekday() == 0


async def test_slack_without_users_read_the_digest_is_in_utc(slack: Slack):
    slack.api.scopes.discard("users:read")  # an app installed before the scope was added
    answer = await slack.ask("digest daily 08:00", channel=ALICE_DM)
    shown = text_of(answer["blocks"])
    assert "every day at 08:00 (UTC)" in shown and "your time zone" not in shown
    (asked,) = slack.api.of("users.info")
    assert asked.result == {
        "ok": False,
        "error": "missing_scope",
        "needed": "users:read",
        "provided": ",".join(sorted(slack.api.scopes)),
    }


@pytest.fixture
async def world(tmp_path: Path, loopback_only: list[str]) -> AsyncIterator[World]:
    async with teams_world(tmp_path) as w:
        yield w


async def say_from(world: World, zone: str | None, text: str) -> str:
    """A message typed in a Teams client whose clientInfo says `zone` (None: no clientInfo)."""
    activity = world.teams.base(PERSONAL, "message")
    activity["entities"] = [e for e in activity["entities"] if e["type"] != "clientInfo"]
    if zone:
        activity["entities"].append(
            {
                "type": "clientInfo",
                "locale": "de-DE",
                "country": "DE",
                "platform": "Windows",
                "timezone": zone,
            }
        )
    activity["text"], activity["textFormat"] = text, "plain"
    before = len(world.connector.sent)
    response = await world.teams.post(activity)
    assert response.status in (200, 201)
    return last_card(world.connector.sent[before:]).text


async def test_teams_takes_the_time_zone_of_the_client_info_entity(world: World):
    said = " ".join((await say_from(world, "Europe/Berlin", "digest daily 08:00")).split())
    assert "every day at 08:00 (Europe/Berlin)" in said
    assert "That is your time zone in Teams" in said
    destination = next(iter(_digest_destinations(world)))
    assert at_eight_in(schedule_of(world.bot, "teams", destination), "Europe/Berlin")


async def test_teams_a_typed_time_zone_wins_and_none_given_is_utc(world: World):
    said = await say_from(world, "Europe/Berlin", "digest daily 08:00 Asia/Tokyo")
    assert "every day at 08:00 (Asia/Tokyo)" in said and "your time zone" not in said
    said = await say_from(world, None, "digest daily 09:30")
    assert "every day at 09:30 (UTC)" in said
    said = await say_from(world, "Not/AZone", "digest daily 09:30")  # a client's oddity
    assert "every day at 09:30 (UTC)" in said and "Unknown time zone" not in said


def _digest_destinations(world: World) -> list[str]:
    from sqlalchemy import text

    with world.bot.engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT destination FROM digests"))]


def test_the_fake_answers_users_info_as_slack_does():
    """The fake's users.info carries the fields Slack documents, tz_offset as now."""
    from tests.fakes.slack_api import FakeSlack

    fake = FakeSlack(TOKEN)
    fake.time_zones["U0X"] = "Asia/Kolkata"
    user = fake.m_users_info({"user": "U0X"})["user"]
    assert {"id", "team_id", "name", "real_name", "tz", "tz_label", "tz_offset", "profile"} <= set(
        user
    )
    assert user["tz"] == "Asia/Kolkata" and user["tz_offset"] == 19800
    assert user["tz_label"] == datetime.now(ZoneInfo("Asia/Kolkata")).tzname()
    assert fake.m_users_info({"user": "nobody"}) == {"error": "user_not_found"}
