"""The hostile-input corpus through every way text gets in (single enrollment, a bulk CSV, a
GDAP relationship name, a P2P partner name) and out (Slack, Teams, the console): each platform
shows what was typed and acts on none of it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.domain import Actor
from bot.errors import ValidationError
from bot.gdap_roles import RECOMMENDED_ROLE_IDS
from tests.e2e.slack_support import Slack, slack
from tests.e2e.teams_support import (
    PERSONAL,
    card_text,
    last_card,
    loopback_only,
    teams_world,
    unescaped,
)

__all__ = ["loopback_only", "slack"]
ROOT = Path(__file__).resolve().parents[2]
ADMIN = Actor("console:ops", "ops", "console")

# One hostile name per way in, each enrolled under its own domain.
CORPUS = [
    "<!channel> & <!here>",
    "<@U123> Ltd",
    "<http://evil.example|Click me>",
    "*bold* _it_ ~gone~ `code`",
    "[Verify account](https://evil.example/login)",
    "**URGENT** Corp",
    "{{DATE(2026-01-01T00:00:00Z, SHORT)}} Ltd",
]
PARTNER = "[Old partner](https://evil.example) <!channel> **pay**"


def seed(service: Any) -> list[str]:
    """The corpus enrolled from a bulk CSV, and a P2P request to a hostile partner name."""
    lines = ["Customer Name,Email Address,Domain Name,Country Code"]
    domains = [f"hostile{i}.com" for i in range(len(CORPUS))]
    for name, domain in zip(CORPUS, domains, strict=True):
        quoted = '"' + name.replace('"', '""') + '"'
        lines.append(f"{quoted},it@{domain},{domain},US")
    review = service.bulk.review("\r\n".join(lines).encode(), "hostile.csv", ADMIN)
    assert len(service.bulk.confirm(review.import_id, ADMIN).enrolled) == len(CORPUS)
    service.sandbox.play("accept-reseller", domains[0])
    service.transfers.initiate(
        domains[0],
        {
            "partner": "other",
            "partner_name": PARTNER,
            "partner_tenant_id": "0e9b0b5f-0000-4a5d-9c1d-1234567890ab",
            "partner_email": "transfers@oldpartner.com",
        },
        ADMIN,
    )
    return domains


def test_a_gdap_relationship_name_cannot_carry_markup(tmp_path: Path):
    from app import build
    from settings import Settings

    bot = build(Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'b.db'}"))
    try:
        domains = seed(bot.service)
        for name in CORPUS:
            with pytest.raises(ValidationError) as refused:
                bot.service.gdap.request(
                    domains[0],
                    {"name": name, "duration": "30", "roles": list(RECOMMENDED_ROLE_IDS)},
                    ADMIN,
                )
            assert "letters A-Z, digits, spaces" in refused.value.field_errors["name"]
    finally:
        bot.engine.dispose()


def slack_texts(blocks: Any) -> list[str]:
    """Every mrkdwn text Slack would format, from a message's blocks."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(str(node.get("text", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


SLACK_LIVE = [
    re.compile(r"<!(channel|here)"),  # a ping
    re.compile(r"<@U"),  # a mention
    re.compile(r"<https?://evil"),  # a link
    re.compile(r"(?<![\w\u200b])\*bold\*(?!\u200b)"),  # formatting that would apply
]


async def test_slack_shows_the_corpus_as_typed_and_acts_on_none_of_it(slack: Slack):
    domains = seed(slack.bot.service)
    for line in ("status", f"show {domains[0]}", f"log {domains[0]}", "search Ltd"):
        texts = slack_texts((await slack.ask(line))["blocks"])
        joined = "\n".join(texts)
        for live in SLACK_LIVE:
            assert not live.search(joined), (line, live.pattern, joined[:300])
    card = "\n".join(slack_texts((await slack.ask(f"show {domains[0]}"))["blocks"]))
    assert "&lt;!channel&gt;" in card  # shown as typed, not as a ping
    assert "&lt;!channel&gt; *\u200b*\u200bpay*\u200b*\u200b" in card  # the partner name too


TEAMS_LIVE = [
    re.compile(r"(?<!\\)\]\("),  # a link
    re.compile(r"(?<!\\)\{(?<!\\)\{"),  # {{DATE()}}
    re.compile(r"(?<!\\)\*\*URGENT"),  # bold
]


async def test_teams_shows_the_corpus_as_typed_and_acts_on_none_of_it(
    tmp_path: Path, loopback_only: list[str]
):
    async with teams_world(tmp_path, page_size=50) as world:
        domains = seed(world.bot.service)
        for line in ("status", f"show {domains[0]}", f"log {domains[0]}"):
            card = last_card(await world.teams.say(PERSONAL, line)).card
            for text in card_text(card, raw=True):
                for live in TEAMS_LIVE:
                    assert not live.search(text), (line, live.pattern, text)
        shown = last_card(await world.teams.say(PERSONAL, f"show {domains[0]}")).card
        assert any(PARTNER in unescaped(t) for t in card_text(shown, raw=True))
    assert loopback_only == []


def test_the_console_prints_the_corpus_as_typed(tmp_path: Path):
    from app import build
    from settings import Settings

    db = tmp_path / "bot.db"
    bot = build(Settings(_env_file=None, database_url=f"sqlite:///{db}"))
    try:
        domains = seed(bot.service)
    finally:
        bot.engine.dispose()
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "console"],
        input=f"status\nshow {domains[0]}\nlog {domains[0]}\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"DATABASE_URL": f"sqlite:///{db}", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    printed = " ".join(result.stdout.split())  # the console wraps at 80 columns
    assert " ".join(PARTNER.split()) in printed
    assert "<!channel> & <!here>" in printed
    assert "\x1b" not in result.stdout
