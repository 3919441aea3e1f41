"""Customer lists as CSV files: `export [STATUS]` (one row per customer: every step's status
and dates, the reminders sent, who enrolled and who closed it) and the customers a bulk
review will enroll. Both are read from the store a batch at a time, each batch in its own
short transaction, so 100,000 customers are never in memory at once and no transaction stays
open while a front end writes the file out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath, PureWindowsPath

from bot.activity import Activity, ActivityKind, Actor
from bot.csvio import COLUMN_TITLES, csv_pieces
from bot.domain import Lifecycle, Onboarding, OverallStatus, P2PStatus
from bot.errors import NotFound, ValidationError
from bot.gdap_roles import role_names
from bot.records import ActivityTally, BulkRow, Role
from bot.steps import STEP_TITLES, Step
from bot.views import CsvFile
from bot.wiring import Wiring

EXPORT_BATCH = 500  # customers read per transaction
FILENAME_MAX = 120

# The STATUS words of `export`: which customers each one means, and what its file lists.
EXPORT_STATUSES: dict[str, tuple[Lifecycle, OverallStatus | None, str]] = {
    "active": (Lifecycle.OPEN, OverallStatus.ACTIVE, "Active customers"),
    "failed": (Lifecycle.OPEN, OverallStatus.FAILED, "Failed customers"),
    "completed": (Lifecycle.OPEN, OverallStatus.COMPLETED, "Completed customers"),
    "finished": (Lifecycle.FINISHED, None, "Finished customers"),
    "cancelled": (Lifecycle.CANCELLED, None, "Cancelled customers"),
}
EVERY_CUSTOMER = "all"  # the file-name word when no STATUS is given
STATUS_WORDS = ", ".join(EXPORT_STATUSES)

# The activities that change each step's status: the latest one is when the step changed.
STATUS_CHANGES: dict[Step, tuple[ActivityKind, ...]] = {
    Step.RESELLER: (ActivityKind.ENROLLED, ActivityKind.RESELLER_ESTABLISHED),
    Step.GDAP: (
        ActivityKind.GDAP_REQUESTED,
        ActivityKind.GDAP_ESTABLISHED,
        ActivityKind.GDAP_EXPIRED,
        ActivityKind.GDAP_FAILED,
    ),
    Step.HUB: (ActivityKind.HUB_STARTED, ActivityKind.HUB_COMPLETED),
    Step.P2P: (
        ActivityKind.P2P_PENDING,
        ActivityKind.P2P_COMPLETED,
        ActivityKind.P2P_CANCELLED,
        ActivityKind.P2P_EXPIRED,
        ActivityKind.P2P_FAILED,
    ),
}
REMINDED_STEPS = (Step.RESELLER, Step.GDAP, Step.P2P)  # the steps that wait, and get reminders
CLOSING = [ActivityKind.FINISHED, ActivityKind.CANCELLED]
_TALLIED = [ActivityKind.REMINDER_SENT, *(k for kinds in STATUS_CHANGES.values() for k in kinds)]


def when(at: datetime | None) -> str:
    """A time as an export cell: UTC, to the minute, in the form Excel reads as a date."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if at else ""


@dataclass(frozen=True)
class CustomerFacts:
    """One customer as its export row needs it: the onboarding and what its log says."""

    onboarding: Onboarding
    tallies: dict[tuple[ActivityKind, Step | None], ActivityTally] = field(default_factory=dict)
    closing: Activity | None = None

    @property
    def state(self) -> str:
        ob = self.onboarding
        return ob.lifecycle.value.capitalize() if not ob.is_open else ob.overall_status.value

    def changed_at(self, step: Step) -> datetime | None:
        """When the step's status last changed: its latest status-changing activity (a
        cancelled onboarding's pending transfer was cancelled with it)."""
        times = [
            t.last_at
            for kind in STATUS_CHANGES[step]
            if (t := self.tallies.get((kind, step))) is not None
        ]
        ob = self.onboarding
        if (
            step is Step.P2P
            and ob.p2p_status is P2PStatus.CANCELLED
            and self.closing is not None
            and self.closing.kind is ActivityKind.CANCELLED
            and (ActivityKind.P2P_CANCELLED, Step.P2P) not in self.tallies
        ):
            times.append(self.closing.at)
        return max(times) if times else None

    def reminders(self, step: Step) -> int:
        tally = self.tallies.get((ActivityKind.REMINDER_SENT, step))
        return tally.count if tally else 0


