"""Every kind of answer as a Teams card, at its largest: valid against Microsoft's Adaptive
Card schema and within Teams' 28 KB, and a submitted form read back as the service takes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from adapters.teams.forms import form_values, render_form
from adapters.teams.package import MENU, bot_commands, color_icon, manifest, outline_icon
from adapters.teams.render import render
from adapters.teams.requests import SubmitData
from bot.commands import COMMANDS
from bot.domain import Onboarding
from bot.forms import enroll_form, gdap_form, hub_form, p2p_form
from bot.gdap_roles import RECOMMENDED_ROLE_IDS
from bot.records import KnownPartner
from bot.views import (
    Action,
    ActionRole,
    ActivityLog,
    BulkResult,
    BulkReview,
    CommandHelp,
    Confirmation,
    Counts,
    CustomerCard,
    CustomerRow,
    EventView,
    HelpView,
    ListPage,
    MailView,
    Notice,
    OutboxView,
    ReviewRow,
    RowProblem,
    StepView,
    Tone,
)
from settings import Settings
from tests.e2e.teams_support import assert_valid_card

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LONG = "x" * 240


def onboarding() -> Onboarding:
    return Onboarding(
        id="0123456789ab",
        name="ABC Technologies Inc.",
        email="it@abc.example",
        domain="abc.example",
        country="US",
        enrolled_at=NOW,
        enrolled_by="alice (teams)",
        reseller_started_at=NOW,
    )


def row(i: int) -> CustomerRow:
    return CustomerRow(
        f"{i:012d}",
        f"Customer with a long enough name {i}",
        f"c{i}.example.com",
        "In Progress",
        "Not started",
        "Not started",
        "Not started",
        "Active",
        NOW,
        "3 days ago",
        (
            Action("Show", f"show {i:012d}", role=ActionRole.OPEN),
            Action("Finish", f"finish {i:012d}", "primary", role=ActionRole.FINISH),
            Action("Cancel onboarding", f"cancel {i:012d}", "danger", role=ActionRole.CANCEL),
        ),
    )


def event(i: int) -> EventView:
    return EventView(NOW, "2 hours ago", "Alice Admin (teams)", f"Event {i}: {LONG}")


LARGEST = {
    "help": HelpView(tuple(CommandHelp(c.usage, c.summary) for c in COMMANDS), "intro"),
    "page of 50": ListPage(
        Counts(5000, 12, 40),
        tuple(row(i) for i in range(50)),
        0,
        50,
        5052,
        actions=(
            Action("Next", "status page 2", role=ActionRole.NEXT),
            Action("All", "status", role=ActionRole.FILTER),
        ),
    ),
    "search page of 50": ListPage(
        None,
        tuple(row(i) for i in range(50)),
        0,
        50,
        5052,
        search="Customer " + LONG[:80],
        actions=(Action("Next", "search Customer page 2", role=ActionRole.NEXT),),
    ),
    "card": CustomerCard(
        row(1),
        "it@c1.example.com",
        "US",
        tuple(
            StepView(t, "In Progress", LONG)
            for t in ("Reseller Relationship", "GDAP Access", "MSP Hub Access", "P2P Transfer")
        ),
        LONG,
        LONG,
        tuple(event(i) for i in range(5)),
        row(1).actions * 2,
        "Done.",
    ),
    "review of 10,000": BulkReview(
        "imp",
        "customers.csv",
        10000,
        tuple(
            ReviewRow(i, f"Customer {i} {LONG[:40]}", f"it@c{i}.com", f"c{i}.example.com", "US")
            for i in range(5000)
        ),
        tuple(RowProblem(i, "Email Address", LONG) for i in range(5000)),
        Confirmation("Enroll 5000?", "bulk confirm imp", "Enroll 5000", "bulk discard imp"),
    ),
    "result of 10,000": BulkResult(
        "imp",
        tuple((i, f"C {i}", f"c{i}.com") for i in range(9000)),
        tuple(RowProblem(i, "Row", LONG) for i in range(1000)),
    ),
    "log of 2,000": ActivityLog("ABC", "abc.example", tuple(event(i) for i in range(2000))),
    "outbox of 500": OutboxView(
        None,
        tuple(
            MailView(NOW, "now", "it@abc.example", LONG, "https://example.com/" + "a" * 200)
            for i in range(500)
        ),
    ),
    "notice": Notice(LONG, Tone.FAILURE, (Action("Help", "help"),)),
    "enroll form": enroll_form(),
    "gdap form": gdap_form(onboarding()),
    "hub form": hub_form(onboarding(), None),
    "p2p form": p2p_form(
        onboarding(),
        [
            KnownPartner(
                f"3f2504e0-4f89-41d3-9a0c-0305e82c33{i:02d}", f"Partner {i}", f"p{i}@example.com"
            )
            for i in range(30)
        ],
    ),
}


@pytest.mark.parametrize("name", list(LARGEST))
def test_largest_answers_are_valid_cards_within_teams_limit(name):
    assert_valid_card(render(LARGEST[name]))


def test_form_with_every_field_wrong_keeps_input_and_shows_errors():
    form = enroll_form()
    values = {"name": LONG, "email": "bad", "domain": "bad", "country": "ZZ"}
    errors = {f: LONG for f in values}
    card = render_form(form, values, errors)
    assert_valid_card(card)
    inputs = {e["id"]: e for e in card["body"] if "id" in e}
    assert inputs["email"]["value"] == "bad" and inputs["email"]["errorMessage"] == LONG
    assert sum(1 for e in card["body"] if e.get("color") == "attention") == 5


def test_gdap_roles_recommended_preselected_and_more_behind_a_toggle():
    card = render_form(gdap_form(onboarding()))
    roles = next(e for e in card["body"] if e.get("id") == "roles")
    assert roles["value"].split(",") == list(RECOMMENDED_ROLE_IDS)
    more = next(e for e in card["body"] if e.get("id") == "roles__1__box")
    assert more["isVisible"] is False and more["items"][0]["value"] == ""
    data = SubmitData.read(card["actions"][0]["data"])
    values = form_values(
        data, {"roles": roles["value"], "roles__1": "a,b", "name": " N ", "duration": 400}
    )
    assert values["roles"] == [*RECOMMENDED_ROLE_IDS, "a", "b"]
    assert values["name"] == "N" and values["duration"] == "400"


def test_p2p_choice_fills_the_fields_the_user_left_alone():
    partners = [
        KnownPartner("tid-1", "One", "one@example.com"),
        KnownPartner("tid-2", "Two", "two@example.com"),
    ]
    card = render_form(p2p_form(onboarding(), partners))
    data = SubmitData.read(card["actions"][0]["data"])
    shown = {
        "partner_name": "One",
        "partner_tenant_id": "tid-1",
        "partner_email": "one@example.com",
    }
    picked_two = form_values(data, {"partner": "tid-2", **shown})
    assert picked_two["partner_name"] == "Two" and picked_two["partner_email"] == "two@example.com"
    edited = form_values(data, {"partner": "tid-2", **shown, "partner_email": "x@y.com"})
    assert edited["partner_email"] == "x@y.com" and edited["partner_name"] == "Two"
    other = form_values(data, {"partner": "other", **shown})
    assert other["partner_name"] == ""


def test_package_manifest_declares_commands_files_and_icons():
    settings = Settings(
        _env_file=None,
        microsoft_app_id="11111111-2222-3333-4444-555555555555",
        microsoft_app_password="x",
    )
    data = manifest(settings)
    bot = data["bots"][0]
    assert bot["botId"] == settings.microsoft_app_id and bot["supportsFiles"] is True
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    commands = bot["commandLists"][0]["commands"]
    assert [c["title"] for c in commands] == list(MENU) and len(commands) <= 10
    assert all(len(c["description"]) <= 128 and len(c["title"]) <= 32 for c in commands)
    assert set(MENU) <= {c.name for c in COMMANDS}
    assert commands == bot_commands()
    assert data["id"] == manifest(settings)["id"]  # stable across builds
    assert color_icon()[:8] == b"\x89PNG\r\n\x1a\n"
    assert color_icon()[16:24] == (192).to_bytes(4, "big") * 2
    assert outline_icon()[16:24] == (32).to_bytes(4, "big") * 2


def test_a_search_card_says_how_many_match_not_the_dashboard_counts():
    found = ListPage(None, (row(1),), 0, 10, 1, search="c1.example")
    card = render(found)
    assert card["body"][1]["text"] == '1 customer matches "c1.example"'
    assert '"ExtraLarge"' not in json.dumps(card)  # the dashboard's three big counts
    none = json.dumps(render(ListPage(None, (), 0, 10, 0, search="nowhere")))
    assert 'No customers match \\"nowhere\\"' in none
