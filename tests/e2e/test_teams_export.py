"""`export` and the bulk review's customer list in Teams: a card with a download link the bot
serves (GET /exports/ID), opened over loopback as a browser would; a link that was changed
answers 403, one past its 10 minutes 410."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
import pytest

from adapters.clock import FixedClock
from tests.dbs import PostgresUnavailable, database_url
from tests.e2e.teams_support import (
    PERSONAL,
    World,
    button,
    find_actions,
    last_card,
    loopback_only,
    teams_world,
)

__all__ = ["loopback_only"]  # the fixture, used by name
T0 = datetime(2026, 12, 1, 12, 5, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock, loopback_only: list[str]
) -> AsyncIterator[World]:
    try:
        with database_url(request.param, tmp_path) as url:
            async with teams_world(tmp_path, clock=clock, database_url=url) as w:
                yield w
    except PostgresUnavailable as err:
        pytest.fail(str(err), pytrace=False)
    assert not loopback_only, f"tried to reach {loopback_only}"


def download_link(card: dict) -> tuple[str, str]:
    (action,) = [a for a in find_actions(card) if a["type"] == "Action.OpenUrl"]
    return action["title"], action["url"]


async def get(url: str) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as answer:
        return answer.status, dict(answer.headers), await answer.read()


def rows_of(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def changed(url: str, **query: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode({**dict(parse_qsl(parts.query)), **query})))


async def test_export_is_a_link_that_downloads_the_csv_then_expires(world: World, clock):
    w = world
    clock.advance(minutes=-1)
    await w.teams.say(PERSONAL, "enroll \"@SUM(1+1)*cmd|' /C calc'!A0\" it@calc.com calc.com US")
    clock.advance(minutes=1)
    await w.teams.say(PERSONAL, 'enroll "Fourth Coffee" it@fourthcoffee.com fourthcoffee.com US')
    answer = last_card(await w.teams.say(PERSONAL, "export active"))
    assert "Active customers: 2 as of 01 Dec 2026 12:05 UTC" in answer.text
    assert "The link works for 10 minutes, until 12:15 UTC" in answer.text
    title, url = download_link(answer.card)
    assert title == "Download onboardings-active-2026-12-01.csv"
    assert url.startswith(f"{w.teams.bot_url}/exports/")

    status, headers, data = await get(url)
    assert status == 200
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="onboardings-active-2026-12-01.csv"' in headers["Content-Disposition"]
    assert headers["Cache-Control"] == "no-store"
    rows = rows_of(data)
    assert [r["Domain Name"] for r in rows] == ["fourthcoffee.com", "calc.com"]
    assert rows[1]["Customer Name"] == "'@SUM(1+1)*cmd|' /C calc'!A0"  # text, never a formula
    assert rows[0]["Enrolled By"] == "Alice Admin (teams)"

    # a link changed in any way is refused, and says so
    query = dict(parse_qsl(urlsplit(url).query))
    later = str(int(query["expires"]) + 3600)
    flipped = query["signature"][:-1] + ("0" if query["signature"][-1] != "0" else "1")
    for tampered in (
        changed(url, expires=later),
        changed(url, signature=flipped),
        url.replace("/exports/", "/exports/x"),
        url.split("?")[0],
    ):
        status, _, body = await get(tampered)
        assert status == 403, tampered
        assert body.decode().startswith("This download link is not valid: it was changed")

    clock.advance(minutes=9, seconds=59)
    assert (await get(url))[0] == 200
    clock.advance(seconds=1)
    status, headers, body = await get(url)
    assert status == 410
    assert body.decode() == (
        "This download link expired at 12:15 UTC on 01 Dec 2026: links work for 10 minutes. "
        "Ask the bot for the file again (for example: export) and use the new link.\n"
    )


async def test_a_link_follows_its_owners_access(world: World):
    w = world
    await w.teams.say(PERSONAL, 'enroll "Fourth Coffee" it@fourthcoffee.com fourthcoffee.com US')
    _, url = download_link(last_card(await w.teams.say(PERSONAL, "export")).card)
    w.bot.service.access.organisations["teams"] = frozenset({"another-tenant"})
    status, _, body = await get(url)
    assert status == 403 and "serves another organisation" in body.decode()


async def test_a_long_review_links_the_whole_list_of_customers(world: World):
    w = world
    lines = ["Customer Name,Email Address,Domain Name,Country Code"]
    lines += [f"Customer {i:02d},ops@cust{i:02d}.com,cust{i:02d}.com,de" for i in range(30)]
    form = last_card(await w.teams.say(PERSONAL, "bulk"))
    review = last_card(
        await w.teams.click(
            PERSONAL, form.activity_id, button(form.card, "Review"), {"csv": "\n".join(lines)}
        )
    )
    assert "Row 2: **Customer 00** · ops@cust00.com · cust00.com · DE" in review.text
    assert "Customer 25" not in review.text  # the card shows the first 25
    assert "… and 5 more rows: the review CSV has them all." in review.text
    title, url = download_link(review.card)
    assert title == "Download all 30 (pasted-review.csv)"
    assert "Enroll 30" in [a.get("title") for a in find_actions(review.card)]
    status, headers, data = await get(url)
    assert status == 200 and 'filename="pasted-review.csv"' in headers["Content-Disposition"]
    listed = rows_of(data)
    assert len(listed) == 30 and listed[29]["Customer Name"] == "Customer 29"
    assert listed[0] == {
        "Row": "2",
        "Customer Name": "Customer 00",
        "Email Address": "ops@cust00.com",
        "Domain Name": "cust00.com",
        "Country Code": "DE",
    }