@dataclass(frozen=True)
class Column:
    """One column of the export: its title (in the header line) and a customer's cell."""

    title: str
    value: Callable[[CustomerFacts], object]


def _step_columns(step: Step) -> list[Column]:
    title = STEP_TITLES[step]
    columns = [
        Column(title, lambda f: f.onboarding.step_status(step)),
        Column(f"{title} Started (UTC)", lambda f: when(f.onboarding.step_started_at(step))),
        Column(f"{title} Changed (UTC)", lambda f: when(f.changed_at(step))),
    ]
    if step in REMINDED_STEPS:
        columns.append(Column(f"{title} Reminders Sent", lambda f: f.reminders(step)))
    return columns


# The export's columns, in order; their titles are the file's header line.
CUSTOMER_COLUMNS: tuple[Column, ...] = (
    Column("Customer ID", lambda f: f.onboarding.id),
    Column(COLUMN_TITLES["name"], lambda f: f.onboarding.name),
    Column(COLUMN_TITLES["email"], lambda f: f.onboarding.email),
    Column(COLUMN_TITLES["domain"], lambda f: f.onboarding.domain),
    Column(COLUMN_TITLES["country"], lambda f: f.onboarding.country),
    Column("Status", lambda f: f.state),
    Column("Failure Reason", lambda f: f.onboarding.failure_reason or ""),
    Column("Enrolled (UTC)", lambda f: when(f.onboarding.enrolled_at)),
    Column("Enrolled By", lambda f: f.onboarding.enrolled_by),
    Column("Bulk Import ID", lambda f: f.onboarding.bulk_import_id or ""),
    Column("Customer Tenant ID", lambda f: f.onboarding.customer_tenant_id or ""),
    *(column for step in Step for column in _step_columns(step)),
    Column(
        "GDAP Relationship Name",
        lambda f: f.onboarding.gdap.relationship_name if f.onboarding.gdap else "",
    ),
    Column(
        "GDAP Duration (days)",
        lambda f: f.onboarding.gdap.duration_days if f.onboarding.gdap else "",
    ),
    Column(
        "GDAP Roles",
        lambda f: "; ".join(role_names(f.onboarding.gdap.role_ids)) if f.onboarding.gdap else "",
    ),
    Column(
        "GDAP Auto-extend",
        lambda f: ("Yes" if f.onboarding.gdap_auto_extends else "No") if f.onboarding.gdap else "",
    ),
    Column(
        "GDAP End Date (UTC)",
        lambda f: when(f.onboarding.gdap.ends_at) if f.onboarding.gdap else "",
    ),
    Column("MSP Hub Customer ID", lambda f: f.onboarding.hub_customer_id or ""),
    Column("Current Partner", lambda f: f.onboarding.p2p.partner_name if f.onboarding.p2p else ""),
    Column(
        "Current Partner Microsoft ID",
        lambda f: f.onboarding.p2p.partner_tenant_id if f.onboarding.p2p else "",
    ),
    Column(
        "Current Partner Email",
        lambda f: f.onboarding.p2p.partner_email if f.onboarding.p2p else "",
    ),
    Column("Finished or Cancelled (UTC)", lambda f: when(f.onboarding.closed_at)),
    Column("Finished or Cancelled By", lambda f: f.closing.actor.label if f.closing else ""),
)
CUSTOMER_HEADER: tuple[str, ...] = tuple(c.title for c in CUSTOMER_COLUMNS)
# The review's customers: the bulk file's own columns, with the row each came from.
REVIEW_HEADER: tuple[str, ...] = ("Row", *(COLUMN_TITLES[f] for f in COLUMN_TITLES))

_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def file_name_of(path: str) -> str:
    """The name a file typed as `path` has (its last part, on any system), made safe to hand
    to Slack or a browser; empty for a folder."""
    if not path or path.endswith(("/", "\\")):
        return ""
    name = PureWindowsPath(PurePath(path).name).name
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    return name[:FILENAME_MAX]


def looks_like_a_file(word: str) -> bool:
    """A word `export` takes as where to write (`-`: standard output), not as a mistyped
    STATUS."""
    return (
        word.lower().endswith(".csv") or any(c in word for c in "/\\~") or word in (".", "..", "-")
    )


