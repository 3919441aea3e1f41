"""One bot process for the replica test: `app.build` on DATABASE_URL, then `bot.jobs.run_due`
at each instant read from standard input (one ISO 8601 line each), answering "done …" per
line. It is what `app.py tick --at` does, without paying the start-up for every tick."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from adapters.clock import FixedClock
from app import build
from bot.jobs import run_due
from settings import load_settings


def main() -> int:
    first = sys.stdin.readline()
    if not first:
        return 0
    clock = FixedClock(datetime.fromisoformat(first.strip()))
    bot = build(load_settings(), clock)
    print("ready", flush=True)
    line = first
    while line:
        clock.at = datetime.fromisoformat(line.strip())
        work = run_due(bot.service, batch=50)
        print(f"done {work.line()}", flush=True)
        line = sys.stdin.readline()
    return 0


if __name__ == "__main__":
    sys.exit(main())
