"""`bot.ports.Store` over SQLAlchemy Core: each use case runs in one `SqlTransaction`.

`bot/` only ever sees its own dataclasses; the rows stay here. Writers are serialised by
the database itself (row locks on PostgreSQL, the single write lock on SQLite), and every
save checks the version it read, so no update is ever silently lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Insert,
    Select,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import NestedTransaction
from sqlalchemy.exc import IntegrityError

from bot.domain import Activity, Onboarding, OverallStatus
from bot.errors import Conflict, NotFound
from bot.ports import (
    BulkImport,
    Delivery,
    DeliveryState,
    DigestSubscription,
    KnownPartner,
    Subscription,
    Timer,
    TimerKind,
    TimerState,
)
from storage.database import fold_case, is_sqlite
from storage.mapping import (
    activity_values,
    bulk_values,
    digest_values,
    onboarding_values,
    subscription_values,
    timer_values,
    to_activity,
    to_bulk,
    to_delivery,
    to_digest,
    to_onboarding,
    to_partner,
    to_subscription,
    to_timer,
)
from storage.models import (
    ActivityRow,
    BulkImportRow,
    DeliveryRow,
    DigestRow,
    OnboardingRow,
    PartnerRow,
    SubscriptionRow,
    TimerRow,
)
from storage.transactions import TransactionScope, current_scope, new_scope

# Literal (not bound) values, so PostgreSQL can match the partial indexes' predicates.
IS_OPEN = OnboardingRow.lifecycle == literal_column("'open'")
IS_PENDING = DeliveryRow.state == literal_column("'pending'")
TIMER_PENDING = TimerRow.state == literal_column("'pending'")
LIKE_ESCAPE = "/"
IN_CHUNK = 500  # values per IN (...) list, well under both databases' parameter limits


def like_pattern(text: str) -> str:
    """A LIKE pattern that matches `text` anywhere, with its own % and _ taken literally."""
    escaped = (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


class SqlStore:
    """The store; build it once per engine, after `storage.migrate.upgrade`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        """Commits when the block ends cleanly, rolls back when it raises.

        Opened while this thread already has one open on the same engine, it joins that
        one (its writes in a savepoint) and commits with it: a second connection would
        wait on the first one's locks for ever (PostgreSQL) or for the busy timeout (SQLite).
        """
        scope = current_scope(self.engine)
        if scope is None:
            with new_scope(self.engine) as own:
                yield SqlTransaction(own)
            return
        tx = SqlTransaction(scope, nested=True)
        try:
            yield tx
        except BaseException:
            tx._end_savepoint(commit=False)
            raise
        tx._end_savepoint(commit=True)


