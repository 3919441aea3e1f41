"""View models to Block Kit stay within Slack's limits whatever the data, and user text stays
text: the renderer and the forms (modals), no I/O."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from adapters.slack.escape import ZWSP, escape, mrkdwn
from adapters.slack.forms import ModalMeta, country_options, form_view
from adapters.slack.render import MAX_BLOCKS, home_view, render
from bot.domain import Onboarding
from bot.forms import enroll_form, gdap_form, hub_form, p2p_form
from bot.presenters import customer_card, customer_row
from bot.records import KnownPartner
from bot.views import (
    Action,
    ActionRole,
    BulkResult,
    BulkReview,
    CommandHelp,
    Confirmation,
    Counts,
    HelpView,
    ListPage,
    Notice,
    ReviewRow,
    RowProblem,
    Tone,
)

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
LONG = "Very Long Customer Name " * 12


def onboarding(i: int = 1, name: str = "ABC Technologies Inc.") -> Onboarding:
    return Onboarding(
        id=f"ob{i:010d}",
        name=name,
        email=f"it@c{i}.com",
        domain=f"c{i}.com",
        country="US",
        enrolled_at=NOW,
        enrolled_by="alice (slack)",
        reseller_started_at=NOW,
    )


def assert_within_limits(payload: dict) -> None:
    assert payload["text"].strip()
    assert len(payload["blocks"]) <= MAX_BLOCKS
    for block in payload["blocks"]:
        text = (block.get("text") or {}).get("text", "")
        assert len(text) <= (150 if block["type"] == "header" else 3000)
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= 75 and len(element["value"]) <= 2000
    ids = [b["block_id"] for b in payload["blocks"] if "block_id" in b]
    assert len(ids) == len(set(ids))


def test_escape_follows_slacks_rules_and_defuses_formatting():
    assert escape("a & <b> <!channel>") == "a &amp; &lt;b&gt; &lt;!channel&gt;"
    assert mrkdwn("*bold* _it_ `code`") == (
        f"*{ZWSP}bold*{ZWSP} _{ZWSP}it_{ZWSP} `{ZWSP}code`{ZWSP}"
    )


@pytest.mark.parametrize("size", [1, 10, 50])
def test_a_list_page_of_any_size_fits_50_blocks(size: int):
    rows = tuple(customer_row(onboarding(i, LONG), NOW) for i in range(size))
    page = ListPage(
        Counts(size, 0, 0), rows, 0, size, 500, actions=(Action("Next", "status page 2"),)
    )
    message = render(page, "status")
    assert len(message.blocks) <= MAX_BLOCKS
    assert_within_limits(message.payload())


def test_a_card_with_a_long_name_and_every_kind_of_message_fits():
    ob = onboarding(1, LONG)
    card = customer_card(ob, [], NOW, headline="Enrolled " + LONG)
    problems = tuple(
        RowProblem(i, "Email Address", "not an email address " * 3) for i in range(2, 10_002)
    )
    valid = tuple(ReviewRow(i, LONG, f"it@c{i}.com", f"c{i}.com", "US") for i in range(2, 5000))
    replies = [
        card,
        Notice("x" * 5000, Tone.FAILURE, (Action("Retry", "help"),)),
        HelpView(tuple(CommandHelp(f"cmd{i}", "does " * 50) for i in range(40))),
        Confirmation("Sure? " + LONG, "cancel x --yes", "Cancel onboarding"),
        BulkReview(
            "imp1",
            "customers.csv",
            15_000,
            valid,
            problems,
            Confirmation(
                "Enroll?", "bulk confirm imp1", "Enroll 4998", "bulk discard imp1", danger=False
            ),
        ),
        BulkResult("imp1", tuple((r.row, r.name, r.domain) for r in valid), problems),
    ]
    for reply in replies:
        message = render(reply)
        assert len(message.blocks) <= MAX_BLOCKS  # by design, not by the last-resort cut
        assert_within_limits(message.payload())


def test_home_lists_a_failed_customer_twice_with_unique_block_ids():
    row = customer_row(onboarding(), NOW)
    page = ListPage(Counts(0, 1, 0), (row,), 0, 10, 1)
    view = home_view(page, page).to_dict()
    ids = [b["block_id"] for b in view["blocks"] if "block_id" in b]
    assert len(ids) == len(set(ids))


def test_every_form_is_a_valid_modal():
    ob = onboarding()
    partner = KnownPartner("0f0e0d0c-0b0a-4000-8000-000000000042", "Old Partner", "b@o.com")
    for form in (enroll_form(), gdap_form(ob), hub_form(ob, None), p2p_form(ob, [partner])):
        meta = ModalMeta(
            form.kind,
            f"{form.kind} {ob.id}",
            dict(form.context),
            "C1",
            "https://hooks.slack.com/commands/T1/1/" + "x" * 60,
        )
        view = form_view(form, meta).to_dict()  # slack_sdk validates lengths here
        assert len(view["title"]["text"]) <= 24 and len(view["blocks"]) <= 100
        assert len(view["private_metadata"]) <= 3000
        assert ModalMeta.load(view["private_metadata"]) == meta
        for block in view["blocks"]:
            element = block.get("element", {})
            assert len(element.get("options", [])) <= 100
            assert len(json.dumps(element)) < 50_000


def test_country_search_ranks_the_exact_code_first_and_caps_at_100():
    assert country_options("de")[0]["value"] == "DE"
    assert [o["value"] for o in country_options("united k")] == ["GB"]
    assert len(country_options("")) == 100
    assert country_options("zzzz") == []


def test_a_row_that_only_fits_one_button_gets_its_open_action_by_role_not_label():
    row = customer_row(onboarding(), NOW)
    renamed = replace(
        row,
        actions=tuple(
            replace(a, label="Open card") if a.role is ActionRole.OPEN else a for a in row.actions
        ),
    )
    page = ListPage(Counts(30, 0, 0), (renamed,) * 30, 0, 30, 30)  # 2 blocks a row don't fit
    blocks = render(page).payload()["blocks"]
    beside = [b["accessory"] for b in blocks if b["type"] == "section" and "accessory" in b]
    assert len(beside) == 30
    assert {(a["text"]["text"], a["value"]) for a in beside} == {("Open card", f"show {row.id}")}
    home = home_view(page, page).to_dict()
    assert {b["accessory"]["text"]["text"] for b in home["blocks"] if b.get("accessory")} == {
        "Open card"
    }


@pytest.mark.parametrize(
    ("tone", "mark"),
    [(Tone.SUCCESS, ":white_check_mark: "), (Tone.FAILURE, ":x: "), (Tone.INFO, "")],
)
def test_a_cards_headline_is_marked_by_its_tone(tone: Tone, mark: str):
    card = customer_card(onboarding(), [], NOW, headline="Something happened.", tone=tone)
    first = render(card).payload()["blocks"][0]["text"]["text"]
    assert first == mark + "Something happened."


def test_mrkdwn_leaves_emoji_codes_web_and_email_addresses_whole():
    assert mrkdwn(":hourglass_flowing_sand: a_b") == f":hourglass_flowing_sand: a_{ZWSP}b"
    assert mrkdwn("see https://x.example/a_b?c=d&e") == "see https://x.example/a_b?c=d&amp;e"
    assert mrkdwn("to john_doe@abc.com.") == ("to <mailto:john_doe@abc.com|john_doe@abc.com>.")
    assert mrkdwn("<!here> & co") == "&lt;!here&gt; &amp; co"


def test_a_search_page_says_how_many_match_instead_of_the_dashboard_counts():
    rows = tuple(customer_row(onboarding(i), NOW) for i in range(3))
    found = render(ListPage(None, rows, 0, 10, 3, search="abc <tech>"))
    head = found.blocks[0].to_dict()["text"]["text"]
    assert head == '*3 customers match "abc &lt;tech&gt;"*'
    assert "*Active*" not in json.dumps(found.payload())  # the dashboard's counts
    assert found.text.startswith('3 customers match "abc &lt;tech&gt;"')
    one = render(ListPage(None, rows[:1], 0, 10, 1, search="abc"))
    assert one.blocks[0].to_dict()["text"]["text"] == '*1 customer matches "abc"*'
    empty = render(ListPage(None, (), 0, 10, 0, search="nowhere"))
    assert [b.to_dict()["text"]["text"] for b in empty.blocks] == ['*No customers match "nowhere"*']
