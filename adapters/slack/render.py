"""View models to Block Kit messages and the App Home tab, built with `slack_sdk.models`.

Every button carries the command it runs (`Action.line`) as its value; its `action_id` says
whether Slack already asked the user to confirm (`run!:N`) and its block id says what kind
of message it sits on (`card:ID:N`), so a click can refresh the message it came from.
Within Block Kit's limits: 50 blocks a message, 3000 characters a section, 25 buttons a row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import singledispatch
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from adapters.slack.escape import cut, escape, mrkdwn
from bot.notices import NoticePayload
from bot.views import (
    Action,
    ActionRole,
    ActivityLog,
    BulkProgress,
    BulkResult,
    BulkReview,
    Confirmation,
    CsvFile,
    CustomerCard,
    CustomerRow,
    FileReply,
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

MAX_BLOCKS = 50
MAX_HOME_BLOCKS = 100
SECTION_MAX = 3000
FIELD_MAX = 2000
BUTTONS_PER_ROW = 25
BUTTON_TEXT_MAX = 75
VALUE_MAX = 2000
SHARE_ACTION = "share"
DISMISS_ACTION = "dismiss"
PROBLEMS_SHOWN = 100  # a review lists this many problems; all of them go in a file beside it
MARK = {
    Tone.INFO: "",
    Tone.SUCCESS: ":white_check_mark: ",
    Tone.ATTENTION: ":warning: ",
    Tone.FAILURE: ":x: ",
}
# Beside a step's status: only what went wrong stands out (done and waiting read as words).
STEP_MARK = {**{tone: "" for tone in Tone}, Tone.FAILURE: MARK[Tone.FAILURE]}


@dataclass(frozen=True)
class Message:
    """A Slack message: plain `text` for notifications and screen readers, and its blocks."""

    text: str
    blocks: tuple[Block, ...]

    def payload(self) -> dict[str, Any]:
        blocks = list(self.blocks)
        if len(blocks) > MAX_BLOCKS:
            blocks = [*blocks[: MAX_BLOCKS - 1], context("… cut to fit Slack's 50-block limit.")]
        return {"text": cut(self.text, 3900), "blocks": [b.to_dict() for b in blocks]}


# -- building blocks ------------------------------------------------------------------------


def md(text: str) -> MarkdownTextObject:
    """mrkdwn we wrote (user parts already passed through `escape.mrkdwn`); never auto-linked."""
    return MarkdownTextObject(text=cut(text, SECTION_MAX), verbatim=True)


def section(text: str, accessory: ButtonElement | None = None) -> SectionBlock:
    return SectionBlock(text=md(text), accessory=accessory)


def plain_section(text: str) -> SectionBlock:
    """User text as plain_text: Slack never reads mentions, links or formatting in it."""
    return SectionBlock(text=PlainTextObject(text=cut(text, SECTION_MAX), emoji=False))


def context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[md(cut(t, FIELD_MAX)) for t in texts[:10]])


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=cut(text, 150), emoji=False))


def sections(lines: Iterable[str], limit_blocks: int = 20) -> list[SectionBlock]:
    """Lines packed into as few sections as fit 3000 characters each."""
    blocks: list[SectionBlock] = []
    chunk = ""
    lines = list(lines)
    for i, line in enumerate(lines):
        line = cut(line, SECTION_MAX)
        if chunk and len(chunk) + 1 + len(line) > SECTION_MAX:
            if len(blocks) == limit_blocks - 1:
                blocks.append(section(f"… and {len(lines) - i} more."))
                return blocks
            blocks.append(section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        blocks.append(section(chunk))
    return blocks


def button(action: Action, n: int) -> ButtonElement:
    confirm = None
    if action.confirm:
        confirm = ConfirmObject(
            title=cut(action.label, 100),
            text=PlainTextObject(text=cut(action.confirm, 300), emoji=False),
            confirm=cut(action.label, 30),
            deny="Keep it",
            style="danger" if action.style == "danger" else None,
        )
    return ButtonElement(
        text=cut(action.label, BUTTON_TEXT_MAX),
        action_id=f"run{'!' if confirm else ''}:{n}",
        value=action.line[:VALUE_MAX],
        style=action.style,
        confirm=confirm,
    )


def action_rows(
    actions: Sequence[Action], source: str, ref: str = "", extra: Sequence[ButtonElement] = ()
) -> list[ActionsBlock]:
    elements: list[ButtonElement] = [button(a, n) for n, a in enumerate(actions)]
    elements.extend(extra)
    return [
        ActionsBlock(block_id=f"{source}:{ref}:{k}", elements=elements[i : i + BUTTONS_PER_ROW])
        for k, i in enumerate(range(0, len(elements), BUTTONS_PER_ROW))
    ]


def share_button(line: str) -> ButtonElement:
    return ButtonElement(text="Share in channel", action_id=SHARE_ACTION, value=line[:VALUE_MAX])


# -- the view models ----------------------------------------------------------------------


@singledispatch
def render(reply: Reply, share: str | None = None) -> Message:
    """`share`: the command that made this answer, offered as a "Share in channel" button."""
    text = getattr(reply, "summary", str(reply))
    return Message(escape(text), (plain_section(text),))


@render.register
def _(reply: Notice, share: str | None = None) -> Message:
    blocks: list[Block] = [section(MARK[reply.tone] + mrkdwn(reply.text))]
    blocks += action_rows(reply.actions, "notice")
    return Message(escape(reply.text), tuple(blocks))


@render.register
def _(reply: HelpView, share: str | None = None) -> Message:
    lines = [f"`/onboard {escape(c.usage)}`  {mrkdwn(c.summary)}" for c in reply.commands]
    blocks: list[Block] = [header("Onboarding bot commands"), *sections(lines)]
    if reply.intro:
        blocks.append(context(mrkdwn(reply.intro)))
    text = f"{reply.summary}: " + "; ".join(c.usage for c in reply.commands)
    return Message(escape(text), tuple(blocks))


def _row_text(row: CustomerRow) -> str:
    return (
        f"*{mrkdwn(row.name)}* ({mrkdwn(row.domain)}) · {mrkdwn(row.standing)}\n"
        f"Reseller: {row.reseller} · GDAP: {row.gdap} · MSP Hub: {row.hub} · "
        f"P2P: {row.p2p} · Enrolled {row.enrolled}"
    )


def opener(row: CustomerRow) -> Action | None:
    """The row's way into its card, when only one button fits beside it."""
    return next((a for a in row.actions if a.role is ActionRole.OPEN), None)


