"""The bot's view models as Adaptive Cards 1.5, the version Teams renders on desktop and mobile.

A renderer only: which actions apply, the fields of a form and their defaults, and how each
answer feels (its `Tone`) all come from the view models. Buttons are placed by their
`Action.role`, never by label or position; colours come from tones, never from wording.
"""

from __future__ import annotations

from dataclasses import replace
from functools import singledispatch
from typing import Any

from adapters.teams.elements import (
    COLOR,
    DATA_KEY,
    MAX_ACTIONS,
    action_set,
    card,
    facts,
    fits,
    heading,
    md,
    open_url,
    run,
    submit,
    text,
    toned,
)
from adapters.teams.forms import bulk_paste_form, render_form
from bot.views import (
    ActionRole,
    ActivityLog,
    BulkProgress,
    BulkResult,
    BulkReview,
    Confirmation,
    CsvFile,
    CustomerCard,
    CustomerRow,
    EventView,
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

LIST_LIMIT = 25  # rows of a long list (bulk problems, events, mails) shown in one card


def _more(shown: int, total: int, what: str) -> list[dict]:
    return [text(f"… and {total - shown} more {what}.", subtle=True)] if total > shown else []


def _events(events: tuple[EventView, ...], limit: int) -> list[dict]:
    shown = events[-limit:]
    blocks = [
        text(f"**{md(e.when)}**, {md(e.actor)}: {md(e.message)}", spacing="Small", markdown=True)
        for e in shown
    ]
    if len(events) > len(shown):
        blocks.insert(0, text(f"{len(events) - len(shown)} earlier events not shown.", subtle=True))
    return blocks


def _problems(problems: tuple[RowProblem, ...]) -> list[dict]:
    shown = problems[:LIST_LIMIT]
    return [
        text(f"Row {p.row}, {p.column}: {p.reason}", spacing="Small", color="attention")
        for p in shown
    ] + _more(len(shown), len(problems), "problems")


def _review_rows(rows: tuple[ReviewRow, ...]) -> list[dict]:
    shown = rows[:LIST_LIMIT]
    return [
        text(
            f"Row {r.row}: **{md(r.name)}** · {md(r.email)} · {md(r.domain)} · {md(r.country)}",
            spacing="Small",
            markdown=True,
        )
        for r in shown
    ] + _more(len(shown), len(rows), "rows: the review CSV has them all")


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
        _lines(reply.text, reply.tone), [run(a, "notice") for a in reply.actions], reply.text
    )


def _lines(value: str, tone: Tone) -> list[dict]:
    """A text of several lines (the problems of a form, one per line) as one TextBlock per
    line: Teams clients do not all keep a single line break inside a TextBlock."""
    first, *rest = value.split("\n")
    return [toned(first, tone)] + [
        text(line, color=COLOR[tone], spacing="None") for line in rest if line.strip()
    ]


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


# Row buttons a list shows: opening the customer. Cancel and Finish stay on the customer
# card, where the whole customer is in view and each asks for confirmation first.
ROW_BUTTONS = frozenset({ActionRole.OPEN})


def _list_row(row: CustomerRow, with_buttons: bool) -> dict:
    """Tapping the row opens the customer (its OPEN action), and so does its one visible
    button, the row's primary action. Without buttons (a long page) the row is kept short,
    so 50 rows fit in one card."""
    steps = f"Reseller {row.reseller} · GDAP {row.gdap} · MSP Hub {row.hub} · P2P {row.p2p}"
    opens = next((a for a in row.actions if a.role is ActionRole.OPEN), None)
    buttons = [
        replace(a, style="primary") if a.role is ActionRole.OPEN else a
        for a in row.actions
        if a.role in ROW_BUTTONS
    ]
    if with_buttons:
        items = [
            text(f"**{md(row.name)}** ({md(row.domain)})", markdown=True),
            text(f"{row.standing} · enrolled {row.enrolled}", spacing="None"),
            text(steps, spacing="None", subtle=True),
        ]
    else:
        name = row.name if len(row.name) <= 60 else row.name[:59] + "…"
        items = [
            text(f"**{md(name)}** · {md(row.standing)} · {md(row.enrolled)}", markdown=True),
            text(steps, spacing="None", subtle=True),
        ]
    container: dict[str, Any] = {"type": "Container", "separator": True, "items": items}
    if opens:
        container["selectAction"] = run(opens, "list")
    if with_buttons and buttons:
        items.append(action_set([run(a, "list") for a in buttons]))
    return container


