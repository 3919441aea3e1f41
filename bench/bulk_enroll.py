"""Bulk enrollment against the database's floor, and how it scales.

`bulk_10000_vs_floor`: review + confirm of 10,000 rows (the invitation mail delivered to the
outbox included) against the floor: the very rows that import wrote (onboardings,
activities, delivery ledger, timers, outbox) written into an empty database with one
executemany per table and one commit, no validation. `bulk_scaling_10000_vs_1000`: the
same import of 10,000 rows against 1,000 rows (10x the rows: linear is 10x), the 1,000 taken
as the median of three runs in each turn.

Run: .venv/bin/python -m bench.bulk_enroll [--quick] [--database sqlite|postgresql]
"""

from __future__ import annotations

import statistics
from typing import Any

from sqlalchemy import insert, select

from bench.common import (
    Figure,
    arguments,
    database,
    median_turn,
    quiet_logs,
    record,
    service_for,
)
from bot.domain import Actor

ACTOR = Actor("bench", "bench", "console")
TABLES = ("onboardings", "activities", "deliveries", "timers", "outbox_mail")


def csv_bytes(rows: int, prefix: str) -> bytes:
    lines = ["Customer Name,Email Address,Domain Name,Country Code"]
    lines += [f"Customer {prefix} {i},it@{prefix}{i}.com,{prefix}{i}.com,US" for i in range(rows)]
    return ("\r\n".join(lines) + "\r\n").encode()


class Runs:
    """Each run in a database of its own, so no run pays for another's rows."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.written: dict[str, list[dict[str, Any]]] = {}

    def bulk(self, rows: int, *, keep: bool = False) -> float:
        """Seconds for review + confirm; with `keep`, what it wrote is kept for the floor."""
        import time

        with database(self.dialect) as url:
            service, engine = service_for(url)
            started = time.perf_counter()
            review = service.bulk.review(csv_bytes(rows, "c"), "bench.csv", ACTOR)
            result = service.bulk.confirm(review.import_id, ACTOR)
            elapsed = time.perf_counter() - started
            assert len(result.enrolled) == rows, result.summary
            if keep:
                self.written = dump(engine)
                assert len(self.written["outbox_mail"]) == rows
            engine.dispose()
        return elapsed

    def floor(self) -> float:
        """Seconds to write `written` back: one executemany per table, one commit."""
        import time

        with database(self.dialect) as url:
            _, engine = service_for(url)
            from storage.models import metadata

            tables = [metadata.tables[name] for name in TABLES]
            with engine.connect() as conn:
                started = time.perf_counter()
                with conn.begin():
                    for table in tables:
                        conn.execute(insert(table), self.written[table.name])
                elapsed = time.perf_counter() - started
            engine.dispose()
        return elapsed


def dump(engine: Any) -> dict[str, list[dict[str, Any]]]:
    from storage.models import metadata

    written: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for name in TABLES:
            table = metadata.tables[name]
            written[name] = [dict(row._mapping) for row in conn.execute(select(table))]
    return written


def main() -> None:
    args = arguments(__doc__ or "")
    quiet_logs()
    big, small = (2_000, 200) if args.quick else (10_000, 1_000)
    repeats = 1 if args.quick else 3
    figures: list[Figure] = []
    for dialect in args.databases:
        runs = Runs(dialect)
        runs.bulk(small)  # warm: imports, the migration's first run, caches
        bigs, floors, smalls = [], [], []
        for _ in range(repeats):  # in turns; the floor writes the rows of the turn's import
            bigs.append(runs.bulk(big, keep=True))
            floors.append(runs.floor())
            # the small import is the median of three: at half a second, one burst of load
            # on a shared machine moves it by a fifth, where it moves the big one by little
            smalls.append(statistics.median(runs.bulk(small) for _ in range(3)))
        print(f"{dialect}: {big} rows {bigs}, floor {floors}, {small} rows {smalls}", flush=True)
        value, floor = median_turn(bigs, floors)
        figures.append(Figure(f"bulk_{big}_vs_floor", value, floor, 3.0, "s", dialect))
        value, baseline = median_turn(bigs, smalls)
        figures.append(
            Figure(f"bulk_scaling_{big}_vs_{small}", value, baseline, 10.5, "s", dialect)
        )
    record(figures)


if __name__ == "__main__":
    main()