def counts_text(page: ListPage) -> str:
    """The three counts, or on a search page how many customers match."""
    c = page.counts
    if c is None:
        return f"*{mrkdwn(page.matches)}*"
    return f"*Active* {c.active}   ·   *Failed* {c.failed}   ·   *Completed* {c.completed}"


@render.register
def _(reply: ListPage, share: str | None = None) -> Message:
    head = counts_text(reply)
    if reply.status_filter:
        head += f"\nShowing: {reply.status_filter}"
    blocks: list[Block] = [section(head)]
    if not reply.rows and (reply.counts is not None or reply.past_the_end):
        blocks.append(
            section(
                reply.past_the_end
                or (
                    "No customers match."
                    if (reply.search or reply.status_filter)
                    else "No customers in onboarding yet. Enroll one with `/onboard enroll`."
                )
            )
        )
    # Each row gets its buttons when they fit Slack's 50 blocks; else only "Show" beside it;
    # a page longer still is text (PAGE_SIZE goes up to 50), each row with its id.
    room = MAX_BLOCKS - 5
    n = len(reply.rows)
    if n > room:
        blocks += sections(f"{_row_text(row)} · id `{row.id}`" for row in reply.rows)
    elif 2 * n <= room:
        for row in reply.rows:
            blocks.append(section(_row_text(row)))
            blocks += action_rows(row.actions, "row", row.id)
    else:
        for row in reply.rows:
            show = opener(row)
            blocks.append(section(_row_text(row), button(show, 0) if show else None))
    if reply.rows:
        blocks.append(context(reply.position))
    extra = [share_button(share)] if share else []
    blocks += action_rows(reply.actions, "list", "", extra)
    text = reply.summary + (f" — {len(reply.rows)} of {reply.total} shown" if reply.rows else "")
    return Message(escape(text), tuple(blocks))


def card_blocks(
    card: CustomerCard, share: str | None = None, with_actions: bool = True
) -> list[Block]:
    r = card.row
    blocks: list[Block] = []
    if card.headline:
        blocks.append(section(MARK[card.tone] + mrkdwn(card.headline)))
    blocks.append(header(f"{r.name} ({r.domain}) — {card.standing}"))
    blocks.append(
        context(
            f"{mrkdwn(card.email)} · Country {mrkdwn(card.country)} · "
            f"Enrolled {r.enrolled} · id `{r.id}`"
        )
    )
    fields = []
    for step in card.steps:
        text = f"*{step.title}*\n{STEP_MARK[step.tone]}{step.status}"
        if step.detail:
            text += f"\n_{mrkdwn(step.detail)}_"
        fields.append(md(cut(text, FIELD_MAX)))
    blocks.append(SectionBlock(fields=fields))
    if card.failure_reason:
        blocks.append(section(f":x: *Failed:* {mrkdwn(card.failure_reason)}"))
    if card.recovery_hint:
        blocks.append(section(f"*To recover:* {mrkdwn(card.recovery_hint)}"))
    if card.events:
        blocks.append(
            context(*(f"{e.when} · {mrkdwn(e.actor)}: {mrkdwn(e.message)}" for e in card.events))
        )
    if with_actions:
        extra = [share_button(share)] if share else []
        blocks += action_rows(card.actions, "card", r.id, extra)
    return blocks


