"""The bot's view models as Adaptive Cards 1.5, the version Teams renders on desktop and mobile.

A renderer only: which actions apply, the fields of a form and their defaults all come from
the view models. Every button is an `Action.Submit` whose data carries the command line it
runs (or the form it submits), in the one grammar; `SubmitData` reads it back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import singledispatch
from typing import Any

from bot.views import (
    Action,
    ActivityLog,
    BulkProgress,
    BulkResult,
    BulkReview,
    Confirmation,
    CustomerCard,
    CustomerRow,
    EventView,
    FieldKind,
    FileReply,
    Form,
    FormField,
    HelpView,
    ListPage,
    Notice,
    OutboxView,
    Pick,
    Reply,
    RowProblem,
    Tone,
)

VERSION = "1.5"
DATA_KEY = "onboard"  # our part of an Action.Submit's data; the card's inputs sit beside it
DATA_VERSION = 1  # cards with another version are from an older bot: answered, never guessed
MAX_BYTES = 28 * 1024  # Teams refuses messages over about 28 KB
LIST_LIMIT = 25  # rows of a long list (bulk problems, events, mails) shown in one card
_COLOR = {
    Tone.INFO: "default",
    Tone.SUCCESS: "good",
    Tone.ATTENTION: "warning",
    Tone.FAILURE: "attention",
}
_MARK = {Tone.INFO: "", Tone.SUCCESS: "✓ ", Tone.ATTENTION: "⚠ ", Tone.FAILURE: "✗ "}
_STATUS_COLOR = {
    "Established": "good",
    "Completed": "good",
    "In Progress": "accent",
    "Pending": "accent",
    "Failed": "attention",
    "Expired": "attention",
    "Cancelled": "warning",
    "Active": "accent",
    "Finished": "good",
}
FILTERED_CHOICES = 12  # longer choice lists get Teams' type-ahead search


@dataclass(frozen=True)
class SubmitData:
    """What an `Action.Submit` sends back: one of a command line, a form, or a dismissal."""

    card: str = ""  # what the clicked card showed: "customer", "list", "form", ...
    line: str = ""
    form: str = ""
    context: dict[str, str] = field(default_factory=dict)
    dismiss: str = ""
    multi: dict[str, list[str]] = field(default_factory=dict)  # field -> its input ids
    fills: dict[str, Any] = field(default_factory=dict)
    version: int = DATA_VERSION

    @classmethod
    def read(cls, value: Any) -> SubmitData | None:
        """None when the activity's value is not one of ours."""
        if not isinstance(value, dict) or not isinstance(value.get(DATA_KEY), dict):
            return None
        data = value[DATA_KEY]
        return cls(
            card=str(data.get("card", "")),
            line=str(data.get("line", "")),
            form=str(data.get("form", "")),
            context=dict(data.get("context") or {}),
            dismiss=str(data.get("dismiss", "")),
            multi=dict(data.get("multi") or {}),
            fills=dict(data.get("fills") or {}),
            version=int(data.get("v", 0) or 0),
        )


def inputs_of(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in (DATA_KEY, "msteams")}


# -- building blocks ------------------------------------------------------------------------


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
    return submit(action.label, {"card": card_kind, "line": action.line}, action.style)


def action_set(actions: list[dict]) -> dict:
    return {"type": "ActionSet", "actions": actions}


def _more(shown: int, total: int, what: str) -> list[dict]:
    return [text(f"… and {total - shown} more {what}.", subtle=True)] if total > shown else []


def _events(events: tuple[EventView, ...], limit: int) -> list[dict]:
    shown = events[-limit:]
    blocks = [text(f"**{e.when}**, {e.actor}: {e.message}", spacing="Small") for e in shown]
    if len(events) > len(shown):
        blocks.insert(0, text(f"{len(events) - len(shown)} earlier events not shown.", subtle=True))
    return blocks


def _problems(problems: tuple[RowProblem, ...]) -> list[dict]:
    shown = problems[:LIST_LIMIT]
    return [
        text(f"Row {p.row}, {p.column}: {p.reason}", spacing="Small", color="attention")
        for p in shown
    ] + _more(len(shown), len(problems), "problems")


