"""Platform-neutral view models: what the bot answers, for each front end to render its own way.

No business rule lives in a renderer: every decision (which actions apply now, what a status
means, which fields a form has and their defaults) is made here or in the service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import BinaryIO

from bot.tone import Tone as Tone  # re-exported: the front ends render it with the views


class ActionRole(StrEnum):
    """What a button is for. Renderers place and treat buttons by role (the grid keeps only
    OPEN, FINISH and CANCEL; paging goes in the footer), never by label or position."""

    RUN = "run"  # any other command
    OPEN = "open"  # show one customer's card
    FORM = "form"  # opens a form: enroll, GDAP request, MSP Hub, P2P transfer
    REMIND = "remind"
    FINISH = "finish"
    CANCEL = "cancel"  # cancel the onboarding
    CANCEL_TRANSFER = "cancel_transfer"  # cancel or drop the P2P transfer
    LOG = "log"
    NEXT = "next"  # next page
    PREVIOUS = "previous"  # previous page
    FILTER = "filter"  # the grid by status
    CONFIRM = "confirm"  # go ahead with what a confirmation asks
    DISMISS = "dismiss"  # do not (discard a bulk review, keep the customer)
    TEMPLATE = "template"  # the CSV format file
    PICK = "pick"  # one of several customers a name matched


@dataclass(frozen=True)
class Action:
    """A button: `line` is the command it runs, in the one grammar every front end speaks."""

    label: str
    line: str
    style: str | None = None  # "primary", "danger" or None
    confirm: str | None = None  # shown before a destructive action runs
    role: ActionRole = ActionRole.RUN


@dataclass(frozen=True)
class Notice:
    text: str
    tone: Tone = Tone.INFO
    actions: tuple[Action, ...] = ()

    @property
    def summary(self) -> str:
        return self.text


@dataclass(frozen=True)
class StepView:
    title: str
    status: str
    detail: str = ""
    tone: Tone = Tone.INFO  # done, failed or expired, or neither (waiting, not started)


@dataclass(frozen=True)
class EventView:
    at: datetime
    when: str  # relative ("3 hours ago")
    actor: str
    message: str


@dataclass(frozen=True)
class CustomerRow:
    id: str
    name: str
    domain: str
    reseller: str
    gdap: str
    hub: str
    p2p: str
    overall: str
    enrolled_at: datetime
    enrolled: str  # relative: "yesterday", "3 days ago"
    actions: tuple[Action, ...] = ()
    closed: str = ""  # off the lists: "Finished 3 days ago by alice"; "" while open

    @property
    def standing(self) -> str:
        """What a list shows beside the name: how the steps stand, or what became of it."""
        return self.closed or self.overall


@dataclass(frozen=True)
class CustomerCard:
    row: CustomerRow
    email: str
    country: str
    steps: tuple[StepView, ...]
    failure_reason: str | None
    recovery_hint: str | None
    events: tuple[EventView, ...]
    actions: tuple[Action, ...]
    headline: str = ""  # what just happened, when the card answers an action
    closed: str | None = None  # "finished" or "cancelled" once off the lists
    tone: Tone = Tone.INFO  # how the headline feels: a refusal is not shown as a success

    @property
    def state(self) -> str:
        """Where the customer stands: Cancelled or Finished once closed (the row's overall
        status only says how its steps stand), else Active, Failed or Completed."""
        return self.closed.capitalize() if self.closed else self.row.overall

    @property
    def standing(self) -> str:
        """The card's heading beside the name: the state, or once closed what became of the
        customer, when and by whom ("Finished 3 days ago by alice")."""
        return self.row.closed or self.state

    @property
    def summary(self) -> str:
        lead = f"{self.headline} " if self.headline else ""
        return f"{lead}{self.row.name} ({self.row.domain}): {self.state}"


@dataclass(frozen=True)
class Counts:
    active: int
    failed: int
    completed: int


@dataclass(frozen=True)
class ListPage:
    """A page of the customer grid, as `status` and `search` show it. A search page has no
    `counts`: it says how many customers match what was searched for (`matches`), which is
    what the searcher asked, and costs what it finds rather than a count of every open
    customer."""

    counts: Counts | None
    rows: tuple[CustomerRow, ...]
    offset: int
    limit: int
    total: int
    status_filter: str | None = None
    search: str | None = None
    actions: tuple[Action, ...] = ()  # paging and filters

    @property
    def summary(self) -> str:
        c = self.counts
        if c is None:
            return self.matches
        return f"Active {c.active} · Failed {c.failed} · Completed {c.completed}"

    @property
    def matches(self) -> str:
        """A search page's heading: '3 customers match "abc"', '1 customer matches "abc"',
        'No customers match "abc"'."""
        wanted = f'"{self.search or ""}"'
        if self.total == 0:
            return f"No customers match {wanted}"
        if self.total == 1:
            return f"1 customer matches {wanted}"
        return f"{self.total} customers match {wanted}"

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1 if self.limit > 0 else 1

    @property
    def pages(self) -> int:
        """At least one: an empty list is one empty page."""
        return max(1, -(-self.total // self.limit)) if self.limit > 0 else 1

    @property
    def position(self) -> str:
        """Where this page is: "11–20 of 95 · page 2 of 10"."""
        if not self.rows:
            return f"page {self.page} of {self.pages}"
        first, last = self.offset + 1, self.offset + len(self.rows)
        shown = f"{first}–{last} of {self.total}"
        return shown if self.pages == 1 else f"{shown} · page {self.page} of {self.pages}"

    @property
    def past_the_end(self) -> str | None:
        """Said instead of the rows when a page past the last is asked for (an old link, a
        typed number): there are customers, only not this many; the way back is the list's
        PREVIOUS action, to the last page."""
        if self.rows or self.total == 0:
            return None
        return (
            f"Page {self.page} of {self.pages}: the list ends at page {self.pages} "
            f"({self.total} customer{'s' if self.total != 1 else ''})"
        )


class FieldKind(StrEnum):
    TEXT = "text"
    EMAIL = "email"
    NUMBER = "number"
    CHOICE = "choice"
    MULTI_CHOICE = "multichoice"


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    group: str = ""  # e.g. "Recommended roles" / "Additional roles"


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = True
    default: str | tuple[str, ...] = ""
    choices: tuple[Choice, ...] = ()
    help: str = ""
    max_length: int | None = None
    min_value: int | None = None
    max_value: int | None = None
    # For a choice: other fields' values that picking a choice fills in (still editable).
    fills: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Form:
    """A form to fill; submitting sends `kind`, `context` and the values back to the service."""

    kind: str  # "enroll", "gdap", "hub", "p2p"
    title: str
    fields: tuple[FormField, ...]
    context: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    submit_label: str = "Submit"

    @property
    def summary(self) -> str:
        return self.title

    def field(self, name: str) -> FormField:
        return next(f for f in self.fields if f.name == name)


@dataclass(frozen=True)
class Confirmation:
    """Asks before a destructive or large action; `confirm_line` runs it."""

    text: str
    confirm_line: str
    confirm_label: str = "Confirm"
    cancel_line: str | None = None
    danger: bool = True

    @property
    def summary(self) -> str:
        return self.text


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str
    reason: str


@dataclass(frozen=True)
class CsvFile:
    """A CSV file the bot makes for the user (an export, a review's customers), made piece by
    piece from the store so that 100,000 customers are never in memory at once.

    `write` streams it into a binary file and says how many rows it wrote; `pieces` is the
    same stream for front ends that pass it on as it comes. `rows` is how many it held when
    it was asked for. `source` makes it again (`Exports.again`), for a link opened later.
    """

    filename: str
    title: str  # what it lists: "Failed customers"
    rows: int
    text: str  # what the bot says with it
    source: tuple[str, ...]
    make: Callable[[], Iterator[tuple[bytes, int]]] = field(repr=False, compare=False)
    path: str = ""  # where the user asked for it to be written (the console), as typed
    mime_type: str = "text/csv"

    @property
    def summary(self) -> str:
        return self.text

    def pieces(self) -> Iterator[bytes]:
        return (data for data, _ in self.make())

    def write(self, out: BinaryIO) -> int:
        """Writes the whole file into `out`; returns the rows written (the header aside)."""
        rows = 0
        for data, count in self.make():
            out.write(data)
            rows += count
        return rows


@dataclass(frozen=True)
class ReviewRow:
    """A customer a bulk review will enroll, as it will be enrolled."""

    row: int
    name: str
    email: str
    domain: str  # as people read it (`presenters.domain_shown`)
    country: str


@dataclass(frozen=True)
class BulkReview:
    import_id: str
    filename: str
    total_rows: int
    valid: tuple[ReviewRow, ...]  # the rows ready to enroll, in the file's order
    problems: tuple[RowProblem, ...]
    confirmation: Confirmation | None  # None when no row can be enrolled
    customers_file: CsvFile | None = None  # every row ready to enroll, for the whole list

    @property
    def summary(self) -> str:
        return (
            f"{self.filename}: {len(self.valid)} of {self.total_rows} rows ready to enroll, "
            f"{len(self.problems)} problems."
        )


@dataclass(frozen=True)
class BulkProgress:
    import_id: str
    done: int
    total: int

    @property
    def summary(self) -> str:
        return f"Enrolling… {self.done} of {self.total}"


@dataclass(frozen=True)
class BulkResult:
    import_id: str
    enrolled: tuple[tuple[int, str, str], ...]  # (row, name, domain)
    problems: tuple[RowProblem, ...]  # rows refused, in the review or at confirm time

    @property
    def summary(self) -> str:
        return (
            f"Bulk enrollment done: {len(self.enrolled)} enrolled, "
            f"{len(self.problems)} not enrolled."
        )


@dataclass(frozen=True)
class ActivityLog:
    customer: str
    domain: str
    events: tuple[EventView, ...]

    @property
    def summary(self) -> str:
        return f"Activity log of {self.customer}: {len(self.events)} events"


@dataclass(frozen=True)
class MailView:
    at: datetime
    when: str
    to: str
    subject: str
    link: str | None


@dataclass(frozen=True)
class OutboxView:
    customer: str | None
    mails: tuple[MailView, ...]

    @property
    def summary(self) -> str:
        return f"{len(self.mails)} mails in the outbox"


@dataclass(frozen=True)
class CommandHelp:
    usage: str
    summary: str


@dataclass(frozen=True)
class HelpView:
    commands: tuple[CommandHelp, ...]
    intro: str = ""

    @property
    def summary(self) -> str:
        return "Onboarding bot commands"


@dataclass(frozen=True)
class FileReply:
    filename: str
    content: bytes
    mime_type: str
    text: str
    # Where the user asked for it (`template PATH`): a path, or "-" for standard output.
    # Only the console has paths; chat front ends send the file as they always do.
    destination: str | None = None

    @property
    def summary(self) -> str:
        return self.text


@dataclass(frozen=True)
class Pick:
    """An ambiguous customer reference: the user picks one, we never guess."""

    text: str
    options: tuple[Action, ...]

    @property
    def summary(self) -> str:
        return self.text


@dataclass(frozen=True)
class DigestItem:
    """One customer line of a digest."""

    onboarding_id: str
    customer: str
    domain: str
    detail: str


@dataclass(frozen=True)
class Digest:
    """The managers' digest: where onboarding stands and what needs someone, in one message.

    `text` is the compact plain-text form that reads well on a phone; the rest is the same
    content as fields, for front ends that render it their own way.
    """

    title: str
    counts: Counts
    change: Counts | None  # since the last digest; None for the first one
    new_enrollments: int
    new_customers: tuple[str, ...]
    failed: tuple[DigestItem, ...]
    ready_to_finish: tuple[DigestItem, ...]
    reminders_spent: tuple[DigestItem, ...]
    expiring: tuple[DigestItem, ...]
    text: str

    @property
    def summary(self) -> str:
        return self.text


Reply = (
    Notice
    | CustomerCard
    | ListPage
    | Form
    | Confirmation
    | BulkReview
    | BulkProgress
    | BulkResult
    | ActivityLog
    | OutboxView
    | HelpView
    | FileReply
    | CsvFile
    | Pick
    | Digest
)
