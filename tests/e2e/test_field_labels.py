"""A wrong field is named by the label its form shows ("Current Partner Microsoft ID"),
never by an internal name (`partner_tenant_id`), and several problems read one per line,
at the console, in Slack and in Teams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.console_support import piped
from tests.e2e.slack_support import Slack, slack, text_of
from tests.e2e.teams_support import PERSONAL, World, last_card, loopback_only, teams_world

__all__ = ["loopback_only", "slack"]

TWO_WRONG = 'enroll "Fourth Coffee" it@fourthcoffee fourthcoffee.com Atlantis'
INTERNAL_NAMES = ("partner_tenant_id", "partner_email", "email:", "country:", "Please fix:")


def test_the_console_names_labels_one_problem_a_line(tmp_path):
    script = (
        f"{TWO_WRONG}\n"
        'enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US\n'
        "sandbox accept-reseller abctech.com\n"
        "p2p abctech.com\n"
        "\n"  # Other partner
        "Old Partner Ltd\n"
        "not-a-guid\n"
        "transfers@\n"
        "/cancel\n"
    )
    result = piped(tmp_path, script)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("Error: Please fix these 2 fields:")
    assert lines[start + 1].startswith('• Email Address: "it@fourthcoffee" is not a valid email')
    assert lines[start + 2].startswith("  ")  # a long problem goes on under its own text
    assert lines[start + 3].startswith('• Country: "Atlantis" is not a country we know')
    start = lines.index("Error: Please fix these 2 fields:", start + 1)
    assert lines[start + 1].startswith(
        '• Current Partner Microsoft ID: "not-a-guid" is not a Microsoft ID'
    )
    assert any(line.startswith("• Current Partner Email Address:") for line in lines[start:])
    assert not [name for name in INTERNAL_NAMES if name in result.stdout]


def test_one_problem_is_one_line_with_its_label(tmp_path):
    result = piped(tmp_path, 'enroll "" it@abc.com abc.com US\n')
    assert result.stdout.strip() == "Error: Customer Name is required."


async def test_slack_shows_the_labels_one_problem_a_line(slack: Slack):
    refused = await slack.ask(TWO_WRONG)
    shown = text_of(refused["blocks"])
    assert ":x: Please fix these 2 fields:\n• Email Address: " in shown
    assert '\n• Country: "Atlantis" is not a country we know' in shown
    assert not [name for name in INTERNAL_NAMES if name in shown]


@pytest.fixture
async def world(tmp_path: Path, loopback_only: list[str]) -> AsyncIterator[World]:
    async with teams_world(tmp_path) as w:
        yield w


async def test_teams_shows_the_labels_one_problem_a_line(world: World):
    card = last_card(await world.teams.say(PERSONAL, TWO_WRONG)).card
    assert card is not None
    lines = [block["text"] for block in card["body"]]
    assert lines[0] == "✗ Please fix these 2 fields:"
    assert lines[1].startswith("• Email Address: ")
    assert lines[2].startswith('• Country: "Atlantis" is not a country we know')
    assert all(block["color"] == "attention" for block in card["body"])
    assert not [name for name in INTERNAL_NAMES if name in " ".join(lines)]
