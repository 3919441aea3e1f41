"""Memory: the resident set of `python app.py serve` once GET /healthz answers
(`memory_rss_after_start`, at most 150 MiB), and of a process holding the service as
`app.py` builds it after a 10,000-row bulk import into a store of 100,000 onboardings
(`memory_rss_after_10000_import_into_100000`, at most 200 MiB). Absolute budgets: no
baseline.

Run: .venv/bin/python -m bench.memory [--quick] [--database sqlite|postgresql]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import Figure, arguments, database, populate, quiet_logs, record, service_for
from bench.serve import rss_mib, start, stop


def after_import(dialect: str, store: int, rows: int) -> float:
    """Runs in a child process of its own, so nothing else's memory is counted."""
    from bench.bulk_enroll import ACTOR, csv_bytes

    with database(dialect) as url:
        service, engine = service_for(url)
        populate(service, store)
        review = service.bulk.review(csv_bytes(rows, "m"), "bench.csv", ACTOR)
        result = service.bulk.confirm(review.import_id, ACTOR)
        assert len(result.enrolled) == rows
        rss = rss_mib(__import__("os").getpid())
        engine.dispose()
    return rss


def main() -> None:
    args = arguments(__doc__ or "", child=dict(nargs=3, help=argparse_hidden()))
    quiet_logs()
    if args.child:
        dialect, store, rows = args.child
        print(after_import(dialect, int(store), int(rows)))
        return
    store, rows = (10_000, 1_000) if args.quick else (100_000, 10_000)
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        process, _ = start(f"sqlite:///{Path(tmp) / 'bot.db'}", Path(tmp))
        try:
            figures.append(
                Figure("memory_rss_after_start", rss_mib(process.pid), None, 150, "MiB", "sqlite")
            )
        finally:
            stop(process)
    for dialect in args.databases:
        child = subprocess.run(
            [sys.executable, "-m", "bench.memory", "--child", dialect, str(store), str(rows)],
            check=True,
            capture_output=True,
            text=True,
        )
        rss = float(child.stdout.strip().splitlines()[-1])
        name = f"memory_rss_after_{rows}_import_into_{store}"
        figures.append(Figure(name, rss, None, 200, "MiB", dialect))
    record(figures)


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