def _rows(rows: tuple[tuple[int, str, str], ...]) -> list[dict]:
    shown = rows[:LIST_LIMIT]
    return [
        text(f"Row {row}: {name} ({domain})", spacing="Small") for row, name, domain in shown
    ] + _more(len(shown), len(rows), "rows")


# -- one renderer per view model -------------------------------------------------------------


@singledispatch
def render(reply: Reply) -> dict:
    """The Adaptive Card for a view model."""
    return card([text(getattr(reply, "summary", str(reply)))])


@render.register
def _(reply: Notice) -> dict:
    return card(
        [text(_MARK[reply.tone] + reply.text, color=_COLOR[reply.tone])],
        [run(a, "notice") for a in reply.actions],
        reply.text,
    )


@render.register
def _(reply: HelpView) -> dict:
    body = [heading("Onboarding bot commands")]
    body += [
        {
            "type": "Container",
            "spacing": "Small",
            "items": [
                text(c.usage, weight="Bolder", mono=True),
                text(c.summary, spacing="None", subtle=True),
            ],
        }
        for c in reply.commands
    ]
    if reply.intro:
        body.append(text(reply.intro, subtle=True))
    return card(body, summary=reply.summary)


def _count(label: str, value: int, color: str) -> dict:
    return {
        "type": "Column",
        "width": "stretch",
        "items": [
            text(str(value), size="ExtraLarge", weight="Bolder", color=color),
            text(label, spacing="None", subtle=True),
        ],
    }


def _list_row(row: CustomerRow, with_buttons: bool) -> dict:
    """Tapping the row runs its first action (Show); its other actions are buttons. Without
    buttons (a long page) the row is kept short, so 50 rows fit in one card."""
    steps = f"Reseller {row.reseller} · GDAP {row.gdap} · MSP Hub {row.hub} · P2P {row.p2p}"
    if with_buttons:
        items = [
            text(f"**{row.name}** ({row.domain})"),
            text(
                f"{row.overall} · enrolled {row.enrolled}",
                spacing="None",
                color=_STATUS_COLOR.get(row.overall),
            ),
            text(steps, spacing="None", subtle=True),
        ]
    else:
        name = row.name if len(row.name) <= 60 else row.name[:59] + "…"
        items = [
            text(f"**{name}** · {row.overall} · {row.enrolled}"),
            text(steps, spacing="None", subtle=True),
        ]
    container: dict[str, Any] = {"type": "Container", "separator": True, "items": items}
    if row.actions:
        container["selectAction"] = run(row.actions[0], "list")
    if with_buttons and row.actions[1:]:
        items.append(action_set([run(a, "list") for a in row.actions[1:]]))
    return container


@render.register
def _(reply: ListPage) -> dict:
    c = reply.counts
    title = "Customer onboarding"
    if reply.status_filter:
        title += f": {reply.status_filter}"
    if reply.search:
        title += f' matching "{reply.search}"'
    head: list[dict] = [
        heading(title),
        {
            "type": "ColumnSet",
            "columns": [
                _count("Active", c.active, "accent"),
                _count("Failed", c.failed, "attention"),
                _count("Completed", c.completed, "good"),
            ],
        },
    ]
    if not reply.rows:
        head.append(
            text(
                "No customers match."
                if (reply.search or reply.status_filter)
                else "No customers in onboarding yet. Enroll one with: enroll"
            )
        )
    foot: list[dict] = []
    if reply.rows:
        first, last = reply.offset + 1, reply.offset + len(reply.rows)
        foot.append(text(f"{first}–{last} of {reply.total}", subtle=True))
    actions = [run(a, "list") for a in reply.actions]
    result = card([*head, *(_list_row(r, True) for r in reply.rows), *foot], actions, reply.summary)
    rows = list(reply.rows)
    while size_of(result) > MAX_BYTES and rows:  # rows open the card, which has the buttons
        note = text(
            "Tap a customer for its card and actions."
            if len(rows) == len(reply.rows)
            else f"Only the first {len(rows)} of this page fit in Teams: narrow "
            "it with search or a status filter.",
            subtle=True,
        )
        result = card(
            [*head, *(_list_row(r, False) for r in rows), note, *foot], actions, reply.summary
        )
        if size_of(result) > MAX_BYTES:
            rows.pop()
    return result


