"""A second user's `status` while a 10,000-row bulk import runs: the p99 of its answer
time against the same with no import, just before and just after it (the store then as
big as at the import's start and at its end), `status_p99_during_bulk_import`. Both
users' commands run through the dispatcher on worker threads, as the chat front ends run
them.

Run: .venv/bin/python -m bench.status_during_import [--quick] [--database sqlite|postgresql]
"""

from __future__ import annotations

import threading
import time

from bench.bulk_enroll import ACTOR, csv_bytes
from bench.common import (
    Figure,
    arguments,
    database,
    percentile,
    populate,
    quiet_logs,
    record,
    service_for,
    timed,
)
from bot.commands import Context, Dispatcher
from bot.domain import Actor
from bot.views import BulkResult

SECOND_USER = Actor("second", "second", "console")


def status_times(dispatcher: Dispatcher, until: threading.Event, at_least: int) -> list[float]:
    ctx = Context(SECOND_USER)
    times: list[float] = []
    while not until.is_set() or len(times) < at_least:
        times.append(timed(lambda: dispatcher.handle("status", ctx)))
        time.sleep(0.02)  # a user, not a loop: about 50 commands a second at most
    return times


def main() -> None:
    args = arguments(__doc__ or "")
    quiet_logs()
    rows, store = (1_000, 1_000) if args.quick else (10_000, 10_000)
    figures = []
    for dialect in args.databases:
        with database(dialect) as url:
            service, engine = service_for(url)
            populate(service, store)
            dispatcher = Dispatcher(service)
            idle = threading.Event()
            idle.set()
            quiet = status_times(dispatcher, idle, 100)
            review = service.bulk.review(csv_bytes(rows, "s"), "bench.csv", ACTOR)
            done = threading.Event()

            def enroll() -> None:  # as the chat front ends run it: a command on its thread
                try:
                    reply = dispatcher.handle(f"bulk confirm {review.import_id}", Context(ACTOR))
                    if not isinstance(reply, BulkResult) or len(reply.enrolled) != rows:
                        raise SystemExit(f"the import did not enroll every row: {reply}")
                finally:
                    done.set()

            worker = threading.Thread(target=enroll)
            worker.start()
            busy = status_times(dispatcher, done, 20)
            worker.join()
            # quiet again after it, so a machine that got slower or faster meanwhile moves
            # the baseline as it moved the answers (a p99 of 100 answers is the 2nd worst)
            quiet += status_times(dispatcher, idle, 100)
            figures.append(
                Figure(
                    "status_p99_during_bulk_import",
                    percentile(busy, 99),
                    percentile(quiet, 99),
                    2.0,
                    "s",
                    dialect,
                )
            )
            print(f"{dialect}: {len(busy)} answers during the import, {len(quiet)} without")
            engine.dispose()
    record(figures)


if __name__ == "__main__":
    main()
