"""Due work as rows: scheduled with the change that causes it, claimed with a lease."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update

from bot.errors import NotFound
from bot.records import Timer, TimerKind, TimerState
from storage.database import is_sqlite
from storage.mapping import timer_values, to_timer
from storage.models import TimerRow
from storage.sql import IN_CHUNK, TIMER_PENDING, SqlRepository, chunks


class SqlTimers(SqlRepository):
    """Implements `bot.ports.TimerRepository`."""

    def schedule(self, timers: list[Timer]) -> None:
        """One executemany for the new ones (a bulk enrollment writes thousands)."""
        if not timers:
            return
        conn = self._conn(write=True)
        now = datetime.now(UTC)
        keep = [{**timer_values(t), "created_at": now} for t in timers if not t.replace]
        if keep:  # one cached statement, the rows sent as multi-row VALUES
            conn.execute(
                self._insert(conn, TimerRow).on_conflict_do_nothing(
                    index_elements=[TimerRow.c.key]
                ),
                keep,
            )
        moved = [{**timer_values(t), "created_at": now} for t in timers if t.replace]
        if moved:  # the same work at a new time: an upsert, also one executemany
            upsert = self._insert(conn, TimerRow)
            conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=[TimerRow.c.key],
                    set_={
                        "due_at": upsert.excluded.due_at,
                        "state": TimerState.PENDING.value,
                        "claimed_until": None,
                        "finished_at": None,
                        "attempts": 0,  # the work is due anew: earlier runs are not failures
                    },
                ),
                moved,
            )

    def claim(self, now: datetime, limit: int, lease_seconds: int) -> list[Timer]:
        """Earliest first, through the partial index on pending `due_at`; on PostgreSQL rows
        another worker is claiming are skipped, not waited for."""
        if limit <= 0:
            return []
        conn = self._conn(write=True)
        stmt = (
            select(TimerRow)
            .where(
                TIMER_PENDING,
                TimerRow.c.due_at <= now,
                TimerRow.c.claimed_until.is_(None) | (TimerRow.c.claimed_until < now),
            )
            .order_by(TimerRow.c.due_at, TimerRow.c.id)
            .limit(limit)
        )
        if not is_sqlite(conn):
            stmt = stmt.with_for_update(skip_locked=True)
        rows = conn.execute(stmt).all()
        if not rows:
            return []
        conn.execute(
            update(TimerRow)
            .where(TimerRow.c.id.in_([r.id for r in rows]))
            .values(
                claimed_until=now + timedelta(seconds=lease_seconds),
                attempts=TimerRow.c.attempts + 1,
            )
        )
        claimed = [to_timer(row) for row in rows]
        for timer in claimed:
            timer.attempts += 1
        return claimed

    def of(self, onboarding_id: str, kind: TimerKind) -> list[Timer]:
        stmt = (
            select(TimerRow)
            .where(TimerRow.c.onboarding_id == onboarding_id, TimerRow.c.kind == kind.value)
            .order_by(TimerRow.c.due_at, TimerRow.c.id)
        )
        return [to_timer(row) for row in self._conn().execute(stmt)]

    def of_many(self, onboarding_ids: list[str], kind: TimerKind) -> dict[str, list[Timer]]:
        """`of` for many onboardings, one query per `IN_CHUNK` of them."""
        found: dict[str, list[Timer]] = {}
        conn = self._conn()
        for chunk in chunks(sorted(set(onboarding_ids)), IN_CHUNK):
            stmt = (
                select(TimerRow)
                .where(TimerRow.c.onboarding_id.in_(chunk), TimerRow.c.kind == kind.value)
                .order_by(TimerRow.c.due_at, TimerRow.c.id)
            )
            for row in conn.execute(stmt):
                found.setdefault(row.onboarding_id, []).append(to_timer(row))
        return found

    def finish_all(self, finished: list[tuple[int, TimerState, str]], at: datetime) -> None:
        """`finish` for many (id, state, outcome) in one executemany; raises `NotFound` if
        any of them is not there."""
        if not finished:
            return
        stmt = (
            update(TimerRow)
            .where(TimerRow.c.id == bindparam("_id"))
            .values(
                state=bindparam("state"),
                finished_at=bindparam("finished_at"),
                claimed_until=None,
                outcome=bindparam("outcome"),
            )
        )
        result = self._conn(write=True).execute(
            stmt,
            [
                {"_id": i, "state": s.value, "finished_at": at, "outcome": o or None}
                for i, s, o in finished
            ],
        )
        if result.rowcount != len(finished):
            raise NotFound(f"{len(finished) - result.rowcount} of the timers finished are gone.")

    def finish(self, timer_id: int, state: TimerState, at: datetime, outcome: str = "") -> None:
        self._set_timer(
            timer_id, state=state.value, finished_at=at, claimed_until=None, outcome=outcome or None
        )

    def reschedule(self, timer_id: int, due_at: datetime) -> None:
        """The work ran and is due again: its attempts start over, since they count the runs
        that failed (a poll rescheduled twenty times has not failed twenty times)."""
        self._set_timer(
            timer_id,
            state=TimerState.PENDING.value,
            due_at=due_at,
            claimed_until=None,
            finished_at=None,
            attempts=0,
        )

    def _set_timer(self, timer_id: int, **values: Any) -> None:
        result = self._conn(write=True).execute(
            update(TimerRow).where(TimerRow.c.id == timer_id).values(**values)
        )
        if result.rowcount != 1:
            raise NotFound(f"There is no timer {timer_id}.")