@render.register
def _(reply: CustomerCard) -> dict:
    r = reply.row
    state = reply.closed.capitalize() if reply.closed else r.overall
    body: list[dict] = []
    if reply.headline:
        body.append(text("✓ " + reply.headline, color="good"))
    body += [
        heading(f"{r.name} ({r.domain})"),
        text(state, weight="Bolder", color=_STATUS_COLOR.get(state), spacing="None"),
        facts(
            [
                ("Email", reply.email),
                ("Country", reply.country),
                ("Enrolled", r.enrolled),
                ("Id", r.id),
            ]
        ),
        {
            "type": "Container",
            "separator": True,
            "items": [
                {
                    "type": "ColumnSet",
                    "spacing": "Small",
                    "columns": [
                        {"type": "Column", "width": "stretch", "items": [text(s.title)]},
                        {
                            "type": "Column",
                            "width": "auto",
                            "items": [
                                text(s.status, weight="Bolder", color=_STATUS_COLOR.get(s.status))
                            ],
                        },
                    ],
                }
                for s in reply.steps
            ],
        },
    ]
    body += [
        text(f"{s.title}: {s.detail}", subtle=True, spacing="Small")
        for s in reply.steps
        if s.detail
    ]
    if reply.failure_reason:
        body.append(text(f"Failed: {reply.failure_reason}", color="attention"))
    if reply.recovery_hint:
        body.append(text(f"To recover: {reply.recovery_hint}", color="attention"))
    if reply.events:
        body.append(text("Recent", weight="Bolder", spacing="Medium"))
        body += _events(reply.events, LIST_LIMIT)
    return card(body, [run(a, "customer") for a in reply.actions], reply.summary)


@render.register
def _(reply: Confirmation) -> dict:
    actions = [
        submit(
            reply.confirm_label,
            {"card": "confirm", "line": reply.confirm_line},
            "danger" if reply.danger else "primary",
        )
    ]
    if reply.cancel_line:
        actions.append(submit("Not now", {"card": "confirm", "line": reply.cancel_line}))
    else:
        actions.append(submit("Not now", {"card": "confirm", "dismiss": "confirm"}))
    return card(
        [text(reply.text, color="warning" if reply.danger else None)], actions, reply.summary
    )


@render.register
def _(reply: BulkReview) -> dict:
    body = [
        heading(f"Review of {reply.filename}"),
        facts(
            [
                ("Rows", str(reply.total_rows)),
                ("Ready to enroll", str(len(reply.valid))),
                ("Problems", str(len(reply.problems))),
            ]
        ),
    ]
    if reply.valid:
        body.append(text("Ready to enroll", weight="Bolder"))
        body += _rows(reply.valid)
    if reply.problems:
        body.append(text("Not enrolled (fix and upload again)", weight="Bolder"))
        body += _problems(reply.problems)
    actions: list[dict] = []
    if reply.confirmation:
        body.append(text(reply.confirmation.text))
        actions = render(reply.confirmation)["actions"]
        for action in actions:
            action["data"][DATA_KEY]["card"] = "review"
    else:
        body.append(text("Nothing to enroll.", color="attention"))
    return card(body, actions, reply.summary)


@render.register
def _(reply: BulkProgress) -> dict:
    return card([heading("Bulk enrollment"), text(reply.summary)], summary=reply.summary)


@render.register
def _(reply: BulkResult) -> dict:
    body = [heading("Bulk enrollment done"), text(reply.summary, color="good")]
    if reply.enrolled:
        body.append(text("Enrolled", weight="Bolder"))
        body += _rows(reply.enrolled)
    if reply.problems:
        body.append(text("Not enrolled", weight="Bolder"))
        body += _problems(reply.problems)
    return card(body, summary=reply.summary)


@render.register
def _(reply: ActivityLog) -> dict:
    body = [heading(f"Activity log of {reply.customer} ({reply.domain})")]
    shown = reply.events[-LIST_LIMIT * 2 :]
    if len(reply.events) > len(shown):
        body.append(text(f"The {len(shown)} newest of {len(reply.events)} events.", subtle=True))
    body += [
        text(f"**{e.at:%Y-%m-%d %H:%M} UTC** {e.actor}: {e.message}", spacing="Small")
        for e in shown
    ]
    return card(body, summary=reply.summary)


