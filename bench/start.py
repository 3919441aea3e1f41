"""Start-up: `python app.py serve` until GET /healthz answers, against
`python -c "import slack_bolt, botbuilder.core"` (what no start-up can avoid), both as whole
processes, in turns (`start_healthz_vs_imports`). On a migrated SQLite file.

Run: .venv/bin/python -m bench.start [--quick]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Figure, arguments, median_turn, record
from bench.serve import start, stop


def imports() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import slack_bolt, botbuilder.core"], check=True)
    return time.perf_counter() - started


def main() -> None:
    args = arguments(__doc__ or "")
    repeats = 2 if args.quick else 7
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bot.db'}"
        process, _ = start(url, Path(tmp))  # migrates the file once
        stop(process)
        bots, bases = [], []
        for _ in range(repeats):
            bases.append(imports())
            process, seconds = start(url, Path(tmp))
            stop(process)
            bots.append(seconds)
    value, baseline = median_turn(bots, bases)
    record([Figure("start_healthz_vs_imports", value, baseline, 1.8, "s", "sqlite")])


if __name__ == "__main__":
    main()
