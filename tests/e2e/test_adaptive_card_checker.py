"""The Adaptive Card check itself: Microsoft's parser (through `adaptive_cards.py`) passes a
good card and reports each kind of broken card, so a card test can fail for the right reason."""

from __future__ import annotations

import copy

import pytest

from tests.e2e.adaptive_cards import CheckerUnavailable, adaptive_card_problems, installed
from tests.e2e.teams_support import assert_valid_card

GOOD = {
    "type": "AdaptiveCard",
    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
    "version": "1.5",
    "body": [
        {"type": "TextBlock", "text": "Enroll a customer", "wrap": True, "style": "heading"},
        {
            "type": "Input.Text",
            "id": "name",
            "label": "Company name",
            "isRequired": True,
            "errorMessage": "Enter the company name.",
        },
        {
            "type": "Input.ChoiceSet",
            "id": "country",
            "label": "Country",
            "value": "US",
            "choices": [{"title": "United States", "value": "US"}],
        },
        {"type": "FactSet", "facts": [{"title": "Status", "value": "Active"}]},
    ],
    "actions": [
        {"type": "Action.Submit", "title": "Enroll", "data": {"line": "enroll"}},
        {"type": "Action.Submit", "title": "Not now", "associatedInputs": "none"},
    ],
}


def broken(change) -> dict:
    card = copy.deepcopy(GOOD)
    change(card)
    return card


BROKEN = {
    "an input without id": (
        broken(lambda c: c["body"][2].pop("id")),
        "PropertyCantBeNull",
    ),
    "two inputs with one id": (
        broken(lambda c: c["body"][2].update(id="name")),
        "DuplicateId",
    ),
    "an unknown element type": (
        broken(lambda c: c["body"].append({"type": "TextBlok", "text": "typo"})),
        "UnknownElementType",
    ),
    "an unknown action type": (
        broken(lambda c: c["actions"].append({"type": "Action.Sumbit", "title": "typo"})),
        "UnknownActionType",
    ),
    "an invalid property value": (
        broken(lambda c: c["body"][0].update(color="purple")),
        "InvalidPropertyValue",
    ),
    "a required input without label": (
        broken(lambda c: c["body"][1].pop("label")),
        "RequiredInputsShouldHaveLabel",
    ),
    "more actions than Teams shows": (
        broken(
            lambda c: c.update(
                actions=[{"type": "Action.Submit", "title": f"Button {i}"} for i in range(7)]
            )
        ),
        "TooManyActions",
    ),
    "an unsupported version": (
        broken(lambda c: c.update(version="9.0")),
        "UnsupportedCardVersion",
    ),
    "no card type": (
        broken(lambda c: c.update(type="Card")),
        "MissingCardType",
    ),
}


@pytest.fixture(scope="module", autouse=True)
def parser() -> None:
    try:
        installed()
    except CheckerUnavailable as missing:
        pytest.skip(f"Adaptive Card checker not tested: {missing}")


def test_a_good_card_has_no_problems():
    assert adaptive_card_problems([GOOD]) == [[]]


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_card_is_reported_with_the_parsers_reason(name):
    card, reason = BROKEN[name]
    (problems,) = adaptive_card_problems([card])
    assert problems, f"the checker accepted a card with {name}"
    assert any(reason in p for p in problems), problems


def test_a_batch_answers_each_card_in_order():
    bad = BROKEN["an unknown element type"][0]
    results = adaptive_card_problems([GOOD, bad, GOOD, bad])
    assert [bool(r) for r in results] == [False, True, False, True]
    assert adaptive_card_problems([]) == []


def test_something_not_a_card_object_is_reported():
    assert adaptive_card_problems([["not", "a", "card"]]) == [["not a JSON object"]]


def test_the_card_assertion_fails_on_what_only_the_parser_sees():
    """Duplicate input ids pass Microsoft's JSON Schema; the parser's check catches them."""
    assert_valid_card(GOOD)
    with pytest.raises(AssertionError, match="DuplicateId"):
        assert_valid_card(BROKEN["two inputs with one id"][0])
