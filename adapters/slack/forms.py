"""The bot's forms (`bot.views.Form`) as Slack modals, and a submitted modal's state back to
form values; also the bulk upload modal and the modals that only say something.

A field's block id is `f:NAME:REV`: `response_action: errors` is keyed by it, and REV changes
when the bot re-fills a field (P2P partner picked), because Slack keeps what a user typed in
a block whose id did not change. `private_metadata` carries the form's kind, its context,
the command that made it and where to answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    EmailInputElement,
    ExternalDataSelectElement,
    InputBlock,
    NumberInputElement,
    Option,
    OptionGroup,
    PlainTextInputElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.blocks.block_elements import FileInputElement
from slack_sdk.models.views import View

from adapters.slack.escape import cut, mrkdwn
from adapters.slack.render import action_rows, context, md, section
from bot.errors import ValidationError
from bot.forms import country_choices
from bot.views import Choice, FieldKind, Form, FormField, Notice

FORM_CALLBACK = "form"
VALUE_ACTION = "v"
STATIC_OPTIONS_MAX = 100
TITLE_MAX = 24
BULK_KIND = "bulk"
FIELD_PREFIX = "f"
META_MAX = 3000  # Slack's limit on a view's private_metadata, in characters
KEPT = "kept"  # private_metadata {"kept": KEY}: the metadata is kept server-side under KEY
FILE_BLOCK = f"{FIELD_PREFIX}:file:0"


def field_block(name: str, rev: int) -> str:
    return f"{FIELD_PREFIX}:{name}:{rev}"


def field_name(block_id: str) -> str | None:
    """The form field a block id of ours (`f:NAME:REV`) holds; None for any other block."""
    prefix, _, rest = block_id.partition(":")
    if prefix != FIELD_PREFIX:
        return None
    return rest.partition(":")[0] or None


@dataclass
class ModalMeta:
    """What a modal must remember between opening and submission (≤ 3000 characters)."""

    kind: str
    line: str  # the command that produced the form; run again to rebuild it
    context: dict[str, str] = field(default_factory=dict)
    channel: str | None = None  # where the command was typed
    response_url: str | None = None  # to answer there (ephemeral) within 30 minutes
    replace: bool = False  # the answer replaces the message the button was on (a card)
    home: bool = False  # opened from App Home: answer in the app's DM, refresh Home
    rev: int = 0

    def dump(self) -> str:
        """The metadata as a modal carries it; past Slack's 3,000 characters (`META_MAX`)
        the front end keeps it server-side and gives the modal a `kept_reference`."""
        data = {
            "k": self.kind,
            "l": self.line,
            "c": self.context,
            "ch": self.channel,
            "u": self.response_url,
            "r": self.replace,
            "h": self.home,
            "v": self.rev,
        }
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def load(cls, text: str) -> ModalMeta:
        """What `dump` wrote; anything else (not ours, malformed) is an empty metadata."""
        try:
            d = json.loads(text or "{}")
        except ValueError:
            d = {}
        if not isinstance(d, dict):
            d = {}
        raw = d.get("c")
        context: dict[Any, Any] = raw if isinstance(raw, dict) else {}
        return cls(
            str(d.get("k") or ""),
            str(d.get("l") or ""),
            {str(k): str(v) for k, v in context.items()},
            d.get("ch"),
            d.get("u"),
            bool(d.get("r")),
            bool(d.get("h")),
            int(d.get("v") or 0) if str(d.get("v") or 0).isdigit() else 0,
        )


def kept_reference(key: str) -> str:
    """The private_metadata of a modal whose metadata is kept server-side under `key`."""
    return json.dumps({KEPT: key})


def kept_key(private_metadata: Any) -> str | None:
    """The key of metadata kept server-side, if this private_metadata is such a reference."""
    if not isinstance(private_metadata, str) or KEPT not in private_metadata:
        return None
    try:
        d = json.loads(private_metadata)
    except ValueError:
        return None
    key = d.get(KEPT) if isinstance(d, dict) else None
    return key if isinstance(key, str) and key.isalnum() else None


def _title(text: str) -> str:
    return cut(text, TITLE_MAX)


def option(choice: Choice) -> Option:
    return Option(value=choice.value[:150], label=cut(choice.label, 75))


def _element(f: FormField) -> Any:
    default = f.default
    if f.kind is FieldKind.EMAIL:
        return EmailInputElement(action_id=VALUE_ACTION, initial_value=str(default) or None)
    if f.kind is FieldKind.NUMBER:
        return NumberInputElement(
            action_id=VALUE_ACTION,
            is_decimal_allowed=False,
            initial_value=str(default) or None,
            min_value=f.min_value,
            max_value=f.max_value,
        )
    if f.kind is FieldKind.CHOICE:
        initial = next((option(c) for c in f.choices if c.value == default), None)
        if len(f.choices) > STATIC_OPTIONS_MAX:  # Slack's cap: typed search instead
            return ExternalDataSelectElement(
                action_id=VALUE_ACTION,
                min_query_length=0,
                initial_option=initial,
                placeholder="Type to search",
            )
        return StaticSelectElement(
            action_id=VALUE_ACTION, options=[option(c) for c in f.choices], initial_option=initial
        )
    if f.kind is FieldKind.MULTI_CHOICE:
        chosen = set(default if isinstance(default, tuple) else (default,))
        initial_options = [option(c) for c in f.choices if c.value in chosen] or None
        groups: dict[str, list[Option]] = {}
        for c in f.choices:
            groups.setdefault(c.group, []).append(option(c))
        if len(groups) > 1 or "" not in groups:
            return StaticMultiSelectElement(
                action_id=VALUE_ACTION,
                initial_options=initial_options,
                option_groups=[
                    OptionGroup(label=cut(name or "Other", 75), options=opts)
                    for name, opts in groups.items()
                ],
            )
        return StaticMultiSelectElement(
            action_id=VALUE_ACTION,
            initial_options=initial_options,
            options=[option(c) for c in f.choices],
        )
    return PlainTextInputElement(
        action_id=VALUE_ACTION, initial_value=str(default) or None, max_length=f.max_length
    )


def form_view(
    form: Form, meta: ModalMeta, values: dict[str, Any] | None = None, problem: str = ""
) -> View:
    """The modal of a form; `values` (what the user typed) replace the defaults."""
    if values:
        form = replace(
            form,
            fields=tuple(
                replace(f, default=_as_default(values[f.name])) if f.name in values else f
                for f in form.fields
            ),
        )
    blocks: list[Block] = []
    if len(form.title) > TITLE_MAX:
        blocks.append(section(f"*{mrkdwn(form.title)}*"))
    if problem:
        blocks.append(section(":x: " + mrkdwn(problem)))
    blocks += [context(mrkdwn(note)) for note in form.notes]
    for f in form.fields:
        blocks.append(
            InputBlock(
                block_id=field_block(f.name, meta.rev),
                label=cut(f.label, 2000),
                element=_element(f),
                hint=cut(f.help, 2000) if f.help else None,
                optional=not f.required,
                dispatch_action=True if f.fills else None,
            )
        )
    return View(
        type="modal",
        callback_id=FORM_CALLBACK,
        title=_title(form.title),
        submit=_title(form.submit_label),
        close="Cancel",
        blocks=blocks,
        private_metadata=meta.dump(),
    )


def _as_default(value: Any) -> str | tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return "" if value is None else str(value)


def values_of(view: dict[str, Any]) -> dict[str, Any]:
    """Field name → what the user entered (a list for multi-selects)."""
    values: dict[str, Any] = {}
    for block_id, actions in (view.get("state") or {}).get("values", {}).items():
        name = field_name(block_id)
        if name is None:
            continue
        state = actions.get(VALUE_ACTION) or {}
        kind = state.get("type")
        if kind in ("static_select", "external_select"):
            values[name] = (state.get("selected_option") or {}).get("value", "")
        elif kind == "multi_static_select":
            values[name] = [o["value"] for o in state.get("selected_options") or []]
        elif kind == "file_input":
            values[name] = state.get("files") or []
        else:
            values[name] = state.get("value") or ""
    return values


def uploaded_file(values: dict[str, Any]) -> str | None:
    """The id of the file in the bulk modal's file input (it takes one), if any."""
    first: dict[str, Any] = next(iter(values.get("file") or []), {})
    return str(first["id"]) if first.get("id") else None


