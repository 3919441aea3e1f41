"""Plain-text and JSON renderings of the bot's view models for an 80-column terminal."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import textwrap
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from functools import singledispatch
from typing import Any

from adapters.console.grid import list_text
from bot.views import (
    ActionRole,
    ActivityLog,
    BulkProgress,
    BulkResult,
    BulkReview,
    Confirmation,
    CsvFile,
    CustomerCard,
    Digest,
    FileReply,
    Form,
    HelpView,
    ListPage,
    Notice,
    OutboxView,
    Pick,
    Reply,
    ReviewRow,
    RowProblem,
    Tone,
)

WIDTH = 80
_MARK = {Tone.INFO: "", Tone.SUCCESS: "✓ ", Tone.ATTENTION: "! ", Tone.FAILURE: "Error: "}
# A card's headline says what just happened; its mark is the headline's tone.
_HEADLINE_MARK = {Tone.INFO: "", Tone.SUCCESS: "✓ ", Tone.ATTENTION: "! ", Tone.FAILURE: "✗ "}
_PAGING = {ActionRole.PREVIOUS, ActionRole.NEXT}


def wrap(text: str, indent: str = "") -> str:
    """Fills to 80 columns; a link is never split, so it stays clickable. A line of a list
    ("• Country: ...") continues under its text, not under the bullet."""
    return "\n".join(
        textwrap.fill(
            p,
            WIDTH,
            initial_indent=indent,
            subsequent_indent=indent + " " * _hanging(p),
            break_long_words=False,
            break_on_hyphens=False,
        )
        if p
        else ""
        for p in text.split("\n")
    )


def _hanging(line: str) -> int:
    """How far a line's continuation is indented: past its own indent and bullet."""
    body = line.lstrip(" ")
    return len(line) - len(body) + (2 if body.startswith("• ") else 0)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# Everything a terminal would act on instead of print: C0 and C1 controls but the line break,
# and whole escape sequences (ESC ] title ... BEL, ESC [ 2 J) so no fragment is left behind.
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\][^\x07\x1b]*(?:\x07|\x1b\\)?|\[[0-?]*[ -/]*[@-~]|.)?")
_CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text from Slack or Teams (a display name, a customer name) printed as text: a name
    holding `ESC ]0;...` or `ESC [2J` cannot retitle or clear the operator's terminal."""
    return _CONTROLS.sub("", _ESCAPE_SEQUENCE.sub("", text))


@singledispatch
def render_text(reply: Reply) -> str:
    return str(reply)


@render_text.register
def _(reply: Notice) -> str:
    lines = [wrap(_MARK[reply.tone] + reply.text)]
    lines += [f"  {a.label}: {a.line}" for a in reply.actions]
    return "\n".join(lines)


@render_text.register
def _(reply: Digest) -> str:
    return reply.text


@render_text.register
def _(reply: HelpView) -> str:
    width = max(len(c.usage) for c in reply.commands)
    if width > 38:
        width = 38
    lines = ["Commands:"]
    for c in reply.commands:
        if len(c.usage) > width:
            lines.append(f"  {c.usage}")
            lines.append(wrap(c.summary, " " * (width + 4)))
        else:
            body = textwrap.fill(c.summary, WIDTH - width - 4)
            first, *rest = body.split("\n")
            lines.append(f"  {c.usage.ljust(width)}  {first}")
            lines += [" " * (width + 4) + r for r in rest]
    if reply.intro:
        lines += ["", wrap(reply.intro)]
    return "\n".join(lines)


@render_text.register
def _(reply: ListPage) -> str:
    return list_text(reply, WIDTH)


def render_text_at(reply: Reply, width: int | None) -> str:
    """`render_text` for a terminal `width` columns wide (None: not a terminal): the
    customer list is sized to it."""
    if isinstance(reply, ListPage):
        return list_text(reply, width)
    return render_text(reply)


@render_text.register
def _(reply: CustomerCard) -> str:
    r = reply.row
    lines = []
    if reply.headline:
        lines.append(wrap(_HEADLINE_MARK[reply.tone] + reply.headline))
    lines.append(wrap(f"{r.name} ({r.domain}) — {reply.standing}"))
    lines.append(
        wrap(f"Email {reply.email} · Country {reply.country} · Enrolled {r.enrolled} · id {r.id}")
    )
    for step in reply.steps:
        lines.append(f"  {step.title.ljust(22)} {step.status}")
        if step.detail:
            lines.append(wrap(step.detail, " " * 25))
    if reply.failure_reason:
        lines.append(wrap(f"Failed: {reply.failure_reason}"))
    if reply.recovery_hint:
        lines.append(wrap(f"To recover: {reply.recovery_hint}"))
    if reply.events:
        lines.append("Recent:")
        lines += [wrap(f"{e.when}, {e.actor}: {e.message}", "  ") for e in reply.events]
    if reply.actions:
        lines.append("Actions:")
        lines += [f"  {a.label.ljust(28)} {a.line}" for a in reply.actions]
    return "\n".join(lines)


@render_text.register
def _(reply: Form) -> str:
    lines = [reply.title]
    lines += [wrap(n, "  ") for n in reply.notes]
    return "\n".join(lines)


@render_text.register
def _(reply: Confirmation) -> str:
    return wrap(reply.text)