@render.register
def _(reply: ListPage) -> dict:
    c = reply.counts
    title = "Customer onboarding"
    if reply.status_filter:
        title += f": {reply.status_filter}"
    head: list[dict] = [heading(title)]
    if c is None:  # a search page: how many match, not the dashboard's counts
        head.append(text(reply.matches, weight="Bolder", spacing="None"))
    else:
        head.append(
            {
                "type": "ColumnSet",
                "columns": [
                    _count("Active", c.active, "accent"),
                    _count("Failed", c.failed, "attention"),
                    _count("Completed", c.completed, "good"),
                ],
            }
        )
    if not reply.rows and (c is not None or reply.past_the_end):
        head.append(
            text(
                reply.past_the_end
                or (
                    "No customers match."
                    if (reply.search or reply.status_filter)
                    else "No customers in onboarding yet. Enroll one with: enroll"
                )
            )
        )
    foot: list[dict] = []
    if reply.rows:
        foot.append(text(reply.position, subtle=True))
    paging = [a for a in reply.actions if a.role is not ActionRole.FILTER]
    filters = [run(a, "list") for a in reply.actions if a.role is ActionRole.FILTER]
    if filters:  # a row of their own, under the counts: with paging they pass Teams' six
        head.append(action_set(filters[:MAX_ACTIONS]))
    actions = [run(a, "list") for a in paging]
    result = card([*head, *(_list_row(r, True) for r in reply.rows), *foot], actions, reply.summary)
    rows = list(reply.rows)
    while not fits(result) and rows:  # rows open the card, which has the buttons
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
        if not fits(result):
            rows.pop()
    return result


@render.register
def _(reply: CustomerCard) -> dict:
    r = reply.row
    body: list[dict] = []
    if reply.headline:
        body.append(toned(reply.headline, reply.tone))
    body += [
        heading(f"{r.name} ({r.domain})"),
        text(reply.standing, weight="Bolder", spacing="None"),
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
                            "items": [text(s.status, weight="Bolder", color=COLOR[s.tone])],
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
    actions = list(reply.actions)
    if len(actions) > MAX_ACTIONS:
        # Past Teams' six in a row, the activity log (then the last ones) go under the
        # recent events, in a row of their own.
        moved = [a for a in actions if a.role is ActionRole.LOG]
        kept = [a for a in actions if a.role is not ActionRole.LOG]
        moved = kept[MAX_ACTIONS:] + moved
        actions = kept[:MAX_ACTIONS]
        body.append(action_set([run(a, "customer") for a in moved]))
    return card(body, [run(a, "customer") for a in actions], reply.summary)


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
    return review_card(reply)


def review_card(reply: BulkReview, download: dict | None = None) -> dict:
    """The review; `download` (an `open_url` action) gets the whole list of customers when
    the card shows only the first ones. It sits with the card's own buttons, which stay
    when a big review is made smaller for Teams."""
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
        body += _review_rows(reply.valid)
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
    if download:
        actions.append(download)
    return card(body, actions, reply.summary)


def download_card(file: CsvFile, url: str, note: str) -> dict:
    """An export in Teams: what it lists, and a button that downloads it from the bot."""
    body = [heading(file.title), text(file.text), text(note, subtle=True)]
    return card(body, [open_url(f"Download {file.filename}", url)], file.summary)


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
        text(
            f"**{e.at:%Y-%m-%d %H:%M} UTC** {md(e.actor)}: {md(e.message)}",
            spacing="Small",
            markdown=True,
        )
        for e in shown
    ]
    return card(body, summary=reply.summary)


@render.register
def _(reply: OutboxView) -> dict:
    what = f"Outbox of {reply.customer}" if reply.customer else "Outbox"
    body = [heading(f"{what}: {len(reply.mails)} mail{'s' if len(reply.mails) != 1 else ''}")]
    for m in reply.mails[:LIST_LIMIT]:
        lines = [
            text(f"**{m.at:%Y-%m-%d %H:%M} UTC** to {md(m.to)}", markdown=True),
            text(m.subject, spacing="None"),
        ]
        if m.link:
            target = "".join(c if c.isprintable() and c not in " ()<>" else "" for c in m.link)
            lines.append(text(f"[Open the link]({target})", spacing="None", markdown=True))
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


@render.register
def _(reply: Form) -> dict:
    return render_form(reply)


def upload_card(prompt: Notice) -> dict:
    """What `bulk` (an upload answer) is in Teams: the prompt, and a form to paste the CSV
    into, since a file can be sent to the bot only in a personal chat."""
    return bulk_paste_form(render(prompt))
