"""Onboardings and their activity log: the customer grid, lookups by name, domain or id, and
the optimistic version check that keeps two writers from losing each other's change."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    bindparam,
    case,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError

from bot.domain import (
    P2P_LIFETIME,
    Activity,
    ActivityKind,
    GdapStatus,
    Lifecycle,
    Onboarding,
    OverallStatus,
    P2PStatus,
    ResellerStatus,
)
from bot.errors import Conflict, NotFound
from bot.records import ActivityTally
from bot.steps import Step
from storage.database import fold_case
from storage.mapping import activity_values, onboarding_values, to_activity, to_onboarding
from storage.models import LIST_ORDER, ActivityRow, OnboardingRow
from storage.search import search_condition
from storage.sql import IN_CHUNK, IS_OPEN, SqlRepository, chunks, present

OPEN_BY_ID_LIMIT = 100  # one tenant is onboarded once; a relationship or transfer belongs to one
# The dashboard's counts (`SqlOnboardings.counts`), built once: the statement has no
# parameters, and building it took a third of the Python time of reading the counts.
_COUNTS = select(
    *(
        select(func.count())
        .select_from(OnboardingRow)
        .where(IS_OPEN, OnboardingRow.c.overall_status == literal_column(f"'{status.value}'"))
        .scalar_subquery()
        .label(status.name.lower())
        for status in OverallStatus
    )
)


def _list_conditions(status: OverallStatus | None, lifecycle: Lifecycle | None) -> list[Any]:
    """Open onboardings (or closed ones, `lifecycle`; None: all), of `status` if given."""
    o = OnboardingRow.c
    conditions: list[Any] = []
    if lifecycle is Lifecycle.OPEN:
        conditions.append(IS_OPEN)
    elif lifecycle is not None:
        conditions.append(o.lifecycle == lifecycle.value)
    if status is not None:
        conditions.append(o.overall_status == status.value)
    return conditions


def _listing(conditions: tuple[Any, ...], lifecycle: Lifecycle | None) -> Select[Any]:
    """A page of a list, its offset and limit the parameters `offset` and `limit`."""
    o = OnboardingRow
    if lifecycle is Lifecycle.OPEN:
        order: tuple[Any, ...] = LIST_ORDER
    elif lifecycle is None:  # a search: open customers first, then the closed ones
        order = (case((IS_OPEN, 0), else_=1), *LIST_ORDER)
    else:  # finished or cancelled: the newest closed first
        order = (o.c.closed_at.desc(), o.c.id.desc())
    return (
        select(o)
        .where(*conditions)
        .order_by(*order)
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    )


@functools.cache
def _list_page(status: OverallStatus | None, lifecycle: Lifecycle | None) -> Select[Any]:
    """A list's page statement, built once per list: building it and its cache key on
    every `status` cost more than running it."""
    return _listing(tuple(_list_conditions(status, lifecycle)), lifecycle)


class SqlOnboardings(SqlRepository):
    """Implements `bot.ports.OnboardingRepository`."""

    def get(self, onboarding_id: str, *, for_update: bool = False) -> Onboarding | None:
        stmt = select(OnboardingRow).where(OnboardingRow.c.id == onboarding_id)
        if for_update:
            stmt = stmt.with_for_update()  # SQLite: already serialised by BEGIN IMMEDIATE
        row = self._conn(write=for_update).execute(stmt).first()
        return to_onboarding(row) if row else None

    def get_many(
        self, onboarding_ids: list[str], *, for_update: bool = False
    ) -> dict[str, Onboarding]:
        """One query per `IN_CHUNK` ids. Locked rows are taken in id order, so two workers
        locking overlapping sets wait for each other instead of deadlocking."""
        found: dict[str, Onboarding] = {}
        conn = self._conn(write=for_update)
        for chunk in chunks(sorted(set(onboarding_ids)), IN_CHUNK):
            stmt = select(OnboardingRow).where(OnboardingRow.c.id.in_(chunk))
            if for_update:
                stmt = stmt.order_by(OnboardingRow.c.id).with_for_update()
            for row in conn.execute(stmt):
                found[row.id] = to_onboarding(row)
        return found

    def find(self, reference: str, *, include_closed: bool = False) -> list[Onboarding]:
        """Onboardings matching by id, else by domain, else by name: the first kind that
        matches wins, so a name that happens to equal another's id cannot shadow it. Open
        ones only, unless `include_closed` (then open ones first, then the newest closed)."""
        ref = (reference or "").strip()
        if not ref:
            return []
        o = OnboardingRow
        conn = self._conn()
        for condition in (
            o.c.id == ref,
            func.lower(o.c.domain) == ref.lower(),
            fold_case(o.c.name) == fold_case(literal(ref)),
        ):
            stmt = select(o).where(condition)
            if include_closed:
                stmt = stmt.order_by(
                    case((IS_OPEN, 0), else_=1), o.c.closed_at.desc(), o.c.enrolled_at, o.c.id
                )
            else:
                stmt = stmt.where(IS_OPEN).order_by(o.c.enrolled_at, o.c.id)
            rows = conn.execute(stmt).all()
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
        for chunk in chunks(list(wanted), IN_CHUNK):
            stmt = select(OnboardingRow).where(
                IS_OPEN, func.lower(OnboardingRow.c.domain).in_(chunk)
            )
            for row in conn.execute(stmt):
                ob = to_onboarding(row)
                for given in wanted.get(ob.domain.lower(), []):
                    found[given] = ob
        return found

    def open_by_microsoft_ids(
        self,
        *,
        tenant_id: str | None = None,
        relationship_id: str | None = None,
        transfer_id: str | None = None,
    ) -> list[Onboarding]:
        o = OnboardingRow
        conditions = [
            func.lower(column) == value.strip().lower()
            for column, value in (
                (o.c.customer_tenant_id, tenant_id),
                (o.c.gdap_relationship_id, relationship_id),
                (o.c.p2p_transfer_id, transfer_id),
            )
            if value and value.strip()
        ]
        if not conditions:
            return []
        return self._open_where(or_(*conditions), OPEN_BY_ID_LIMIT)

    def open_without_tenant(self, limit: int) -> list[Onboarding]:
        o = OnboardingRow
        rows = self._conn().execute(
            select(o)
            .where(
                IS_OPEN,
                o.c.reseller_status == ResellerStatus.IN_PROGRESS.value,
                o.c.customer_tenant_id.is_(None),
            )
            .order_by(o.c.enrolled_at.desc(), o.c.id.desc())
            .limit(max(limit, 0))
        )
        return [to_onboarding(row) for row in rows]

    def holders(self, domains: list[str]) -> dict[str, str]:
        """The id of the open onboarding holding each of the domains, keyed by the domains as
        given: two columns through the partial unique index, for thousands at a time."""
        wanted: dict[str, list[str]] = {}
        for domain in domains:
            wanted.setdefault(domain.lower(), []).append(domain)
        found: dict[str, str] = {}
        conn = self._conn()
        for chunk in chunks(list(wanted), IN_CHUNK):
            key = func.lower(OnboardingRow.c.domain)
            stmt = select(key, OnboardingRow.c.id).where(IS_OPEN, key.in_(chunk))
            for domain, onboarding_id in conn.execute(stmt):
                for given in wanted.get(domain, []):
                    found[given] = onboarding_id
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

    def add_new(self, onboardings: list[Onboarding]) -> set[str]:
        """Inserts them all in one multi-row statement that skips, rather than fails on, a row
        whose domain an open onboarding holds: the partial unique index decides, so two
        writers racing for one domain cannot both win, and no savepoint per row is needed.
        Returns the ids inserted; the others lost their domain to an open onboarding, or their
        id was there already."""
        if not onboardings:
            return set()
        conn = self._conn(write=True)
        skip_taken = self._insert(conn, OnboardingRow).on_conflict_do_nothing()
        # An id may be there already (a resumed import's own row, bot/ids.py): such a row
        # was not inserted now, so the ids present before the statement never count. (Two
        # writers inserting one id at once would both count it: two workers of one import,
        # which its lease keeps from running together.)
        there_before = present(conn, OnboardingRow.c.id, [ob.id for ob in onboardings])
        conn.execute(
            skip_taken, [{**onboarding_values(ob), "version": ob.version} for ob in onboardings]
        )
        # Which went in, by their ids: a RETURNING would send the rows as one statement of
        # many VALUES, which PostgreSQL parses far slower than the driver's pipelined
        # executemany (measured: a 10,000-row import 40 % slower); lookups by primary key
        # are cheaper.
        fresh = [ob.id for ob in onboardings if ob.id not in there_before]
        return present(conn, OnboardingRow.c.id, fresh)

    def save(self, onboarding: Onboarding) -> None:
        """Writes only if the row still has the version `onboarding` was read at, then
        moves `onboarding.version` on, so the same object can be saved again."""
        conn = self._conn(write=True)
        values = onboarding_values(onboarding)
        del values["id"]
        result = conn.execute(
            update(OnboardingRow)
            .where(
                OnboardingRow.c.id == onboarding.id, OnboardingRow.c.version == onboarding.version
            )
            .values(**values, version=onboarding.version + 1)
        )
        if result.rowcount == 1:
            onboarding.version += 1
            return
        if self.get(onboarding.id) is None:
            raise NotFound(f"There is no onboarding {onboarding.id} to save.")
        raise Conflict(f"{onboarding.name} was changed by someone else; reload and try again.")

    def touch_all(self, onboardings: list[Onboarding]) -> None:
        """One executemany of three values a row, not every column as `save` writes."""
        if not onboardings:
            return
        stmt = (
            update(OnboardingRow)
            .where(
                OnboardingRow.c.id == bindparam("_id"),
                OnboardingRow.c.version == bindparam("_version"),
            )
            .values(version=bindparam("version"))
        )
        rows = [
            {"_id": ob.id, "_version": ob.version, "version": ob.version + 1} for ob in onboardings
        ]
        result = self._conn(write=True).execute(stmt, rows)
        if result.rowcount != len(rows):
            raise Conflict(
                f"{len(rows) - result.rowcount} of {len(rows)} onboardings were changed by "
                "someone else; reload and try again."
            )
        for ob in onboardings:
            ob.version += 1

    def page(
        self,
        status: OverallStatus | None,
        search: str | None,
        offset: int,
        limit: int,
        *,
        lifecycle: Lifecycle | None = Lifecycle.OPEN,
        known_total: int | None = None,
    ) -> tuple[list[Onboarding], int]:
        conn = self._conn()
        conditions = _list_conditions(status, lifecycle)
        if search and search.strip():
            conditions.append(search_condition(conn, search.strip()))
            stmt = _listing(tuple(conditions), lifecycle)
        else:
            stmt = _list_page(status, lifecycle)
        total = (
            known_total
            if known_total is not None
            else conn.execute(
                select(func.count()).select_from(OnboardingRow).where(*conditions)
            ).scalar_one()
        )
        rows = conn.execute(stmt, {"offset": max(offset, 0), "limit": max(limit, 0)}).all()
        return [to_onboarding(row) for row in rows], total

    def counts(self) -> dict[OverallStatus, int]:
        """One statement, one count per status: each counts a range of the dashboard index
        (lifecycle, overall_status, …), which both databases do without reading rows; a
        GROUP BY walked every open onboarding and grouped them, 1.7x the time at 100,000."""
        row = self._conn().execute(_COUNTS).one()
        return {status: int(count) for status, count in zip(OverallStatus, row, strict=True)}

    def batch_after(
        self,
        lifecycle: Lifecycle | None,
        status: OverallStatus | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Onboarding]:
        o = OnboardingRow
        conditions = _list_conditions(status, lifecycle)
        if after is not None:
            at, last_id = after
            # A row-value comparison, so both databases seek the index to the previous
            # batch's last row (an OR of the two cases is a filter over every newer row).
            key = tuple_(literal(at, o.c.enrolled_at.type), literal(last_id, o.c.id.type))
            conditions.append(tuple_(o.c.enrolled_at, o.c.id) < key)
        rows = self._conn().execute(
            select(o)
            .where(*conditions)
            .order_by(o.c.enrolled_at.desc(), o.c.id.desc())
            .limit(max(limit, 0))
        )
        return [to_onboarding(row) for row in rows]

    def count_where(self, lifecycle: Lifecycle | None, status: OverallStatus | None) -> int:
        stmt = select(func.count()).select_from(OnboardingRow)
        return int(
            self._conn().execute(stmt.where(*_list_conditions(status, lifecycle))).scalar_one()
        )

    def enrolled_since(self, since: datetime, limit: int) -> tuple[list[Onboarding], int]:
        condition = (IS_OPEN, OnboardingRow.c.enrolled_at >= since)
        conn = self._conn()
        total = conn.execute(
            select(func.count()).select_from(OnboardingRow).where(*condition)
        ).scalar_one()
        rows = conn.execute(
            select(OnboardingRow)
            .where(*condition)
            .order_by(
                OnboardingRow.c.enrolled_at,
                OnboardingRow.c.bulk_row.asc().nulls_first(),
                OnboardingRow.c.id,
            )
            .limit(max(limit, 0))
        ).all()
        return [to_onboarding(row) for row in rows], total

    def stalled(self, started_before: datetime, limit: int) -> list[Onboarding]:
        o = OnboardingRow
        condition = (
            (
                (o.c.reseller_status == ResellerStatus.IN_PROGRESS.value)
                & (o.c.reseller_started_at < started_before)
            )
            | (
                (o.c.gdap_status == GdapStatus.IN_PROGRESS.value)
                & (o.c.gdap_started_at < started_before)
            )
            | ((o.c.p2p_status == P2PStatus.PENDING.value) & (o.c.p2p_started_at < started_before))
        )
        return self._open_where(condition, limit)

    def _open_where(self, condition: Any, limit: int) -> list[Onboarding]:
        """Open onboardings meeting `condition`, in enrollment order, at most `limit`."""
        rows = self._conn().execute(
            select(OnboardingRow)
            .where(IS_OPEN, condition)
            .order_by(OnboardingRow.c.enrolled_at, OnboardingRow.c.id)
            .limit(max(limit, 0))
        )
        return [to_onboarding(row) for row in rows]

    def expiring(
        self, p2p_sent_before: datetime, gdap_ends_before: datetime, limit: int
    ) -> list[Onboarding]:
        o = OnboardingRow
        # A transfer with Partner Center's own expiry ends then, not 30 days after it was sent.
        p2p_ends_before = p2p_sent_before + P2P_LIFETIME
        p2p_ending = (o.c.p2p_expires_at.is_(None) & (o.c.p2p_sent_at < p2p_sent_before)) | (
            o.c.p2p_expires_at < p2p_ends_before
        )
        condition = ((o.c.p2p_status == P2PStatus.PENDING.value) & p2p_ending) | (
            (o.c.gdap_status == GdapStatus.ESTABLISHED.value)
            & (o.c.gdap_ends_at < gdap_ends_before)
        )
        return self._open_where(condition, limit)


class SqlActivities(SqlRepository):
    """Implements `bot.ports.ActivityRepository`."""

    def append(self, activity: Activity) -> None:
        self._conn(write=True).execute(insert(ActivityRow).values(**activity_values(activity)))

    def append_all(self, activities: list[Activity]) -> None:
        """One statement for many (a bulk enrollment's chunk): the compiled insert is cached
        and the rows go as multi-row VALUES, instead of a statement built per row."""
        if activities:
            self._conn(write=True).execute(
                insert(ActivityRow), [activity_values(a) for a in activities]
            )

    def of(self, onboarding_id: str, limit: int | None = None) -> list[Activity]:
        stmt = select(ActivityRow).where(ActivityRow.c.onboarding_id == onboarding_id)
        if limit is None:
            rows = self._conn().execute(stmt.order_by(ActivityRow.c.at, ActivityRow.c.seq)).all()
        else:
            rows = (
                self._conn()
                .execute(
                    stmt.order_by(ActivityRow.c.at.desc(), ActivityRow.c.seq.desc()).limit(
                        max(limit, 0)
                    )
                )
                .all()
            )
            rows = rows[::-1]
        return [to_activity(row) for row in rows]

    def tallies(self, onboarding_ids: list[str], kinds: list[ActivityKind]) -> list[ActivityTally]:
        a = ActivityRow
        found: list[ActivityTally] = []
        conn = self._conn()
        for chunk in chunks(onboarding_ids, IN_CHUNK):
            stmt = (
                select(a.c.onboarding_id, a.c.kind, a.c.step, func.count(), func.max(a.c.at))
                .where(a.c.onboarding_id.in_(chunk), a.c.kind.in_([k.value for k in kinds]))
                .group_by(a.c.onboarding_id, a.c.kind, a.c.step)
            )
            for onboarding_id, kind, step, count, last_at in conn.execute(stmt):
                found.append(
                    ActivityTally(
                        onboarding_id,
                        ActivityKind(kind),
                        Step(step) if step else None,
                        int(count),
                        last_at,  # max() keeps the column's type: aware UTC
                    )
                )
        return found

    def latest_of(
        self, onboarding_ids: list[str], kinds: list[ActivityKind]
    ) -> dict[str, Activity]:
        a = ActivityRow
        found: dict[str, Activity] = {}
        conn = self._conn()
        for chunk in chunks(onboarding_ids, IN_CHUNK):
            newest = (
                select(func.max(a.c.seq))
                .where(a.c.onboarding_id.in_(chunk), a.c.kind.in_([k.value for k in kinds]))
                .group_by(a.c.onboarding_id)
            )
            for row in conn.execute(select(a).where(a.c.seq.in_(newest))):
                found[row.onboarding_id] = to_activity(row)
        return found