@render.register
def _(reply: OutboxView) -> dict:
    what = f"Outbox of {reply.customer}" if reply.customer else "Outbox"
    body = [heading(f"{what}: {len(reply.mails)} mail{'s' if len(reply.mails) != 1 else ''}")]
    for m in reply.mails[:LIST_LIMIT]:
        lines = [text(f"**{m.at:%Y-%m-%d %H:%M} UTC** to {m.to}"), text(m.subject, spacing="None")]
        if m.link:
            lines.append(text(f"[Open the link]({m.link})", spacing="None"))
        body.append({"type": "Container", "separator": True, "items": lines})
    body += _more(min(len(reply.mails), LIST_LIMIT), len(reply.mails), "mails")
    return card(body, summary=reply.summary)


@render.register
def _(reply: FileReply) -> dict:
    body = [heading(reply.filename), text(reply.text)]
    try:
        content = reply.content.decode("utf-8-sig")
    except UnicodeDecodeError:
        content = ""
    if content and len(content) < 8000:
        body += [
            text("Copy this into a new .csv file:", subtle=True),
            {
                "type": "Container",
                "style": "emphasis",
                "items": [text(content.strip().replace("\r\n", "\n"), mono=True)],
            },
        ]
    return card(body, summary=reply.summary)


@render.register
def _(reply: Pick) -> dict:
    return card([text(reply.text)], [run(a, "pick") for a in reply.options], reply.summary)


# -- forms -----------------------------------------------------------------------------------


def _input(f: FormField, value: Any, error: str | None) -> list[dict]:
    label = f.label + ("" if f.required else " (optional)")
    base: dict[str, Any] = {"id": f.name, "label": label}
    if f.required:
        base["isRequired"] = True
        base["errorMessage"] = error or f"{f.label} is required."
    elif error:
        base["errorMessage"] = error
    if f.kind is FieldKind.MULTI_CHOICE:
        return _multi_choice(f, value, error)
    if f.kind is FieldKind.CHOICE:
        element = {
            "type": "Input.ChoiceSet",
            **base,
            "value": str(value or ""),
            "choices": [{"title": c.label, "value": c.value} for c in f.choices],
        }
        element["style"] = "filtered" if len(f.choices) > FILTERED_CHOICES else "compact"
    elif f.kind is FieldKind.NUMBER:
        element = {"type": "Input.Number", **base}
        if str(value or "").strip().lstrip("-").isdigit():
            element["value"] = int(str(value).strip())
        if f.min_value is not None:
            element["min"] = f.min_value
        if f.max_value is not None:
            element["max"] = f.max_value
    else:
        element = {"type": "Input.Text", **base, "value": str(value or "")}
        if f.kind is FieldKind.EMAIL:
            element["style"] = "Email"
        if f.max_length:
            element["maxLength"] = f.max_length
    blocks = [element]
    if f.help and not error:
        blocks.append(text(f.help, subtle=True, spacing="None"))
    if error:
        blocks.append(text(error, color="attention", spacing="None"))
    return blocks


def multi_input_ids(f: FormField) -> list[str]:
    """One choice set per group of a multi-choice field (e.g. recommended, additional roles)."""
    groups = list(dict.fromkeys(c.group for c in f.choices))
    return [f.name] + [f"{f.name}__{i}" for i in range(1, len(groups))]


def _multi_choice(f: FormField, value: Any, error: str | None) -> list[dict]:
    chosen = (
        [str(v) for v in value]
        if isinstance(value, list | tuple)
        else [v for v in str(value or "").split(",") if v]
    )
    groups = list(dict.fromkeys(c.group for c in f.choices))
    blocks: list[dict] = [text(f.label, weight="Bolder")]
    if f.help:
        blocks.append(text(f.help, subtle=True, spacing="None"))
    for i, (group, input_id) in enumerate(zip(groups, multi_input_ids(f), strict=True)):
        in_group = [c for c in f.choices if c.group == group]
        picked = [c.value for c in in_group if c.value in chosen]
        choice_set = {
            "type": "Input.ChoiceSet",
            "id": input_id,
            "isMultiSelect": True,
            "style": "expanded",
            "label": group or f.label,
            "value": ",".join(picked),
            "choices": [{"title": c.label, "value": c.value} for c in in_group],
        }
        if i == 0:
            blocks.append(choice_set)
            continue
        container_id = f"{input_id}__box"
        blocks.append(
            action_set(
                [
                    {
                        "type": "Action.ToggleVisibility",
                        "title": f"Show {group.lower() or 'more'}",
                        "targetElements": [container_id],
                    }
                ]
            )
        )
        blocks.append(
            {
                "type": "Container",
                "id": container_id,
                "isVisible": bool(picked),
                "items": [choice_set],
            }
        )
    if error:
        blocks.append(text(error, color="attention", spacing="None"))
    return blocks


