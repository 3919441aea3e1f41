"""Adaptive Card 1.5 building blocks (the version Teams renders on desktop and mobile), the
colours and marks of a `Tone`, the data every button carries back, Teams' markdown escaping
and its message size.

Every button is an `Action.Submit` whose data sits under `DATA_KEY`: the command line it
runs, or the form it submits, in the one grammar; `requests.SubmitData` reads it back.

Teams renders markdown in TextBlocks and facts: links, bold, lists, headings and the
`{{DATE(...)}}` functions. Text reaches a card as plain text (`text`, `facts` escape it with
`md`, the one escaping function); a renderer that wants formatting writes the markdown itself
around `md(...)` of each value and passes `markdown=True`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

from bot.views import Action, Tone

VERSION = "1.5"
DATA_KEY = "onboard"  # our part of an Action.Submit's data; the card's inputs sit beside it
DATA_VERSION = 1  # cards with another version are from an older bot: answered, never guessed
MAX_BYTES = 28 * 1024  # a card's JSON in UTF-8: Teams refuses chat messages over about 28 KB
# Microsoft's bot message size limit: the whole activity (card, summary, ids, names), counted
# as UTF-16. Teams answers a bigger one with 413 MessageSizeTooBig. (Newer documentation
# says 100 KB; the 40 KB it said before holds for both.)
MAX_MESSAGE_BYTES = 40 * 1024
MAX_ACTIONS = 6  # buttons Teams shows in one row (its host config's maxActions)
ENVELOPE_BYTES = 4 * 1024  # what a reply carries beside its card, at most, for renderers

# Adaptive Card text colours by tone: Good, Warning, Attention.
COLOR = {
    Tone.INFO: "default",
    Tone.SUCCESS: "good",
    Tone.ATTENTION: "warning",
    Tone.FAILURE: "attention",
}
MARK = {Tone.INFO: "", Tone.SUCCESS: "✓ ", Tone.ATTENTION: "⚠ ", Tone.FAILURE: "✗ "}


# CommonMark's escapable punctuation that Teams' markdown acts on anywhere in a line, `{` for
# {{DATE()}}, `&` for HTML entities; and what makes a heading, list or quote at a line's start.
_MARKDOWN = re.compile(r"([\\`*_~\[\]<>{}&])")
_LINE_START = re.compile(r"(?m)^(\s*)(?:([-+=#])(?=[\s=#-]|$)|(\d{1,9})(?=[.)](?:\s|$)))")
# Direction overrides, embeddings and isolates reorder how the rest of a line reads.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def md(value: str) -> str:
    """User text as Teams shows it literally in a TextBlock: every markdown character escaped
    (`[x](http://evil)`, `**b**`, `- item`, `1. item`, `# heading`, `{{DATE(...)}}`, `&amp;`),
    direction controls removed. Everything else, zero-width characters included, is left as
    typed; which characters a name may hold is the core's rule."""
    escaped = _MARKDOWN.sub(r"\\\1", _BIDI.sub("", value))
    return _LINE_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[2] else f"{m[1]}{m[3]}\\", escaped)


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
    markdown: bool = False,
) -> dict:
    """A TextBlock of plain text (escaped here); `markdown=True`: `value` is markdown the
    caller wrote, with each value in it escaped by `md`."""
    block: dict[str, Any] = {
        "type": "TextBlock",
        "text": value if markdown else md(value),
        "wrap": True,
    }
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
    return {
        "type": "FactSet",
        "facts": [{"title": md(t), "value": md(v) if v else "–"} for t, v in pairs],
    }


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


def open_url(label: str, url: str) -> dict:
    """A button that opens `url` in the browser (a download link the bot serves)."""
    return {"type": "Action.OpenUrl", "title": label, "url": url}


def action_set(actions: list[dict]) -> dict:
    return {"type": "ActionSet", "actions": actions}


def size_of(card_json: dict) -> int:
    """UTF-8 bytes of the card's JSON."""
    return len(json.dumps(card_json, ensure_ascii=False).encode("utf-8"))


def message_bytes(payload: Any) -> int:
    """UTF-16 bytes of a payload's JSON, as Teams counts a message's size."""
    return len(json.dumps(payload, ensure_ascii=False).encode("utf-16-le"))


def fits(card_json: dict, envelope: int = ENVELOPE_BYTES) -> bool:
    """Whether the card stays within Teams' limits with `envelope` bytes of activity around it
    (its JSON written once, then counted in UTF-8 and in UTF-16)."""
    written = json.dumps(card_json, ensure_ascii=False)
    return (
        len(written.encode("utf-8")) <= MAX_BYTES
        and len(written.encode("utf-16-le")) + envelope <= MAX_MESSAGE_BYTES
    )


def fit(card_json: dict, envelope: int = ENVELOPE_BYTES) -> dict:
    """The card, made small enough to send with `envelope` bytes of activity around it; the
    last line of defence after each renderer's own choices, so a reply never fails for its
    size: first the buttons inside the body go (per-row buttons; tapping a row still opens
    it), then the body is cut from the end with "… and N more not shown", then long texts
    are shortened. The card's own actions and inputs stay as long as anything does."""
    if fits(card_json, envelope):
        return card_json
    result = copy.deepcopy(card_json)
    result["body"] = [_without_action_sets(b) for b in result.get("body", [])]
    if fits(result, envelope):
        return result
    body: list[dict] = result["body"]
    kept = len(body)
    ok: Callable[[int], bool] = lambda n: fits({**result, "body": _cut(body, n)}, envelope)  # noqa: E731
    low, high = 1, kept  # the most elements that fit, by bisection
    if ok(high):
        low = high
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if ok(mid) else (low, mid - 1)
    result["body"] = _cut(body, low)
    limit = 4000
    while not fits(result, envelope) and limit >= 50:
        result["body"] = [_shorten(b, limit) for b in result["body"]]
        limit //= 2
    if not fits(result, envelope):  # a card of one short line always fits
        result = card([text("This answer is too big to show in Teams; narrow it down.")])
    return result


def _cut(body: list[dict], n: int) -> list[dict]:
    if n >= len(body):
        return body
    return [*body[:n], text(f"… and {len(body) - n} more not shown here.", subtle=True)]


def _without_action_sets(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: [_without_action_sets(i) for i in v if not _is_action_set(i)]
            if isinstance(v, list) and k == "items"
            else _without_action_sets(v)
            if k in ("columns", "items")
            else v
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_without_action_sets(i) for i in node if not _is_action_set(i)]
    return node


def _is_action_set(node: Any) -> bool:
    return isinstance(node, dict) and node.get("type") == "ActionSet"


def _shorten(node: Any, limit: int) -> Any:
    if isinstance(node, dict):
        if node.get("type") == "TextBlock" and len(node.get("text", "")) > limit:
            return {**node, "text": node["text"][: limit - 1].rstrip("\\") + "…"}
        return {k: _shorten(v, limit) for k, v in node.items()}
    if isinstance(node, list):
        return [_shorten(i, limit) for i in node]
    return node
