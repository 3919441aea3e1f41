"""The scheduler's tick (`bot.jobs.run_due`, what `app.py tick --at` runs) with 1 % of the
onboardings due, and what it costs against the floor of writing the same rows.

- `tick_per_due_100000_vs_10000`: seconds per due onboarding of a tick at 100,000 open
  onboardings (1,000 due) over the same at 10,000 (100 due); the two stores are ticked in
  turns. Cost should follow the due work, not the size of the store.
- `tick_1000_reminders_vs_executemany`: the tick that sends the 1,000 due reminders of the
  larger store, against writing the rows it wrote (activities, ledger, outbox mail: inserts;
  timers, onboardings: updates) again with one executemany per table and one commit, right
  after it on the same store.

Every onboarding has its three reminder timers (24 h, 48 h, 7 days), as enrollment schedules
them, seeded with one executemany per table per 5,000 onboardings. Each turn makes a fresh
1 % due (the first reminder of onboardings not touched yet) and ticks at a fixed instant.

Run: .venv/bin/python -m bench.tick [--quick] [--database sqlite|postgresql]
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, MetaData, Table, bindparam, func, select, update

from adapters.clock import FixedClock
from bench.common import (
    Figure,
    arguments,
    database,
    median_turn,
    quiet_logs,
    record,
    service_for,
    timed,
)
from bot.domain import Actor, new_onboarding
from bot.jobs import run_due
from bot.records import TimerKind
from bot.rules import CustomerDetails
from bot.schedule import timers_for

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # the tick's instant
ENROLLED = AT - timedelta(hours=1)  # nothing is due yet: the first reminder is at 24 h
INSERTED = ("activities", "deliveries", "outbox_mail")  # appended by the tick
UPDATED = {"timers": "id", "onboardings": "id"}  # changed by the tick (by primary key)
UNIQUE = {"activities": {"id"}, "deliveries": {"key"}}  # besides the primary key


class Store:
    """A store of `count` onboardings, each waiting on the reseller step, and the order in
    which their first reminders are made due, a slice per turn."""

    def __init__(self, url: str, count: int) -> None:
        self.count = count
        self.service, self.engine = service_for(url, clock=FixedClock(AT))
        self.tables = MetaData()
        self.tables.reflect(self.engine, only=[*INSERTED, *UPDATED])
        self._seed()
        self.first_reminders = self._first_reminders()
        self.turn = 0
        self.just_due: list[int] = []

    def _seed(self) -> None:
        actor = Actor("bench", "bench", "console")
        step = 5_000
        for start in range(0, self.count, step):
            obs, activities, timers = [], [], []
            for i in range(start, min(start + step, self.count)):
                details = CustomerDetails(
                    f"Customer t{i:06d} Ltd", f"it@t{i}.example.com", f"t{i}.example.com", "US"
                )
                ob, activity = new_onboarding(details, ENROLLED, actor)
                obs.append(ob)
                activities.append(activity)
                timers += timers_for(activity, ob, None)
            with self.service.store.transaction() as uow:
                uow.onboardings.add_new(obs)
                uow.activities.append_all(activities)
                uow.timers.schedule(timers)
        if self.engine.dialect.name == "postgresql":
            with self.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")

    def _first_reminders(self) -> list[int]:
        timers = self.tables.tables["timers"]
        with self.engine.connect() as conn:
            return list(
                conn.scalars(
                    select(timers.c.id)
                    .where(timers.c.kind == TimerKind.REMINDER.value, timers.c.slot == 1)
                    .order_by(timers.c.id)
                )
            )

    @property
    def due(self) -> int:
        return self.count // 100

    def make_due(self) -> None:
        """The next 1 % of first reminders fall due a minute before the tick."""
        ids = self.first_reminders[self.turn * self.due : (self.turn + 1) * self.due]
        if len(ids) < self.due:
            raise SystemExit("more turns than the store has onboardings for")
        self.turn += 1
        self.just_due = ids
        timers = self.tables.tables["timers"]
        with self.engine.begin() as conn:
            conn.execute(
                update(timers).where(timers.c.id.in_(ids)).values(due_at=AT - timedelta(minutes=1))
            )

    def tick(self) -> tuple[float, dict[str, Any]]:
        """Seconds of one `run_due` over a fresh 1 % due, and the rows it wrote."""
        self.make_due()
        before = self._high_water()
        work: list[Any] = []
        took = timed(lambda: work.append(run_due(self.service)))
        if work[0].reminders != self.due:
            raise SystemExit(f"the tick sent {work[0].reminders} reminders, not {self.due}")
        return took, self._written(before)

    def _high_water(self) -> dict[str, int]:
        marks = {}
        with self.engine.connect() as conn:
            for name in INSERTED:
                table = self.tables.tables[name]
                pk = next(iter(table.primary_key.columns))
                marks[name] = conn.scalar(select(func.coalesce(func.max(pk), 0))) or 0
        return marks

    def _written(self, before: dict[str, int]) -> dict[str, Any]:
        rows: dict[str, Any] = {}
        with self.engine.connect() as conn:
            for name in INSERTED:
                table = self.tables.tables[name]
                pk = next(iter(table.primary_key.columns))
                found = conn.execute(select(table).where(pk > before[name])).mappings().all()
                rows[name] = [dict(r) for r in found]
            timers = self.tables.tables["timers"]
            done = conn.execute(select(timers).where(timers.c.id.in_(self.just_due)))
            rows["timers"] = [dict(r) for r in done.mappings()]
            onboardings = self.tables.tables["onboardings"]
            ids = [t["onboarding_id"] for t in rows["timers"]]
            changed = conn.execute(select(onboardings).where(onboardings.c.id.in_(ids)))
            rows["onboardings"] = [dict(r) for r in changed.mappings()]
        return rows

    def floor(self, rows: dict[str, Any], turn: int) -> float:
        """The same rows written again by one executemany per table, in one transaction:
        inserts get fresh primary and unique keys, updates set what the tick set."""
        batches: list[tuple[Any, list[dict[str, Any]]]] = []
        for name in INSERTED:
            table: Table = self.tables.tables[name]
            pk = next(iter(table.primary_key.columns)).name
            unique = UNIQUE.get(name, set())
            copies = [
                {k: (f"{v}:floor{turn}" if k in unique else v) for k, v in row.items() if k != pk}
                for row in rows[name]
            ]
            batches.append((table.insert(), copies))
        for name, key in UPDATED.items():
            table = self.tables.tables[name]
            columns = [c.name for c in table.columns if c.name != key]
            statement = (
                update(table)
                .where(table.c[key] == bindparam("_key"))
                .values({c: bindparam(c) for c in columns})
            )
            batches.append((statement, [{**r, "_key": r[key]} for r in rows[name]]))

        def write() -> None:
            with self.engine.begin() as conn:
                for statement, params in batches:
                    if params:
                        conn.execute(statement, params)

        return timed(write)


def main() -> None:
    args = arguments(__doc__ or "")
    quiet_logs()
    small, large = (1_000, 10_000) if args.quick else (10_000, 100_000)
    repeats = 3 if args.quick else 7
    figures = []
    for dialect in args.databases:
        with ExitStack() as stack:
            stores = [Store(stack.enter_context(database(dialect)), n) for n in (small, large)]
            per_small, per_large, ticks, floors = [], [], [], []
            for turn in range(repeats):
                took, _ = stores[0].tick()
                per_small.append(took / stores[0].due)
                took, rows = stores[1].tick()
                per_large.append(took / stores[1].due)
                ticks.append(took)
                floors.append(stores[1].floor(rows, turn))
            value, baseline = median_turn(per_large, per_small)
            figures.append(
                Figure(f"tick_per_due_{large}_vs_{small}", value, baseline, 1.2, "s", dialect)
            )
            value, baseline = median_turn(ticks, floors)
            figures.append(
                Figure(
                    f"tick_{stores[1].due}_reminders_vs_executemany",
                    value,
                    baseline,
                    3.0,
                    "s",
                    dialect,
                )
            )
            print(f"{dialect}: {repeats} turns; rows per tick: {_counts(rows)}")
            for store in stores:
                _dispose(store.engine)
    record(figures)


def _counts(rows: dict[str, Any]) -> str:
    return ", ".join(f"{name} {len(found)}" for name, found in rows.items())


def _dispose(engine: Engine) -> None:
    engine.dispose()


if __name__ == "__main__":
    main()