def render_form(
    form: Form, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None
) -> dict:
    """The form with defaults, or again with the user's `values` and each field's error."""
    errors = errors or {}
    body: list[dict] = [heading(form.title)]
    body += [text(n, subtle=True) for n in form.notes]
    if errors:
        body.append(text("Please fix the fields marked below.", color="attention"))
    for f in form.fields:
        value = values.get(f.name, f.default) if values is not None else f.default
        body += _input(f, value, errors.get(f.name))
    unknown = [m for name, m in errors.items() if name not in {f.name for f in form.fields}]
    body += [text(m, color="attention") for m in unknown]
    data: dict[str, Any] = {"card": "form", "form": form.kind, "context": form.context}
    multi = {f.name: multi_input_ids(f) for f in form.fields if f.kind is FieldKind.MULTI_CHOICE}
    if multi:
        data["multi"] = multi
    fills = {
        f.name: {
            "initial": (values or {}).get(f.name, f.default),
            "shown": {
                o: str((values or {}).get(o, form.field(o).default))
                for filled in f.fills.values()
                for o in filled
            },
            "by_choice": f.fills,
        }
        for f in form.fields
        if f.fills
    }
    if fills:
        data["fills"] = fills
    actions = [
        submit(form.submit_label, data, "primary", validate=True),
        submit("Cancel", {"card": "form", "dismiss": "form", "context": form.context}),
    ]
    return card(body, actions, form.summary)


def form_values(data: SubmitData, inputs: dict[str, Any]) -> dict[str, Any]:
    """The values of a submitted form card, as `Dispatcher.submit` takes them."""
    values: dict[str, Any] = {
        k: v for k, v in inputs.items() if not any(k in ids[1:] for ids in data.multi.values())
    }
    for name, ids in data.multi.items():
        values[name] = [v for i in ids for v in str(inputs.get(i) or "").split(",") if v]
    for name, spec in data.fills.items():  # a choice fills the fields the user left alone
        chosen = str(values.get(name, ""))
        if chosen == str(spec.get("initial", "")):
            continue
        shown = spec.get("shown", {})
        for other, filled in (spec.get("by_choice", {}).get(chosen) or {}).items():
            if str(values.get(other, "")) == str(shown.get(other, "")):
                values[other] = filled
    for key, value in list(values.items()):
        if isinstance(value, str):
            values[key] = value.strip()
        elif isinstance(value, int | float):
            values[key] = str(int(value)) if float(value).is_integer() else str(value)
    return values


def bulk_paste_card(notice: Notice) -> dict:
    """`bulk` in Teams: the notice, plus a box to paste the CSV into (files need a personal
    chat; pasting works everywhere)."""
    result = render(notice)
    result["body"] += [
        text(
            "Send the CSV file to the bot in a personal chat, or paste its contents here:",
            spacing="Medium",
        ),
        {
            "type": "Input.Text",
            "id": "csv",
            "isMultiline": True,
            "isRequired": True,
            "label": "CSV",
            "errorMessage": "Paste the CSV, header line first.",
            "placeholder": "Customer Name,Email Address,Domain Name,Country Code",
        },
    ]
    result["actions"] = [
        *result.get("actions", []),
        submit("Review", {"card": "form", "form": "bulk"}, "primary", validate=True),
    ]
    return result


def size_of(card_json: dict) -> int:
    return len(json.dumps(card_json, ensure_ascii=False).encode("utf-8"))


@render.register
def _(reply: Form) -> dict:
    return render_form(reply)
