"""The bot's forms (`bot.views.Form`) as Adaptive Cards, and a submitted card's inputs back
to form values as `Dispatcher.submit` takes them; also the bulk paste form.

A form card's Submit button carries the form's kind and context; a multi-choice field
shown as several choice sets ("multi") and a choice that fills other fields ("fills") carry
what is needed to read the inputs back, since Teams sends only the inputs' values.
"""

from __future__ import annotations

from typing import Any

from adapters.teams.elements import action_set, card, heading, submit, text
from adapters.teams.requests import SubmitData
from bot.views import FieldKind, Form, FormField

FILTERED_CHOICES = 12  # longer choice lists get Teams' type-ahead search
PASTE_FORM = "bulk"  # the kind of the bulk paste form's submission
PASTE_INPUT = "csv"  # its input


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
        typed = str(value or "")
        choices = [{"title": c.label, "value": c.value} for c in f.choices]
        if typed and typed not in {c.value for c in f.choices}:
            # a value that is none of the choices (the error below says why) stays visible:
            # Teams shows a choice set's value only when it is one of its choices
            shown = typed if len(typed) <= 80 else typed[:79] + "…"
            choices.insert(0, {"title": f"{shown} (as entered)", "value": typed})
        element = {"type": "Input.ChoiceSet", **base, "value": typed, "choices": choices}
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


def bulk_paste_form(prompt: dict) -> dict:
    """`bulk` in Teams: the prompt's card (what the command answered), plus a box to paste
    the CSV into (files need a personal chat; pasting works everywhere)."""
    result = {**prompt, "body": list(prompt["body"])}
    result["body"] += [
        text(
            "Send the CSV file to the bot in a personal chat, or paste its contents here:",
            spacing="Medium",
        ),
        {
            "type": "Input.Text",
            "id": PASTE_INPUT,
            "isMultiline": True,
            "isRequired": True,
            "label": "CSV",
            "errorMessage": "Paste the CSV, header line first.",
            "placeholder": "Customer Name,Email Address,Domain Name,Country Code",
        },
    ]
    result["actions"] = [
        *result.get("actions", []),
        submit("Review", {"card": "form", "form": PASTE_FORM}, "primary", validate=True),
    ]
    return result
