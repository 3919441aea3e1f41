"""The fake Slack's payload check (tests/fakes/slack_api.py) refuses what Slack refuses: it is
what every Slack test relies on to catch a message or modal Slack would not show."""

from __future__ import annotations

import pytest

from tests.fakes.slack_api import message_problems, view_problems


def button(text: str = "Go", value: str = "x") -> dict:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": "run:0",
        "value": value,
    }


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def modal(**extra) -> dict:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Bulk enrollment"},
        "blocks": [section("hello")],
        **extra,
    }


def test_a_good_message_and_modal_pass():
    actions = {"type": "actions", "block_id": "card:x:0", "elements": [button()]}
    assert message_problems({"text": "hi", "blocks": [section("hi"), actions]}) == []
    assert view_problems(modal(private_metadata="{}")) == []


@pytest.mark.parametrize(
    ("blocks", "found"),
    [
        ([section("x" * 3001)], "3000"),
        ([section("hi")] * 51, "51 blocks"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}], "150"),
        ([{"type": "actions", "elements": [button("x" * 76)]}], "limit is 75"),
        ([{"type": "actions", "elements": [button(value="x" * 2001)]}], "2000"),
        ([{"type": "actions", "elements": [button()] * 26}], "26 items"),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}], "11 items"),
        ([section("")], "empty"),
        ([{"type": "no-such-block"}], "not a block"),
    ],
)
def test_what_slack_refuses_in_a_message(blocks: list, found: str):
    problems = message_problems({"text": "t", "blocks": blocks})
    assert any(found in p for p in problems), problems


def test_what_slack_refuses_in_a_modal():
    assert any("3000" in p for p in view_problems(modal(private_metadata="x" * 3001)))
    assert any("100" in p for p in view_problems(modal(blocks=[section("x")] * 101)))
    title = {"type": "plain_text", "text": "x" * 25}
    assert any("24" in p for p in view_problems(modal(title=title)))