def _problems(problems: tuple[RowProblem, ...]) -> list[str]:
    return [wrap(f"Row {p.row}, {p.column}: {p.reason}", "  ") for p in problems]


REVIEW_SHOWN = 20  # customers a review lists before "and N more"


def review_table(rows: Sequence[ReviewRow], more: int = 0, width: int = WIDTH) -> list[str]:
    """The customers a review will enroll, as a table within `width` columns: the row number
    and country whole, name, email and domain sharing the rest by how long they are; a cut
    cell ends in "…" and the table says so; `more` rows not shown are counted below it."""
    header = ("Row", "Customer Name", "Email Address", "Domain Name", "Country")
    cells = [(str(r.row), r.name, r.email, r.domain, r.country) for r in rows]
    widths = [max(len(header[i]), *(len(c[i]) for c in cells)) for i in range(5)]
    room = width - 2 - widths[0] - widths[4] - 4 * 2
    wanted = widths[1:4]
    if sum(wanted) > room:
        share = [max(len(header[i + 1]), room * w // sum(wanted)) for i, w in enumerate(wanted)]
        spare = room - sum(share)
        for i in sorted(range(3), key=lambda i: wanted[i] - share[i], reverse=True):
            grow = min(spare, wanted[i] - share[i])
            if grow > 0:
                share[i] += grow
                spare -= grow
        widths[1:4] = share
    cut = False

    def line(values: Sequence[str]) -> str:
        nonlocal cut
        shown = []
        for value, w in zip(values, widths, strict=True):
            cut = cut or len(value) > w
            shown.append(_cut(value, w).ljust(w))
        return ("  " + "  ".join(shown)).rstrip()

    lines = [line(header), *(line(c) for c in cells)]
    if more:
        lines.append(f"  … and {more:,} more")
    if cut:
        lines.append("  (a cell ending in … is cut to fit; bulk confirm enrolls it whole)")
    return lines


@render_text.register
def _(reply: BulkReview) -> str:
    lines = [
        f"Review of {reply.filename}: {reply.total_rows} rows, {len(reply.valid)} ready to "
        f"enroll, {len(reply.problems)} problem{'s' if len(reply.problems) != 1 else ''}."
    ]
    if reply.valid:
        lines.append("Ready to enroll (check them before you confirm):")
        more = max(len(reply.valid) - REVIEW_SHOWN, 0)
        lines += review_table(reply.valid[:REVIEW_SHOWN], more)
    if reply.problems:
        lines.append("Not enrolled (fix and upload again):")
        lines += _problems(reply.problems)
    if not reply.valid:
        lines.append("Nothing to enroll.")
    return "\n".join(lines)


@render_text.register
def _(reply: BulkProgress) -> str:
    return reply.summary


@render_text.register
def _(reply: BulkResult) -> str:
    lines = [reply.summary]
    lines += [f"  Row {row}: {name} ({domain})" for row, name, domain in reply.enrolled[:20]]
    if len(reply.enrolled) > 20:
        lines.append(f"  … and {len(reply.enrolled) - 20} more (status shows them all)")
    if reply.problems:
        lines.append("Not enrolled:")
        lines += _problems(reply.problems)
    return "\n".join(lines)


@render_text.register
def _(reply: ActivityLog) -> str:
    lines = [f"Activity log of {reply.customer} ({reply.domain})"]
    for e in reply.events:
        lines.append(wrap(f"{e.at:%Y-%m-%d %H:%M} UTC  {e.actor}: {e.message}", ""))
    return "\n".join(lines)


@render_text.register
def _(reply: OutboxView) -> str:
    lines = [
        f"Outbox{' of ' + reply.customer if reply.customer else ''}: "
        f"{len(reply.mails)} mail{'s' if len(reply.mails) != 1 else ''}"
    ]
    for m in reply.mails:
        lines.append(wrap(f"{m.at:%Y-%m-%d %H:%M} UTC  to {m.to}", "  "))
        lines.append(wrap(m.subject, "    "))
        if m.link:
            lines.append(f"    link: {m.link}")
    return "\n".join(lines)


@render_text.register
def _(reply: FileReply) -> str:
    return wrap(reply.text)


@render_text.register
def _(reply: CsvFile) -> str:
    return wrap(reply.text)


@render_text.register
def _(reply: Pick) -> str:
    lines = [wrap(reply.text)]
    lines += [f"  {a.label}: {a.line}" for a in reply.options]
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8-sig")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode()
    if isinstance(value, dict):  # a file's maker is not data
        return {k: _plain(v) for k, v in value.items() if not callable(v)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def render_json(reply: Reply) -> str:
    """One JSON object per answer, with a "type" naming the view, for scripts.

    A customer card also says its "state": Cancelled or Finished once the onboarding is
    closed, where the row's "overall" (how its steps stand) would still say Active; the
    row says the same, so a script reading either is not misled. "tone" is how the card's
    headline feels."""
    data = {"type": type(reply).__name__, **_plain(dataclasses.asdict(reply))}
    if isinstance(reply, CustomerCard):
        data["state"] = reply.state
        data["row"]["overall"] = reply.state
    if hasattr(reply, "summary"):
        data["summary"] = reply.summary
    return json.dumps(data, ensure_ascii=False)