def field_errors(view: dict[str, Any], err: ValidationError) -> dict[str, str]:
    """`response_action: errors` keyed by the blocks of this view; a message that names no
    field of the form goes on the first one, so it is never lost."""
    blocks = [b["block_id"] for b in view.get("blocks", []) if b.get("type") == "input"]
    by_name = {field_name(b): b for b in blocks}
    errors: dict[str, str] = {}
    for name, reason in (err.field_errors or {}).items():
        target = by_name.get(name) or (blocks[0] if blocks else name)
        errors[target] = cut(f"{errors[target]} {reason}" if target in errors else reason, 2000)
    if not errors and blocks:
        errors[blocks[0]] = cut(str(err), 2000)
    return errors


def fill(view: dict[str, Any], form: Form, meta: ModalMeta, name: str, picked: str) -> View:
    """A choice with `fills` was picked: its other fields take the choice's values."""
    values = values_of(view)
    values[name] = picked
    chosen = next((f for f in form.fields if f.name == name), None)
    if chosen:
        values.update(chosen.fills.get(picked, {}))
    meta.rev += 1
    return form_view(form, meta, values)


def message_view(title: str, text: str, meta: ModalMeta | None = None, mark: str = "") -> View:
    """A modal that only says something (a refusal, "working…"), with a Close button.
    `text` is plain (escaped here, once); `mark` is our own mrkdwn before it (an emoji)."""
    return View(
        type="modal",
        callback_id="message",
        title=_title(title),
        close="Close",
        blocks=[section(mark + mrkdwn(text))],
        private_metadata=meta.dump() if meta else None,
    )


