"""Bulk enrollment from a CSV file: review every row first, then enroll the valid ones in
chunks, safely repeatable (a second confirm, a double click or a crash half-way enrolls
nobody twice)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import keys, mails, presenters
from bot.activity import SYSTEM_ACTOR, Activity, ActivityKind, Actor
from bot.csvio import COLUMN_TITLES, read_customer_csv
from bot.customers import Customers, already_enrolled
from bot.domain import Onboarding, new_onboarding
from bot.errors import Conflict, NotAllowed, NotFound, ValidationError
from bot.exports import review_file
from bot.history import mail_delivery
from bot.ids import bulk_onboarding_id
from bot.notices import notice_payload
from bot.ports import UnitOfWork
from bot.priority import in_turns, step_aside
from bot.records import (
    BulkImport,
    BulkRow,
    BulkState,
    Delivery,
    NoticeLevel,
    Role,
    RowError,
    Timer,
)
from bot.rules import CustomerDetails
from bot.schedule import timers_for
from bot.validation import validate_enrollment
from bot.views import BulkProgress, BulkResult, BulkReview, Confirmation, ReviewRow, RowProblem
from bot.wiring import Wiring

# Rows enrolled per transaction, each table written with one multi-row statement. 500 keeps
# the fixed cost per chunk (a lookup, one statement per table, a commit, a batch of mail)
# below a tenth of the per-row cost, while the SQLite write lock is held for well under a
# second at a time (other users' writes wait at most that), a crash redoes at most 500 rows,
# and progress moves every second or so. Measured in docs/PERFORMANCE.md.
BULK_CHUNK = 500
BULK_PAUSE = 0.005  # seconds between chunks, so the commands of other users are served
# Rows built between safe points where a user's command in this process goes first
# (bot/priority.py); building a row takes about 0.1 ms.
YIELD_EVERY = 10
# Rows per statement within a chunk's transaction while users are active (alone, a chunk's
# rows go in one statement per table): between statements a user's command in this process
# goes first, also while the transaction holds SQLite's write lock, until that command wants
# the lock itself (bot/priority.py). A statement of 25 rows takes 2-5 ms.
WRITE_TURN = 25
# A worker renews its hold on an import with every chunk (a second or so); silent this long,
# it is taken to have died and the import is resumed. Safety does not hang on it: a row
# enrolled twice is impossible (one open onboarding per domain), so it only decides how soon.
BULK_LEASE = timedelta(seconds=30)


@dataclass(frozen=True)
class NewCustomer:
    """One row's enrollment, built before it is written."""

    row: BulkRow
    onboarding: Onboarding
    activity: Activity
    timers: list[Timer]
    invitation: Delivery


