"""Adaptive Card 1.5 building blocks (the version Teams renders on desktop and mobile), the
colours and marks of a `Tone`, and the data every button carries back.

Every button is an `Action.Submit` whose data sits under `DATA_KEY`: the command line it
runs, or the form it submits, in the one grammar; `requests.SubmitData` reads it back.
"""

from __future__ import annotations

import json
from typing import Any

from bot.views import Action, Tone

VERSION = "1.5"
DATA_KEY = "onboard"  # our part of an Action.Submit's data; the card's inputs sit beside it
DATA_VERSION = 1  # cards with another version are from an older bot: answered, never guessed
MAX_BYTES = 28 * 1024  # Teams refuses messages over about 28 KB

# Adaptive Card text colours by tone: Good, Warning, Attention.
COLOR = {
    Tone.INFO: "default",
    Tone.SUCCESS: "good",
    Tone.ATTENTION: "warning",
    Tone.FAILURE: "attention",
}
MARK = {Tone.INFO: "", Tone.SUCCESS: "✓ ", Tone.ATTENTION: "⚠ ", Tone.FAILURE: "✗ "}


def card(body: list[dict], actions: list[dict] | None = None, summary: str = "") -> dict:
    result: dict[str, Any] = {"type": "AdaptiveCard", "version": VERSION, "body": body}
    if actions:
        result["actions"] = actions
    if summary:
        result["fallbackText"] = summary
    return result


def text(
    value: str,
    *,
    size: str | None = None,
    weight: str | None = None,
    color: str | None = None,
    subtle: bool = False,
    spacing: str | None = None,
    mono: bool = False,
) -> dict:
    block: dict[str, Any] = {"type": "TextBlock", "text": value, "wrap": True}
    for key, v in (("size", size), ("weight", weight), ("color", color), ("spacing", spacing)):
        if v and v != "default":
            block[key] = v
    if subtle:
        block["isSubtle"] = True
    if mono:
        block["fontType"] = "Monospace"
    return block


def toned(value: str, tone: Tone, **kwargs: Any) -> dict:
    """A line in the colour of its tone, marked for readers who do not see colour."""
    return text(MARK[tone] + value, color=COLOR[tone], **kwargs)


def heading(value: str) -> dict:
    return text(value, size="Medium", weight="Bolder")


def facts(pairs: list[tuple[str, str]]) -> dict:
    return {"type": "FactSet", "facts": [{"title": t, "value": v or "–"} for t, v in pairs]}


def submit(
    label: str, data: dict[str, Any], style: str | None = None, validate: bool = False
) -> dict:
    action: dict[str, Any] = {
        "type": "Action.Submit",
        "title": label,
        "data": {DATA_KEY: {"v": DATA_VERSION, **data}},
    }
    if style in ("primary", "positive"):
        action["style"] = "positive"
    elif style in ("danger", "destructive"):
        action["style"] = "destructive"
    if not validate:
        action["associatedInputs"] = "none"
    return action


def run(action: Action, card_kind: str) -> dict:
    """The button of a view's `Action`; `card_kind` says what the clicked card showed."""
    return submit(action.label, {"card": card_kind, "line": action.line}, action.style)


def action_set(actions: list[dict]) -> dict:
    return {"type": "ActionSet", "actions": actions}


def size_of(card_json: dict) -> int:
    return len(json.dumps(card_json, ensure_ascii=False).encode("utf-8"))