class SqlTransaction:
    """Implements `bot.ports.Transaction`; see there for what each method promises."""

    def __init__(self, scope: TransactionScope, *, nested: bool = False) -> None:
        self._scope = scope
        self._nested = nested
        self._savepoint: NestedTransaction | None = None

    def _conn(self, *, write: bool = False) -> Connection:
        conn = self._scope.connection(write=write)
        if write and self._nested and self._savepoint is None:
            self._savepoint = conn.begin_nested()
        return conn

    def _end_savepoint(self, *, commit: bool) -> None:
        if self._savepoint is not None and self._savepoint.is_active:
            if commit:
                self._savepoint.commit()
            else:
                self._savepoint.rollback()
        self._savepoint = None

    def _insert(self, conn: Connection, table: Any) -> Insert:
        dialect_insert = sqlite.insert if is_sqlite(conn) else postgresql.insert
        return dialect_insert(table)

    # -- onboardings ---------------------------------------------------------------------

    def get(self, onboarding_id: str, *, for_update: bool = False) -> Onboarding | None:
        stmt = select(OnboardingRow).where(OnboardingRow.id == onboarding_id)
        if for_update:
            stmt = stmt.with_for_update()  # SQLite: already serialised by BEGIN IMMEDIATE
        row = self._conn(write=for_update).execute(stmt).first()
        return to_onboarding(row) if row else None

    def find(self, reference: str) -> list[Onboarding]:
        """Open onboardings matching by id, else by domain, else by name: the first kind
        that matches wins, so a name that happens to equal another's id cannot shadow it."""
        ref = (reference or "").strip()
        if not ref:
            return []
        conn = self._conn()
        for condition in (
            OnboardingRow.id == ref,
            func.lower(OnboardingRow.domain) == ref.lower(),
            fold_case(OnboardingRow.name) == fold_case(literal(ref)),
        ):
            rows = conn.execute(
                select(OnboardingRow)
                .where(IS_OPEN, condition)
                .order_by(OnboardingRow.enrolled_at, OnboardingRow.id)
            ).all()
            if rows:
                return [to_onboarding(row) for row in rows]
        return []

    def open_by_domains(self, domains: list[str]) -> dict[str, Onboarding]:
        """Keyed by the domains as given; domains compare case-insensitively."""
        wanted: dict[str, list[str]] = {}
        for domain in domains:
            wanted.setdefault(domain.lower(), []).append(domain)
        found: dict[str, Onboarding] = {}
        conn = self._conn()
        for chunk in _chunks(list(wanted), IN_CHUNK):
            stmt = select(OnboardingRow).where(IS_OPEN, func.lower(OnboardingRow.domain).in_(chunk))
            for row in conn.execute(stmt):
                ob = to_onboarding(row)
                for given in wanted.get(ob.domain.lower(), []):
                    found[given] = ob
        return found

    def add(self, onboarding: Onboarding) -> None:
        """Raises `Conflict` naming the customer that already holds the domain, if any."""
        conn = self._conn(write=True)
        stmt = insert(OnboardingRow).values(
            **onboarding_values(onboarding), version=onboarding.version
        )
        try:
            with conn.begin_nested():  # the caller's transaction stays usable
                conn.execute(stmt)
        except IntegrityError:
            holder = self.open_by_domains([onboarding.domain]).get(onboarding.domain)
            if onboarding.is_open and holder is not None and holder.id != onboarding.id:
                raise Conflict(
                    f"{holder.domain} is already in onboarding as {holder.name} (id {holder.id})."
                ) from None
            if self.get(onboarding.id) is not None:
                raise Conflict(f"An onboarding with id {onboarding.id} already exists.") from None
            raise

    def save(self, onboarding: Onboarding) -> None:
        """Writes only if the row still has the version `onboarding` was read at, then
        moves `onboarding.version` on, so the same object can be saved again."""
        conn = self._conn(write=True)
        values = onboarding_values(onboarding)
        del values["id"]
        result = conn.execute(
            update(OnboardingRow)
            .where(OnboardingRow.id == onboarding.id, OnboardingRow.version == onboarding.version)
            .values(**values, version=onboarding.version + 1)
        )
        if result.rowcount == 1:
            onboarding.version += 1
            return
        if self.get(onboarding.id) is None:
            raise NotFound(f"There is no onboarding {onboarding.id} to save.")
        raise Conflict(f"{onboarding.name} was changed by someone else; reload and try again.")

    def page(
        self, status: OverallStatus | None, search: str | None, offset: int, limit: int
    ) -> tuple[list[Onboarding], int]:
        conditions: list[Any] = [IS_OPEN]
        if status is not None:
            conditions.append(OnboardingRow.overall_status == status.value)
        if search and search.strip():
            pattern = fold_case(literal(like_pattern(search.strip())))
            conditions.append(fold_case(OnboardingRow.name).like(pattern, escape=LIKE_ESCAPE))
        conn = self._conn()
        total = conn.execute(
            select(func.count()).select_from(OnboardingRow).where(*conditions)
        ).scalar_one()
        rows = conn.execute(
            select(OnboardingRow)
            .where(*conditions)
            .order_by(OnboardingRow.enrolled_at.desc(), OnboardingRow.id.desc())
            .offset(max(offset, 0))
            .limit(max(limit, 0))
        ).all()
        return [to_onboarding(row) for row in rows], total

    def counts(self) -> dict[OverallStatus, int]:
        counts = dict.fromkeys(OverallStatus, 0)
        stmt = (
            select(OnboardingRow.overall_status, func.count())
            .where(IS_OPEN)
            .group_by(OnboardingRow.overall_status)
        )
        for status, count in self._conn().execute(stmt):
            counts[OverallStatus(status)] = count
        return counts

    def gdap_name_taken(self, name: str) -> bool:
        """Across every onboarding, closed ones too: Microsoft keeps the old relationships."""
        condition = fold_case(OnboardingRow.gdap_relationship_name) == fold_case(
            literal(name.strip())
        )
        return bool(self._conn().execute(select(exists().where(condition))).scalar())

    # -- activity log ----------------------------------------------------------------------

    def append(self, activity: Activity) -> None:
        self._conn(write=True).execute(insert(ActivityRow).values(**activity_values(activity)))

    def activities(self, onboarding_id: str, limit: int | None = None) -> list[Activity]:
        stmt = select(ActivityRow).where(ActivityRow.onboarding_id == onboarding_id)
        if limit is None:
            rows = self._conn().execute(stmt.order_by(ActivityRow.at, ActivityRow.seq)).all()
        else:
            rows = (
                self._conn()
                .execute(
                    stmt.order_by(ActivityRow.at.desc(), ActivityRow.seq.desc()).limit(
                        max(limit, 0)
                    )
                )
                .all()
            )
            rows.reverse()
        return [to_activity(row) for row in rows]

    # -- known partners --------------------------------------------------------------------

    def known_partners(self) -> list[KnownPartner]:
        stmt = select(PartnerRow).order_by(fold_case(PartnerRow.name), PartnerRow.tenant_id)
        return [to_partner(row) for row in self._conn().execute(stmt)]

    def remember_partner(self, partner: KnownPartner) -> None:
        """The latest name and email given for a tenant win."""
        conn = self._conn(write=True)
        stmt = self._insert(conn, PartnerRow).values(
            tenant_id=partner.tenant_id, name=partner.name, email=partner.email
        )
        conn.execute(
            stmt.on_conflict_do_update(  # type: ignore[attr-defined]
                index_elements=[PartnerRow.tenant_id],
                set_={"name": partner.name, "email": partner.email},
            )
        )

    # -- bulk imports ----------------------------------------------------------------------

    def add_bulk_import(self, bulk: BulkImport) -> None:
        self._conn(write=True).execute(insert(BulkImportRow).values(**bulk_values(bulk)))

    def get_bulk_import(self, import_id: str, *, for_update: bool = False) -> BulkImport | None:
        stmt: Select[Any] = select(BulkImportRow).where(BulkImportRow.id == import_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = self._conn(write=for_update).execute(stmt).first()
        return to_bulk(row) if row else None

    def save_bulk_import(self, bulk: BulkImport) -> None:
        values = bulk_values(bulk)
        del values["id"]
        result = self._conn(write=True).execute(
            update(BulkImportRow).where(BulkImportRow.id == bulk.id).values(**values)
        )
        if result.rowcount != 1:
            raise NotFound(f"There is no bulk import {bulk.id} to save.")

    # -- notice subscriptions --------------------------------------------------------------

    def subscriptions(self) -> list[Subscription]:
        """In the order they were made."""
        stmt = select(SubscriptionRow).order_by(SubscriptionRow.id)
        return [to_subscription(row) for row in self._conn().execute(stmt)]

    def save_subscription(self, subscription: Subscription) -> None:
        """Replaces the level, label, author and time of one for the same destination."""
        conn = self._conn(write=True)
        values = subscription_values(subscription)
        stmt = self._insert(conn, SubscriptionRow).values(**values)
        conn.execute(
            stmt.on_conflict_do_update(  # type: ignore[attr-defined]
                index_elements=[SubscriptionRow.platform, SubscriptionRow.destination],
                set_={k: v for k, v in values.items() if k not in ("platform", "destination")},
            )
        )

    def remove_subscription(self, platform: str, destination: str) -> bool:
        """False when there was none."""
        result = self._conn(write=True).execute(
            delete(SubscriptionRow).where(
                SubscriptionRow.platform == platform, SubscriptionRow.destination == destination
            )
        )
        return result.rowcount > 0

    # -- the delivery ledger ---------------------------------------------------------------

    def enqueue(self, delivery: Delivery) -> bool:
        conn = self._conn(write=True)
        stmt = self._insert(conn, DeliveryRow).values(
            key=delivery.key,
            channel=delivery.channel,
            payload=delivery.payload,
            onboarding_id=delivery.onboarding_id,
            state=delivery.state.value,
            attempts=delivery.attempts,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            next_attempt_at=delivery.created_at,
        )
        new_id = conn.execute(
            stmt.on_conflict_do_nothing(index_elements=[DeliveryRow.key]).returning(DeliveryRow.id)  # type: ignore[attr-defined]
        ).scalar_one_or_none()
        if new_id is None:
            return False
        delivery.id = new_id
        return True

    def claim_deliveries(
        self, now: datetime, limit: int, lease_seconds: int, channels: list[str] | None = None
    ) -> list[Delivery]:
        """Oldest first. On PostgreSQL rows another sender is claiming are skipped, not
        waited for; on SQLite claims are serialised by the write lock."""
        if limit <= 0 or channels == []:
            return []
        conn = self._conn(write=True)
        stmt = select(DeliveryRow).where(
            IS_PENDING,
            DeliveryRow.next_attempt_at <= now,
            (DeliveryRow.claimed_until.is_(None)) | (DeliveryRow.claimed_until < now),
        )
        if channels is not None:
            stmt = stmt.where(DeliveryRow.channel.in_(channels))
        stmt = stmt.order_by(DeliveryRow.created_at, DeliveryRow.id).limit(limit)
        if not is_sqlite(conn):
            stmt = stmt.with_for_update(skip_locked=True)
        rows = conn.execute(stmt).all()
        if not rows:
            return []
        until = now + timedelta(seconds=lease_seconds)
        ids = [row.id for row in rows]
        conn.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id.in_(ids))
            .values(claimed_until=until, attempts=DeliveryRow.attempts + 1)
        )
        claimed = [to_delivery(row) for row in rows]
        for delivery in claimed:
            delivery.attempts += 1
        return claimed

    def mark_delivered(self, delivery_id: int, at: datetime) -> None:
        self._mark(
            delivery_id,
            state=DeliveryState.SENT.value,
            sent_at=at,
            last_attempt_at=at,
            claimed_until=None,
        )

    def mark_delivery_failed(
        self, delivery_id: int, at: datetime, error: str, retry_at: datetime | None
    ) -> None:
        """`retry_at` None gives up for good; otherwise the delivery waits until then."""
        values: dict[str, Any] = {"last_error": error, "last_attempt_at": at, "claimed_until": None}
        if retry_at is None:
            values["state"] = DeliveryState.FAILED.value
        else:
            values["next_attempt_at"] = retry_at
        self._mark(delivery_id, **values)

    def defer_delivery(self, delivery_id: int, until: datetime) -> None:
        """Untried: the attempt the claim counted is given back."""
        self._mark(
            delivery_id,
            next_attempt_at=until,
            claimed_until=None,
            attempts=DeliveryRow.attempts - 1,
        )

    def _mark(self, delivery_id: int, **values: Any) -> None:
        result = self._conn(write=True).execute(
            update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(**values)
        )
        if result.rowcount != 1:
            raise NotFound(f"There is no delivery {delivery_id} in the ledger.")

    # -- due work: timers ------------------------------------------------------------------

    def schedule(self, timers: list[Timer]) -> None:
        """One multi-row insert for the new ones (a bulk enrollment writes thousands)."""
        if not timers:
            return
        conn = self._conn(write=True)
        now = datetime.now(UTC)
        keep = [t for t in timers if not t.replace]
        for chunk in _chunks(keep, IN_CHUNK // 5):
            stmt = self._insert(conn, TimerRow).values(
                [{**timer_values(t), "created_at": now} for t in chunk]
            )
            conn.execute(
                stmt.on_conflict_do_nothing(  # type: ignore[attr-defined]
                    index_elements=[TimerRow.key]
                )
            )
        for timer in (t for t in timers if t.replace):
            stmt = self._insert(conn, TimerRow).values(**timer_values(timer), created_at=now)
            conn.execute(
                stmt.on_conflict_do_update(  # type: ignore[attr-defined]
                    index_elements=[TimerRow.key],
                    set_={
                        "due_at": timer.due_at,
                        "state": TimerState.PENDING.value,
                        "claimed_until": None,
                        "finished_at": None,
                    },
                )
            )

    def claim_timers(self, now: datetime, limit: int, lease_seconds: int) -> list[Timer]:
        """Earliest first, through the partial index on pending `due_at`; on PostgreSQL rows
        another worker is claiming are skipped, not waited for."""
        if limit <= 0:
            return []
        conn = self._conn(write=True)
        stmt = (
            select(TimerRow)
            .where(
                TIMER_PENDING,
                TimerRow.due_at <= now,
                TimerRow.claimed_until.is_(None) | (TimerRow.claimed_until < now),
            )
            .order_by(TimerRow.due_at, TimerRow.id)
            .limit(limit)
        )
        if not is_sqlite(conn):
            stmt = stmt.with_for_update(skip_locked=True)
        rows = conn.execute(stmt).all()
        if not rows:
            return []
        conn.execute(
            update(TimerRow)
            .where(TimerRow.id.in_([r.id for r in rows]))
            .values(
                claimed_until=now + timedelta(seconds=lease_seconds), attempts=TimerRow.attempts + 1
            )
        )
        claimed = [to_timer(row) for row in rows]
        for timer in claimed:
            timer.attempts += 1
        return claimed

    def timers_of(self, onboarding_id: str, kind: TimerKind) -> list[Timer]:
        stmt = (
            select(TimerRow)
            .where(TimerRow.onboarding_id == onboarding_id, TimerRow.kind == kind.value)
            .order_by(TimerRow.due_at, TimerRow.id)
        )
        return [to_timer(row) for row in self._conn().execute(stmt)]

    def finish_timer(
        self, timer_id: int, state: TimerState, at: datetime, outcome: str = ""
    ) -> None:
        self._set_timer(
            timer_id, state=state.value, finished_at=at, claimed_until=None, outcome=outcome or None
        )

    def reschedule_timer(self, timer_id: int, due_at: datetime) -> None:
        self._set_timer(
            timer_id,
            state=TimerState.PENDING.value,
            due_at=due_at,
            claimed_until=None,
            finished_at=None,
        )

    def _set_timer(self, timer_id: int, **values: Any) -> None:
        result = self._conn(write=True).execute(
            update(TimerRow).where(TimerRow.id == timer_id).values(**values)
        )
        if result.rowcount != 1:
            raise NotFound(f"There is no timer {timer_id}.")

    # -- what a digest reports ---------------------------------------------------------------

    def enrolled_since(self, since: datetime, limit: int) -> tuple[list[Onboarding], int]:
        condition = (IS_OPEN, OnboardingRow.enrolled_at >= since)
        conn = self._conn()
        total = conn.execute(
            select(func.count()).select_from(OnboardingRow).where(*condition)
        ).scalar_one()
        rows = conn.execute(
            select(OnboardingRow)
            .where(*condition)
            .order_by(OnboardingRow.enrolled_at, OnboardingRow.id)
            .limit(max(limit, 0))
        ).all()
        return [to_onboarding(row) for row in rows], total

    def stalled(self, started_before: datetime, limit: int) -> list[Onboarding]:
        o = OnboardingRow
        condition = (
            ((o.reseller_status == "In Progress") & (o.reseller_started_at < started_before))
            | ((o.gdap_status == "In Progress") & (o.gdap_started_at < started_before))
            | ((o.p2p_status == "Pending") & (o.p2p_started_at < started_before))
        )
        rows = (
            self._conn()
            .execute(
                select(o)
                .where(IS_OPEN, condition)
                .order_by(o.enrolled_at, o.id)
                .limit(max(limit, 0))
            )
            .all()
        )
        return [to_onboarding(row) for row in rows]

    def expiring(
        self, p2p_sent_before: datetime, gdap_ends_before: datetime, limit: int
    ) -> list[Onboarding]:
        o = OnboardingRow
        condition = ((o.p2p_status == "Pending") & (o.p2p_sent_at < p2p_sent_before)) | (
            (o.gdap_status == "Established") & (o.gdap_ends_at < gdap_ends_before)
        )
        rows = (
            self._conn()
            .execute(
                select(o)
                .where(IS_OPEN, condition)
                .order_by(o.enrolled_at, o.id)
                .limit(max(limit, 0))
            )
            .all()
        )
        return [to_onboarding(row) for row in rows]

    # -- digest subscriptions ----------------------------------------------------------------

    def get_digest(self, platform: str, destination: str) -> DigestSubscription | None:
        row = (
            self._conn()
            .execute(
                select(DigestRow).where(
                    DigestRow.platform == platform, DigestRow.destination == destination
                )
            )
            .first()
        )
        return to_digest(row) if row else None

    def save_digest(self, digest: DigestSubscription) -> DigestSubscription:
        """A new schedule keeps what the last digest said, so the next one still reports the
        change since then."""
        conn = self._conn(write=True)
        values = digest_values(digest)
        keep = ("platform", "destination", "last_sent_at", "last_counts")
        stmt = self._insert(conn, DigestRow).values(**values)
        digest.id = conn.execute(
            stmt.on_conflict_do_update(  # type: ignore[attr-defined]
                index_elements=[DigestRow.platform, DigestRow.destination],
                set_={k: v for k, v in values.items() if k not in keep},
            ).returning(DigestRow.id)
        ).scalar_one()
        return digest

    def remove_digest(self, platform: str, destination: str) -> bool:
        result = self._conn(write=True).execute(
            delete(DigestRow).where(
                DigestRow.platform == platform, DigestRow.destination == destination
            )
        )
        return result.rowcount > 0

    def claim_due_digest(self, now: datetime) -> DigestSubscription | None:
        conn = self._conn(write=True)
        stmt = (
            select(DigestRow)
            .where(DigestRow.next_due_at <= now)
            .order_by(DigestRow.next_due_at, DigestRow.id)
            .limit(1)
        )
        if not is_sqlite(conn):
            stmt = stmt.with_for_update(skip_locked=True)
        row = conn.execute(stmt).first()
        return to_digest(row) if row else None

    def digest_sent(
        self, digest_id: int, at: datetime, counts: dict[str, int], next_due_at: datetime | None
    ) -> None:
        values: dict[str, Any] = {"last_sent_at": at, "last_counts": dict(counts)}
        if next_due_at is not None:
            values["next_due_at"] = next_due_at
        self._conn(write=True).execute(
            update(DigestRow).where(DigestRow.id == digest_id).values(**values)
        )


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
