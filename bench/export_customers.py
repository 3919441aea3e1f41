"""How `export` scales: seconds and peak memory to write every customer's row, for N customers
against a baseline of N / 10 measured in the same process.

A time ratio close to 10 means the cost per customer stays flat (each batch costs what it
returns); a memory ratio close to 1 means the store is read a batch at a time, never whole.
Run: .venv/bin/python bench/export_customers.py [--customers 100000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert

from adapters.clock import SystemClock
from adapters.hub.directory import LocalHubDirectory
from adapters.mail.outbox import OutboxMailer
from adapters.microsoft.sandbox import SandboxMicrosoft
from bot.domain import Actor, new_onboarding
from bot.exports import Exports
from bot.rules import CustomerDetails
from bot.service import OnboardingService
from storage.adapter_state import AdapterState
from storage.database import create_engine_for
from storage.mapping import activity_values, onboarding_values
from storage.migrate import upgrade
from storage.models import ActivityRow, OnboardingRow
from storage.unit_of_work import SqlStore

ACTOR = Actor("bench", "bench", "console")
SEED_BATCH = 5_000


def seed(engine: Engine, customers: int, prefix: str) -> None:
    """Customers as enrollment writes them (the onboarding row and its log line), inserted
    many at a time so that seeding 100,000 takes seconds, not the benchmark's time."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for first in range(0, customers, SEED_BATCH):
        rows, lines = [], []
        for i in range(first, min(first + SEED_BATCH, customers)):
            details = CustomerDetails(
                f"Customer {prefix}{i}", f"it@{prefix}{i}.com", f"{prefix}{i}.com", "US"
            )
            ob, activity = new_onboarding(details, start + timedelta(seconds=i), ACTOR)
            rows.append({**onboarding_values(ob), "version": 0})
            lines.append(activity_values(activity))
        with engine.begin() as conn:
            conn.execute(insert(OnboardingRow), rows)
            conn.execute(insert(ActivityRow), lines)


def measure(service: OnboardingService) -> tuple[float, int, int]:
    """Seconds, peak bytes allocated and rows of an export of every customer: timed on its
    own, then run again under tracemalloc (which slows Python down) for the memory."""
    exports = Exports(service.wiring)
    started = time.perf_counter()
    rows = exports.customers(None, ACTOR).write(_Discard())
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    exports.customers(None, ACTOR).write(_Discard())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak, rows


class _Discard(io.RawIOBase):
    """Counts what is written and keeps none of it, as a file on disk would."""

    def __init__(self) -> None:
        self.bytes = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.bytes += len(data)
        return len(data)


def run(url: str, customers: int, prefix: str) -> tuple[float, int, int]:
    engine = create_engine_for(url)
    upgrade(engine)
    clock = SystemClock()
    sandbox = SandboxMicrosoft(AdapterState(engine), clock, "00000000-0000-4000-8000-00000000c0de")
    outbox = OutboxMailer(engine, clock)
    service = OnboardingService(
        SqlStore(engine), sandbox, outbox, LocalHubDirectory(engine), clock, outbox=outbox
    )
    seed(engine, customers, prefix)
    result = measure(service)
    engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        small_url = args.database_url or f"sqlite:///{Path(folder) / 'small.db'}"
        big_url = args.database_url or f"sqlite:///{Path(folder) / 'big.db'}"
        base = args.customers // 10
        t1, m1, r1 = run(small_url, base, "a")
        t2, m2, r2 = run(big_url, args.customers, "b")
    assert r2 - (r1 if args.database_url else 0) >= args.customers
    print(f"{r1:>7,} customers: {t1:6.2f} s, peak {m1 / 1e6:6.1f} MB")
    print(f"{r2:>7,} customers: {t2:6.2f} s, peak {m2 / 1e6:6.1f} MB")
    print(f"ratio for 10x customers: time {t2 / t1:.1f}x, memory {m2 / m1:.2f}x")


if __name__ == "__main__":
    main()
