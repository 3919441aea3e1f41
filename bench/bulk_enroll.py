"""How bulk enrollment scales: review + confirm of N rows against a 1,000-row baseline.

Prints seconds per run and the ratio to the baseline measured in the same process; a ratio
close to N / 1,000 means the cost per row stays flat as files grow (no quadratic work).
Run: .venv/bin/python bench/bulk_enroll.py [--rows 10000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from adapters.clock import SystemClock
from adapters.hub.directory import LocalHubDirectory
from adapters.mail.outbox import OutboxMailer
from adapters.microsoft.sandbox import SandboxMicrosoft
from bot.domain import Actor
from bot.service import OnboardingService
from storage.adapter_state import AdapterState
from storage.database import create_engine_for
from storage.migrate import upgrade
from storage.unit_of_work import SqlStore

ACTOR = Actor("bench", "bench", "console")


def csv_bytes(rows: int, prefix: str) -> bytes:
    lines = ["Customer Name,Email Address,Domain Name,Country Code"]
    lines += [f"Customer {i},it@{prefix}{i}.com,{prefix}{i}.com,US" for i in range(rows)]
    return ("\r\n".join(lines) + "\r\n").encode()


def one_run(url: str, rows: int, prefix: str) -> float:
    engine = create_engine_for(url)
    upgrade(engine)
    clock = SystemClock()
    sandbox = SandboxMicrosoft(AdapterState(engine), clock, "00000000-0000-4000-8000-00000000c0de")
    outbox = OutboxMailer(engine, clock)
    service = OnboardingService(
        SqlStore(engine),
        sandbox,
        outbox,
        LocalHubDirectory(engine),
        clock,
        simulator=sandbox,
        outbox=outbox,
    )
    started = time.perf_counter()
    review = service.bulk.review(csv_bytes(rows, prefix), "bench.csv", ACTOR)
    result = service.bulk.confirm(review.import_id, ACTOR)
    elapsed = time.perf_counter() - started
    assert len(result.enrolled) == rows, result.summary
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        baseline = one_run(url, 1_000, "base")
        measured = one_run(url, args.rows, "big")
    print(f"baseline 1000 rows: {baseline:.2f} s ({baseline / 1000 * 1e3:.2f} ms/row)")
    print(f"{args.rows} rows: {measured:.2f} s ({measured / args.rows * 1e3:.2f} ms/row)")
    print(f"ratio {measured / baseline:.1f}x for {args.rows / 1000:.0f}x the rows")


if __name__ == "__main__":
    main()