@dataclass
class BulkEnrollment:
    wiring: Wiring
    customers: Customers

    def review(self, data: bytes, filename: str, actor: Actor) -> BulkReview:
        """Checks every row and keeps the result for confirmation; enrolls nobody yet."""
        self.wiring.access.require(actor, Role.OPERATOR, "bulk enrollment")
        rows = read_customer_csv(data, filename)
        valid: list[BulkRow] = []
        problems: list[RowError] = []
        first_row_of: dict[str, int] = {}
        for row in rows:
            if row.problem:
                problems.append(RowError(row.row, "Row", row.problem))
                continue
            try:
                details = validate_enrollment(row.name, row.email, row.domain, row.country)
            except ValidationError as err:
                problems.extend(
                    RowError(row.row, COLUMN_TITLES[f], reason)
                    for f, reason in err.field_errors.items()
                )
                continue
            if details.domain in first_row_of:
                problems.append(
                    RowError(
                        row.row,
                        COLUMN_TITLES["domain"],
                        f"{details.domain} is also on row "
                        f"{first_row_of[details.domain]} of this file.",
                    )
                )
                continue
            first_row_of[details.domain] = row.row
            valid.append(
                BulkRow(row.row, details.name, details.email, details.domain, details.country)
            )
        now = self.wiring.clock.now()
        bulk = BulkImport(
            uuid.uuid4().hex[:12], now, actor.label, filename or "upload.csv", len(rows), [], []
        )
        with self.wiring.store.transaction() as uow:
            existing = uow.onboardings.open_by_domains([r.domain for r in valid])
            for r in valid:
                if r.domain in existing:
                    problems.append(
                        RowError(
                            r.row,
                            COLUMN_TITLES["domain"],
                            already_enrolled(existing[r.domain], now),
                        )
                    )
                else:
                    bulk.valid_rows.append(r)
            bulk.errors = sorted(problems, key=lambda p: p.row)
            uow.bulk_imports.add(bulk)
        return self._review_view(bulk)

    def _review_view(self, bulk: BulkImport) -> BulkReview:
        n = len(bulk.valid_rows)
        confirmation = None
        if n:
            confirmation = Confirmation(
                f"Enroll {n} customer{'s' if n != 1 else ''} from {bulk.filename}? Each gets "
                "the reseller invitation mail.",
                f"bulk confirm {bulk.id}",
                f"Enroll {n}",
                f"bulk discard {bulk.id}",
                danger=False,
            )
        return BulkReview(
            bulk.id,
            bulk.filename,
            bulk.total_rows,
            tuple(
                ReviewRow(r.row, r.name, r.email, presenters.domain_shown(r.domain), r.country)
                for r in bulk.valid_rows
            ),
            tuple(RowProblem(e.row, e.column, e.reason) for e in bulk.errors),
            confirmation,
            review_file(bulk.id, bulk.filename, list(bulk.valid_rows)) if n else None,
        )

    def discard(self, import_id: str, actor: Actor) -> str:
        self.wiring.access.require(actor, Role.OPERATOR, "bulk enrollment")
        with self.wiring.store.transaction() as uow:
            bulk = self._bulk(uow, import_id)
            if bulk.state is not BulkState.REVIEW:
                raise NotAllowed(
                    f"Import {import_id} is {bulk.state.value}; it cannot be discarded."
                )
            bulk.state = BulkState.DISCARDED
            uow.bulk_imports.save(bulk)
        return f"Import {import_id} discarded: nobody was enrolled."

    def _bulk(self, uow: UnitOfWork, import_id: str) -> BulkImport:
        bulk = uow.bulk_imports.get(import_id.strip(), for_update=True)
        if bulk is None:
            raise NotFound(f"No bulk import {import_id}. Upload the file again with bulk.")
        return bulk

    def confirm(
        self, import_id: str, actor: Actor, progress: Callable[[BulkProgress], None] | None = None
    ) -> BulkResult:
        """Enrolls every reviewed row, in chunks, each chunk with its progress in one unit of
        work; safe to repeat (a second confirm, a double click or a crash half-way enrolls
        nobody twice). An import whose worker died (its lease ran out) is resumed: the rows
        not yet enrolled are enrolled, in the name of who confirmed it."""
        self.wiring.access.require(actor, Role.OPERATOR, "bulk enrollment")
        return self._confirm(import_id, actor, progress)

    def _confirm(
        self, import_id: str, actor: Actor, progress: Callable[[BulkProgress], None] | None
    ) -> BulkResult:
        now = self.wiring.clock.now()
        with self.wiring.store.transaction() as uow:
            bulk = self._bulk(uow, import_id)
            if bulk.state is BulkState.DISCARDED:
                raise NotAllowed(f"Import {import_id} was discarded. Upload the file again.")
            if bulk.state is BulkState.DONE:
                return self._bulk_result(bulk)
            if bulk.state is BulkState.RUNNING and bulk.lease_until and bulk.lease_until > now:
                raise Conflict(
                    f"Import {import_id} is being enrolled right now: {bulk.done_rows} of "
                    f"{len(bulk.valid_rows)} rows done; its summary follows when it ends. If "
                    "the bot was stopped meanwhile, the import resumes by itself within a "
                    f"minute, or confirm it again after {BULK_LEASE.seconds} seconds."
                )
            bulk.state = BulkState.RUNNING
            bulk.confirmed_by = bulk.confirmed_by or actor
            bulk.lease_until = now + BULK_LEASE
            uow.bulk_imports.take(bulk.id, bulk.confirmed_by, bulk.lease_until)
        return self._enroll_all(bulk, progress)

    def resume_interrupted(self, limit: int = 10) -> int:
        """Resumes imports whose worker died mid-way (run by the scheduler); returns how many
        it finished. Another replica resuming the same one first is not an error."""
        with self.wiring.store.transaction() as uow:
            interrupted = uow.bulk_imports.interrupted(self.wiring.clock.now(), limit)
        finished = 0
        for bulk in interrupted:
            try:
                # authorised when it was confirmed: finishing it is the bot's own work
                self._confirm(bulk.id, bulk.confirmed_by or SYSTEM_ACTOR, None)
                finished += 1
            except Conflict:
                continue  # someone else took it over a moment ago
        return finished

    def _enroll_all(
        self, bulk: BulkImport, progress: Callable[[BulkProgress], None] | None
    ) -> BulkResult:
        actor = bulk.confirmed_by or SYSTEM_ACTOR
        total = len(bulk.valid_rows)
        link = self.wiring.invitation_url()
        listed_at = self._listed_at(bulk)
        finished = False
        try:
            for start in range(0, total, BULK_CHUNK):
                if start:
                    time.sleep(BULK_PAUSE)  # between chunks: other users' commands go first
                rows = bulk.valid_rows[start : start + BULK_CHUNK]
                self._enroll_chunk(bulk, rows, actor, link, listed_at)
                if progress:
                    progress(BulkProgress(bulk.id, min(start + BULK_CHUNK, total), total))
            finished = True
        finally:
            # Done when every row is settled; after an error, back to review: confirming
            # again enrolls the rest (the rows enrolled so far are recognised).
            bulk.state = BulkState.DONE if finished else BulkState.REVIEW
            bulk.lease_until = None
            with self.wiring.store.transaction() as uow:
                uow.bulk_imports.settle(bulk.id, bulk.enrolled, bulk.failed, bulk.state)
        self._announce_bulk(bulk, actor, len(bulk.enrolled))
        return self._bulk_result(bulk)

    def _listed_at(self, bulk: BulkImport) -> datetime:
        """One place in the lists for the whole import, its rows in the file's order: when
        it began enrolling (a resumed import keeps the place its first rows took)."""
        if bulk.enrolled:
            with self.wiring.store.transaction() as uow:
                first = uow.onboardings.get(bulk.enrolled[0])
            if first is not None and first.listed_at is not None:
                return first.listed_at
        return self.wiring.clock.now()

    def _enroll_chunk(
        self, bulk: BulkImport, rows: list[BulkRow], actor: Actor, link: str, listed_at: datetime
    ) -> None:
        """One transaction, a few multi-row statements per table: the rows were validated at
        review, so nothing here is per-row work but building the records, which is done
        before the transaction begins. While building, and between statements, a user's
        command in this process goes first (`step_aside`); on SQLite, once the transaction
        holds the write lock, only until that command wants the lock too."""
        now = self.wiring.clock.now()
        outcome: dict[int, str] = {}  # row -> onboarding id, for the rows enrolled
        failed: list[RowError] = []
        already = set(bulk.enrolled)
        fresh = self._build(bulk, rows, actor, link, listed_at, now)
        with self.wiring.store.transaction() as uow:
            # Insert first, look later: the partial unique index decides who gets a domain,
            # and only the rows it left out (normally none) cost a lookup.
            added = _add_all(uow, fresh)
            lost = [new.row for new in fresh if new.onboarding.id not in added]
            holders = uow.onboardings.open_by_domains([r.domain for r in lost]) if lost else {}
            unheld = [r for r in lost if r.domain not in holders]
            if unheld:  # its id was taken by chance (bot/ids.py), or the holder just closed
                again = self._build(bulk, unheld, actor, link, listed_at, now, row_ids=False)
                added |= _add_all(uow, again)
                fresh = [*fresh, *again]
                lost = [r for r in lost if r not in unheld] + [
                    new.row for new in again if new.onboarding.id not in added
                ]
                holders = uow.onboardings.open_by_domains([r.domain for r in lost])
            for r in lost:
                other = holders.get(r.domain)
                if other is not None and other.bulk_import_id == bulk.id:
                    if other.id not in already:  # enrolled by an earlier, cut-off run
                        outcome[r.row] = other.id
                else:
                    failed.append(self._taken(r, other, now))
            won = [new for new in fresh if new.onboarding.id in added]
            for part in in_turns(won, WRITE_TURN, uow.blocks_other_writers):
                uow.activities.append_all([new.activity for new in part])
            for part in in_turns(won, WRITE_TURN, uow.blocks_other_writers):
                uow.timers.schedule([t for new in part for t in new.timers])
            for part in in_turns(won, WRITE_TURN, uow.blocks_other_writers):
                uow.ledger.enqueue_all([new.invitation for new in part])
            outcome.update((new.row.row, new.onboarding.id) for new in won)
            settled_rows = {e.row for e in bulk.failed}
            now_enrolled = [*bulk.enrolled, *(outcome[r.row] for r in rows if r.row in outcome)]
            now_failed = [*bulk.failed, *(e for e in failed if e.row not in settled_rows)]
            # the progress commits with its rows, or neither
            uow.bulk_imports.progress(bulk.id, now_enrolled, now_failed, now + BULK_LEASE)
        bulk.enrolled, bulk.failed = now_enrolled, now_failed

    def _build(
        self,
        bulk: BulkImport,
        rows: list[BulkRow],
        actor: Actor,
        link: str,
        listed_at: datetime,
        now: datetime,
        *,
        row_ids: bool = True,
    ) -> list[NewCustomer]:
        """Every record a row's enrollment writes, before any is written (a row the unique
        index turns away costs its records and nothing else). With `row_ids` the onboarding
        ids follow the file's rows (`bot.ids.bulk_onboarding_id`); without, they are random."""
        built: list[NewCustomer] = []
        for i, r in enumerate(rows):
            if i % YIELD_EVERY == 0:
                step_aside()
            details = CustomerDetails(r.name, r.email, r.domain, r.country)
            ob, activity = new_onboarding(
                details,
                now,
                actor,
                bulk_import_id=bulk.id,
                bulk_row=r.row,
                listed_at=listed_at,
                onboarding_id=bulk_onboarding_id(bulk.id, r.row) if row_ids else None,
            )
            invitation = mail_delivery(
                keys.invitation_mail(ob.id),
                mails.reseller_invitation(ob, self.wiring.partner_name, link),
                now,
            )
            timers = timers_for(activity, ob, self.wiring.sync_after)
            built.append(NewCustomer(r, ob, activity, timers, invitation))
        return built

    @staticmethod
    def _taken(r: BulkRow, holder: Onboarding | None, now: datetime) -> RowError:
        """The report line of a row whose domain another open onboarding holds."""
        if holder is None:  # it held the domain a moment ago and has been closed since
            reason = f"{r.domain} was being enrolled by someone else; upload the row again."
        else:
            reason = already_enrolled(holder, now)
        return RowError(r.row, COLUMN_TITLES["domain"], reason)

    def _bulk_result(self, bulk: BulkImport) -> BulkResult:
        enrolled_ids = set(bulk.enrolled)
        failed_rows = {e.row for e in bulk.failed}
        holders: dict[str, str] = {}
        domains = [r.domain for r in bulk.valid_rows]
        with self.wiring.store.transaction() as uow:
            for start in range(0, len(domains), BULK_CHUNK):
                step_aside()  # a read: nobody waits for it
                holders.update(uow.onboardings.holders(domains[start : start + BULK_CHUNK]))
        enrolled = tuple(
            (r.row, r.name, r.domain)
            for r in bulk.valid_rows
            if r.row not in failed_rows and holders.get(r.domain) in enrolled_ids
        )
        problems = sorted([*bulk.errors, *bulk.failed], key=lambda e: e.row)
        return BulkResult(
            bulk.id, enrolled, tuple(RowProblem(e.row, e.column, e.reason) for e in problems)
        )

    def _announce_bulk(self, bulk: BulkImport, actor: Actor, count: int) -> None:
        """One notice for a whole bulk import, rather than one per customer."""
        if not count:
            return
        now = self.wiring.clock.now()
        activity = Activity(
            "",
            now,
            actor,
            ActivityKind.BULK_ENROLLED,
            f"{count} customers enrolled from {bulk.filename} by {actor.label}.",
        )
        with self.wiring.store.transaction() as uow:
            for s in uow.subscriptions.all():
                if s.level is NoticeLevel.ALL:
                    uow.ledger.enqueue(
                        Delivery(
                            keys.bulk_notice(bulk.id, s.platform, s.destination),
                            s.platform,
                            notice_payload(activity, None, s.destination).to_json(),
                            now,
                        )
                    )


def _add_all(uow: UnitOfWork, built: list[NewCustomer]) -> set[str]:
    """The onboardings inserted, by id; the others lost their domain or their id."""
    added: set[str] = set()
    for part in in_turns(built, WRITE_TURN, uow.blocks_other_writers):
        added |= uow.onboardings.add_new([new.onboarding for new in part])
    return added
