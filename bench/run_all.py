"""`make bench`: every benchmark in turn, then the table of `bench/results.json`.

Run: .venv/bin/python -m bench.run_all [--quick]
"""

from __future__ import annotations

import json
import subprocess
import sys

from bench.common import QUICK_RESULTS, RESULTS, header, line

SCRIPTS = (
    "bench.bulk_enroll",
    "bench.status_during_import",
    "bench.search",
    "bench.dashboard",
    "bench.memory",
    "bench.start",
    "bench.slack_ack",
    "bench.tick",
    "bench.teams_status",
)


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    failed = []
    for script in SCRIPTS:
        print(f"== {script}", flush=True)
        done = subprocess.run([sys.executable, "-m", script, *sys.argv[1:]], check=False)
        if done.returncode:
            failed.append(script)
    path = QUICK_RESULTS if quick else RESULTS
    rows = json.loads(path.read_text(encoding="utf-8"))["results"] if path.exists() else []
    print()
    print(header())
    for row in rows:
        print(line(row))
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