def bulk_view(notice: Notice, meta: ModalMeta) -> View:
    """The CSV upload: a file input, what the bot will do with it, and the template button."""
    meta.kind = BULK_KIND
    blocks: list[Block] = [
        SectionBlock(text=md(mrkdwn(notice.text))),
        *action_rows(notice.actions, "modal"),
        InputBlock(
            block_id=FILE_BLOCK,
            label="Customers CSV file",
            element=FileInputElement(action_id=VALUE_ACTION, filetypes=["csv", "txt"], max_files=1),
            hint="Header: Customer Name, Email Address, Domain Name, Country Code. "
            "Up to 10,000 rows.",
        ),
    ]
    return View(
        type="modal",
        callback_id=FORM_CALLBACK,
        title="Bulk enrollment",
        submit="Review",
        close="Cancel",
        blocks=blocks,
        private_metadata=meta.dump(),
    )


def country_options(query: str, limit: int = STATIC_OPTIONS_MAX) -> list[dict[str, Any]]:
    """Countries matching what the user typed: exact code first, then names that start with
    it, then names that contain it (at most Slack's 100 options)."""
    q = query.strip().lower()
    ranked: list[tuple[int, Choice]] = []
    for c in country_choices():
        name = c.label.lower()
        if not q or c.value.lower() == q:
            rank = 0
        elif name.startswith(q):
            rank = 1
        elif q in name:
            rank = 2
        else:
            continue
        ranked.append((rank, c))
    ranked.sort(key=lambda rc: rc[0])
    return [option(c).to_dict() for _, c in ranked[:limit]]