@render.register
def _(reply: CustomerCard, share: str | None = None) -> Message:
    return Message(escape(reply.summary), tuple(card_blocks(reply, share)))


@render.register
def _(reply: Confirmation, share: str | None = None) -> Message:
    style = "danger" if reply.danger else "primary"
    confirm = Action(reply.confirm_label, reply.confirm_line, style, role=ActionRole.CONFIRM)
    elements = [button(confirm, 0)]
    if reply.cancel_line:
        elements.append(button(Action("Cancel", reply.cancel_line, role=ActionRole.DISMISS), 1))
    else:
        elements.append(ButtonElement(text="Cancel", action_id=DISMISS_ACTION, value="cancel"))
    blocks: list[Block] = [
        section(":warning: " + mrkdwn(reply.text)),
        ActionsBlock(block_id="confirm::0", elements=elements),
    ]
    return Message(escape(reply.text), tuple(blocks))


def problem_lines(problems: Sequence[RowProblem]) -> list[str]:
    return [f"Row {p.row}, {mrkdwn(p.column)}: {mrkdwn(p.reason)}" for p in problems]


def _enrolled_lines(rows: Sequence[tuple[int, str, str]], show: int = 20) -> list[str]:
    lines = [f"Row {row}: {mrkdwn(name)} ({mrkdwn(domain)})" for row, name, domain in rows[:show]]
    if len(rows) > show:
        lines.append(f"… and {len(rows) - show} more")
    return lines


REVIEW_SHOWN = 20  # customers a review lists in its message; the review CSV has them all


def _review_lines(rows: Sequence[ReviewRow]) -> list[str]:
    lines = [
        f"Row {r.row}: *{mrkdwn(r.name)}* · {mrkdwn(r.email)} · {mrkdwn(r.domain)} · "
        f"{mrkdwn(r.country)}"
        for r in rows[:REVIEW_SHOWN]
    ]
    if len(rows) > REVIEW_SHOWN:
        lines.append(
            f"… and {len(rows) - REVIEW_SHOWN:,} more: every one is in the review CSV posted "
            "with this review."
        )
    return lines


@render.register
def _(reply: BulkReview, share: str | None = None) -> Message:
    n_problems = len(reply.problems)
    blocks: list[Block] = [
        header(f"Review of {reply.filename}"),
        section(
            f"{reply.total_rows} rows: *{len(reply.valid)} ready to enroll*, "
            f"{n_problems} problem{'s' if n_problems != 1 else ''}. Nobody is enrolled "
            "until you confirm."
        ),
    ]
    if reply.valid:
        blocks += sections(["*Ready to enroll:*", *_review_lines(reply.valid)], 4)
    if reply.problems:
        lines = [
            "*Not enrolled (fix and upload again):*",
            *problem_lines(reply.problems[:PROBLEMS_SHOWN]),
        ]
        if n_problems > PROBLEMS_SHOWN:
            lines.append(
                f"… and {n_problems - PROBLEMS_SHOWN:,} more: every problem is in "
                "the file posted with this review."
            )
        blocks += sections(lines, 30)
    if reply.confirmation:
        c = reply.confirmation
        confirm = Action(c.confirm_label, c.confirm_line, "primary", role=ActionRole.CONFIRM)
        elements = [button(confirm, 0)]
        if c.cancel_line:
            elements.append(button(Action("Cancel", c.cancel_line, role=ActionRole.DISMISS), 1))
        blocks.append(ActionsBlock(block_id=f"review:{reply.import_id}:0", elements=elements))
    else:
        blocks.append(section("Nothing to enroll: fix the file and upload it again."))
    return Message(escape(reply.summary), tuple(blocks))


def progress_bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total) if total else width
    return "█" * filled + "░" * (width - filled)


@render.register
def _(reply: BulkProgress, share: str | None = None) -> Message:
    return Message(
        reply.summary,
        (
            section(f":hourglass_flowing_sand: *Enrolling…* {reply.done:,} of {reply.total:,}"),
            context(f"`{progress_bar(reply.done, reply.total)}`  import `{reply.import_id}`"),
        ),
    )


