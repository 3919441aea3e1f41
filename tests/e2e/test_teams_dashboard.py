"""The Teams dashboard as a partner engineer uses it: each row's one visible button opens the
customer, and what cannot be undone (cancel) is only on the customer's card, asked first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

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


@pytest.fixture
async def world(tmp_path: Path, loopback_only: list[str]) -> AsyncIterator[World]:
    async with teams_world(tmp_path) as w:
        yield w
    assert not loopback_only, f"tried to reach {loopback_only}"


async def test_a_row_opens_the_customer_and_cancel_lives_on_the_card_behind_a_question(
    world: World,
):
    w = world
    for name, domain in (("ABC Technologies Inc.", "abctech.com"), ("Fourth Coffee", "4c.com")):
        await w.teams.say(PERSONAL, f'enroll "{name}" it@{domain} {domain} US')
    listing = last_card(await w.teams.say(PERSONAL, "status"))
    assert listing.card is not None
    rows = [b for b in listing.card["body"] if b.get("type") == "Container"]
    assert len(rows) == 2
    for row in rows:
        buttons = find_actions({"body": row["items"]})
        # the one visible button is the primary one and opens the customer, as a tap does
        assert [(b["title"], b.get("style")) for b in buttons] == [("Show", "positive")]
        assert buttons[0]["data"]["onboard"]["line"].startswith("show ")
        assert row["selectAction"]["data"] == buttons[0]["data"]
    titles = [a.get("title") for a in find_actions(listing.card)]
    assert "Cancel onboarding" not in titles and "Finish" not in titles

    abc_row = next(r for r in rows if "ABC Technologies" in r["items"][0]["text"])
    opened = last_card(
        await w.teams.click(PERSONAL, listing.activity_id, find_actions(abc_row)[0]["data"])
    )
    assert opened.kind == "reply"  # a new message: the list stays readable
    assert "ABC Technologies Inc. (abctech.com)" in opened.text
    cancel = next(a for a in find_actions(opened.card) if a["title"] == "Cancel onboarding")
    assert cancel.get("style") == "destructive"
    asked = last_card(await w.teams.click(PERSONAL, opened.activity_id, cancel["data"]))
    assert "Cancel the onboarding of ABC Technologies Inc." in asked.text
    assert w.customers() == 2  # asked, not done
    await w.teams.click(PERSONAL, opened.activity_id, button(asked.card, "Cancel onboarding"))
    assert w.customers() == 1
