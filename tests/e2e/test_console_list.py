"""The customer list at the console: sized to the terminal it is on (a long name cut with
"…", never silently; the domain shown; the statuses and Enrolled whole), every value whole
in a pipe, a bulk import's customers in the order of their file, and a page past the last
said as such, at the console, in Slack and in Teams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.console_support import has_pty, on_terminal, piped
from tests.e2e.slack_support import Slack, button_labels, slack, text_of
from tests.e2e.teams_support import (
    PERSONAL,
    World,
    card_text,
    find_actions,
    last_card,
    loopback_only,
    teams_world,
)

__all__ = ["loopback_only", "slack"]

LONG_NAME = "Contoso Pharmaceuticals International Holdings"
LONG_DOMAIN = "contoso-pharmaceuticals-international.onmicrosoft.com"
ENROLL = (
    f'enroll "{LONG_NAME}" it@{LONG_DOMAIN} {LONG_DOMAIN} US\n'
    'enroll "Fourth Coffee" it@fourthcoffee.com fourthcoffee.com US\n'
)
needs_pty = pytest.mark.skipif(not has_pty(), reason="no pseudo-terminal on this machine")


def listing(screen: str) -> list[str]:
    """The lines of the last list on the screen, from its header to its footer."""
    lines = screen.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("Customer "))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("1–"))
    return lines[start : end + 1]


def status_on_terminal(tmp_path: Path, columns: int) -> list[str]:
    with on_terminal(tmp_path, "console", columns=columns) as terminal:
        terminal.expect("onboard> ")
        terminal.type("status")
        terminal.expect("1–2 of 2")
        terminal.type("quit")
        terminal.wait_for_exit()
        return listing(terminal.screen)


@needs_pty
def test_an_80_column_terminal_cuts_the_name_visibly_and_keeps_the_rest_whole(tmp_path):
    assert piped(tmp_path, ENROLL).returncode == 0
    lines = status_on_terminal(tmp_path, 80)
    assert all(len(line) <= 80 for line in lines), lines
    header, *rows = lines
    assert header.split() == ["Customer", "Reseller", "GDAP", "MSP", "Hub", "P2P", "Enrolled"]
    contoso = next(line for line in rows if line.startswith("Contoso"))
    name = contoso[: header.index("Reseller")].rstrip()
    assert name.endswith("…") and LONG_NAME.startswith(name[:-1])
    assert max(len(line) for line in rows) == 80  # the name takes the room the terminal has
    assert contoso.split()[-1] in ("now", "ago")  # Enrolled is whole
    assert "In Progress Not started Not started Not started" in contoso
    # the domain leads the row's second line (cut visibly there too), the command whole
    detail = rows[rows.index(contoso) + 1]
    assert detail.startswith("  contoso-pharmaceuticals-international.") and "…" in detail
    assert any(line.strip().startswith("cancel onboarding: cancel ") for line in rows)
    assert "  fourthcoffee.com · Active · id " in "\n".join(rows)


@needs_pty
def test_a_wide_terminal_has_a_domain_column_and_nothing_cut(tmp_path):
    assert piped(tmp_path, ENROLL).returncode == 0
    lines = status_on_terminal(tmp_path, 170)
    header, *rows = lines
    assert header.split()[:2] == ["Customer", "Domain"]
    contoso = next(line for line in rows if line.startswith("Contoso"))
    assert contoso.startswith(LONG_NAME) and LONG_DOMAIN in contoso and "…" not in contoso


@needs_pty
def test_a_phone_sized_terminal_stacks_each_row(tmp_path):
    assert piped(tmp_path, ENROLL).returncode == 0
    with on_terminal(tmp_path, "console", columns=50) as terminal:
        terminal.expect("onboard> ")
        terminal.type("status")
        terminal.expect("1–2 of 2")
        terminal.type("quit")
        terminal.wait_for_exit()
    lines = terminal.screen.splitlines()
    shown = lines[lines.index("onboard> status") + 1 : lines.index("1–2 of 2") + 1]
    assert all(len(line) <= 50 for line in shown), shown
    first = next(i for i, line in enumerate(shown) if line.startswith("Contoso"))
    assert shown[first].startswith("Contoso Pharmaceuticals Internati") and "…  " in shown[first]
    assert shown[first + 1 : first + 3] == [
        "  Reseller In Progress · GDAP Not started",
        "  MSP Hub Not started · P2P Not started",
    ]


def test_a_pipe_gets_every_value_whole(tmp_path):
    result = piped(tmp_path, ENROLL + "status\n")
    assert result.returncode == 0, result.stderr
    rows = listing(result.stdout)
    contoso = next(line for line in rows if line.startswith("Contoso"))
    assert f"{LONG_NAME} {LONG_DOMAIN} In Progress" in " ".join(contoso.split())
    assert "…" not in "\n".join(rows)


def test_a_bulk_imports_customers_are_listed_in_the_order_of_the_file(tmp_path):
    names = ["Zeta Ltd", "Alpha Inc", "Mu GmbH", "Beta SA", "Omega plc", "Kappa BV"]
    csv = "Customer Name,Email Address,Domain Name,Country Code\n" + "".join(
        f"{n},it@{n.split()[0].lower()}.com,{n.split()[0].lower()}.com,US\n" for n in names
    )
    (tmp_path / "customers.csv").write_text(csv)
    result = piped(tmp_path, "bulk customers.csv\nyes\nstatus\n")
    assert result.returncode == 0, result.stderr
    listed = [
        line
        for line in listing(result.stdout)
        if line.split()[0] in {"Zeta", *(n.split()[0] for n in names)}
    ]
    assert [line.split()[0] + " " + line.split()[1] for line in listed] == names


def test_a_page_past_the_last_says_so_and_how_to_go_back(tmp_path):
    script = ENROLL + 'enroll "Third" it@third.com third.com US\nstatus page 101\nstatus page 2\n'
    result = piped(tmp_path, script, PAGE_SIZE="2")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Page 101 of 2: the list ends at page 2 (3 customers) · last page: status page 2" in out
    assert "No customers in onboarding yet" not in out
    assert "3–3 of 3 · page 2 of 2 · previous: status page 1" in out


async def test_slack_says_a_page_past_the_last_with_a_way_back(slack: Slack):
    await slack.ask('enroll "Fourth Coffee" it@fourthcoffee.com fourthcoffee.com US')
    page = await slack.ask("status page 101")
    shown = text_of(page["blocks"])
    assert "Page 101 of 1: the list ends at page 1 (1 customer)" in shown
    assert "No customers in onboarding yet" not in shown
    assert "Last page" in button_labels(page["blocks"])
    back = (await slack.api.answer_to((await slack.click(page, "Last page")).response_url)).args
    assert "Fourth Coffee" in text_of(back["blocks"])


@pytest.fixture
async def world(tmp_path: Path, loopback_only: list[str]) -> AsyncIterator[World]:
    async with teams_world(tmp_path) as w:
        yield w


async def test_teams_says_a_page_past_the_last_with_a_way_back(world: World):
    await world.teams.say(
        PERSONAL, 'enroll "Fourth Coffee" it@fourthcoffee.com fourthcoffee.com US'
    )
    card = last_card(await world.teams.say(PERSONAL, "status page 101")).card
    assert card is not None
    shown = " ".join(card_text(card))
    assert "Page 101 of 1: the list ends at page 1 (1 customer)" in shown
    assert "No customers in onboarding yet" not in shown
    (back,) = [a for a in find_actions(card) if a.get("title") == "Last page"]
    assert back["data"]["onboard"]["line"] == "status page 1"