@dataclass
class Exports:
    wiring: Wiring
    batch: int = EXPORT_BATCH  # customers per transaction

    def customers(self, status: str | None, actor: Actor, path: str = "") -> CsvFile:
        """Every customer (open, finished and cancelled), or those of one STATUS word, as a
        CSV; viewers may export: it holds what `status` and the cards already show them."""
        self.wiring.access.require(actor, Role.VIEWER, "exporting customers")
        word = (status or "").lower()
        if word and word not in EXPORT_STATUSES:
            raise ValidationError(f'Unknown status "{status}": use one of {STATUS_WORDS}.')
        lifecycle, overall, title = EXPORT_STATUSES.get(word, (None, None, "Every customer"))
        now = self.wiring.clock.now()
        with self.wiring.store.transaction() as uow:
            total = uow.onboardings.count_where(lifecycle, overall)
        default = f"onboardings-{word or EVERY_CUSTOMER}-{now:%Y-%m-%d}.csv"
        filename = file_name_of(path) if looks_like_a_file(path) else ""
        return CsvFile(
            filename if filename.lower().endswith(".csv") else default,
            title,
            total,
            f"{title}: {total:,} as of {now:%d %b %Y %H:%M} UTC, one row per customer with "
            "every step's status and dates.",
            ("customers", word),
            lambda: csv_pieces(CUSTOMER_HEADER, self._customer_rows(lifecycle, overall)),
            path=path,
        )

    def _customer_rows(
        self, lifecycle: Lifecycle | None, status: OverallStatus | None
    ) -> Iterator[list[object]]:
        after: tuple[datetime, str] | None = None
        while True:
            batch = self._batch(lifecycle, status, after)
            if not batch:
                return
            for facts in batch:
                yield [column.value(facts) for column in CUSTOMER_COLUMNS]
            last = batch[-1].onboarding
            after = (last.enrolled_at, last.id)
            if len(batch) < self.batch:
                return

    def _batch(
        self,
        lifecycle: Lifecycle | None,
        status: OverallStatus | None,
        after: tuple[datetime, str] | None,
    ) -> list[CustomerFacts]:
        """One batch and what the log says of it, read in one transaction that ends before
        a single row is written out."""
        with self.wiring.store.transaction() as uow:
            onboardings = uow.onboardings.batch_after(lifecycle, status, after, self.batch)
            ids = [ob.id for ob in onboardings]
            tallies = uow.activities.tallies(ids, _TALLIED) if ids else []
            closed = [ob.id for ob in onboardings if not ob.is_open]
            closing = uow.activities.latest_of(closed, CLOSING) if closed else {}
        by_customer: dict[str, dict[tuple[ActivityKind, Step | None], ActivityTally]] = {}
        for t in tallies:
            by_customer.setdefault(t.onboarding_id, {})[(t.kind, t.step)] = t
        return [
            CustomerFacts(ob, by_customer.get(ob.id, {}), closing.get(ob.id)) for ob in onboardings
        ]

    def again(self, source: Sequence[str], actor: Actor) -> CsvFile:
        """The file `source` names, made afresh for `actor` (whose role is checked again):
        what a download link opened later gets."""
        kind, *args = list(source) or [""]
        if kind == "customers" and len(args) == 1:
            return self.customers(args[0] or None, actor)
        if kind == "review" and len(args) == 1:
            self.wiring.access.require(actor, Role.OPERATOR, "bulk enrollment")
            with self.wiring.store.transaction() as uow:
                bulk = uow.bulk_imports.get(args[0])
            if bulk is not None:
                return review_file(bulk.id, bulk.filename, bulk.valid_rows)
        raise NotFound("The bot does not have that file (any more): ask for it again.")


def review_file(import_id: str, filename: str, rows: Sequence[BulkRow]) -> CsvFile:
    """The customers a bulk review will enroll, as they will be enrolled (the message shows
    the first ones; this is the whole list)."""
    stem = filename.rsplit(".", 1)[0] or "upload"
    n = len(rows)
    return CsvFile(
        file_name_of(f"{stem}-review.csv") or "upload-review.csv",
        f"Customers to enroll from {filename}",
        n,
        f"The {n:,} customer{'s' if n != 1 else ''} from {filename} ready to enroll, as "
        "they will be enrolled.",
        ("review", import_id),
        lambda: csv_pieces(REVIEW_HEADER, _review_rows(rows)),
    )


def _review_rows(rows: Iterable[BulkRow]) -> Iterator[list[object]]:
    for r in rows:
        yield [r.row, r.name, r.email, r.domain, r.country]