@render.register
def _(reply: BulkResult, share: str | None = None) -> Message:
    blocks: list[Block] = [section(":white_check_mark: " + reply.summary)]
    if reply.enrolled:
        blocks += sections(["*Enrolled:*", *_enrolled_lines(reply.enrolled)], 4)
    if reply.problems:
        blocks += sections(["*Not enrolled:*", *problem_lines(reply.problems)], 30)
    blocks += action_rows((Action("Show the customers", "status"),), "result", reply.import_id)
    return Message(reply.summary, tuple(blocks))


@render.register
def _(reply: ActivityLog, share: str | None = None) -> Message:
    lines = [
        f"`{e.at:%Y-%m-%d %H:%M}` UTC · {mrkdwn(e.actor)}: {mrkdwn(e.message)}"
        for e in reply.events
    ]
    blocks: list[Block] = [
        header(f"Activity log of {reply.customer} ({reply.domain})"),
        *sections(lines or ["No events."], 40),
    ]
    return Message(escape(reply.summary), tuple(blocks))


@render.register
def _(reply: OutboxView, share: str | None = None) -> Message:
    title = f"Outbox of {reply.customer}" if reply.customer else "Outbox"
    lines = []
    for m in reply.mails:
        line = f"`{m.at:%Y-%m-%d %H:%M}` UTC to {mrkdwn(m.to)}\n{mrkdwn(m.subject)}"
        if m.link:
            line += f"\n{escape(m.link)}"
        lines.append(line)
    blocks: list[Block] = [
        header(f"{title}: {len(reply.mails)} mails"),
        *sections(lines or ["No mails."], 40),
    ]
    return Message(escape(reply.summary), tuple(blocks))


@render.register
def _(reply: Pick, share: str | None = None) -> Message:
    blocks: list[Block] = [
        section(":point_right: " + mrkdwn(reply.text)),
        *action_rows(reply.options, "pick"),
    ]
    return Message(escape(reply.text), tuple(blocks))


@render.register
def _(reply: FileReply, share: str | None = None) -> Message:
    return Message(escape(reply.text), (section(mrkdwn(reply.text)),))


@render.register
def _(reply: CsvFile, share: str | None = None) -> Message:
    return Message(escape(reply.text), (section(mrkdwn(reply.text)),))


# -- channel notices ------------------------------------------------------------------------


def notice_reply(notice: NoticePayload) -> Message:
    """A notice (from `bot.notices`) as a thread reply, or a plain post when it has no customer;
    under it, why its step still waits (who must act, the reminders, what comes next)."""
    return Message(
        escape(notice.text),
        (
            section(MARK[notice.tone] + mrkdwn(notice.text)),
            *(context(":hourglass_flowing_sand: " + mrkdwn(w)) for w in notice.waiting),
            context(mrkdwn(notice.actor)),
        ),
    )


def card_message(card: CustomerCard) -> Message:
    return Message(escape(card.summary), tuple(card_blocks(card)))


def closed_card_message(notice: NoticePayload) -> Message:
    """The thread's head once the customer is off the lists (finished or cancelled)."""
    customer, domain, text = notice.customer, notice.domain, notice.text
    return Message(
        escape(text),
        (
            header(f"{customer} ({domain})"),
            section(mrkdwn(text)),
            context(f"No longer in onboarding; `/onboard log {mrkdwn(domain)}` shows its history."),
        ),
    )


# -- App Home -----------------------------------------------------------------------------


HOME_ACTIONS = (
    Action("Enroll customer", "enroll", "primary", role=ActionRole.FORM),
    Action("Bulk enroll", "bulk", role=ActionRole.FORM),
    Action("Download template", "template", role=ActionRole.TEMPLATE),
)


def home_view(everyone: ListPage, failed: ListPage) -> View:
    """The dashboard: counts, customers that need attention, the newest enrollments."""
    blocks: list[Block] = [
        header("Customer onboarding"),
        section(counts_text(everyone)),
        *action_rows(HOME_ACTIONS, "home"),
        DividerBlock(),
        section("*Needs attention*"),
    ]

    def rows(page: ListPage, part: int) -> list[Block]:
        out: list[Block] = []
        for row in page.rows:  # a failed customer can be in both parts: ids stay unique
            show = opener(row)
            out.append(
                SectionBlock(
                    block_id=f"home:{row.id}:{part}",
                    text=md(_row_text(row)),
                    accessory=button(show, 0) if show else None,
                )
            )
        return out

    blocks += rows(failed, 1) or [context("Nothing failed. :tada:")]
    blocks += [DividerBlock(), section("*Newest enrollments*")]
    blocks += rows(everyone, 2) or [context("No customers in onboarding yet.")]
    blocks.append(context("Type `/onboard help` in any channel for every command."))
    return View(type="home", callback_id="home", blocks=blocks[:MAX_HOME_BLOCKS])
