"""APScheduler in the bot's process: wakes `bot.jobs.run_due` every few seconds.

It only wakes the job up. What is due, and which replica does it, is decided in the database
(`bot.jobs`), so nothing is lost or doubled when the process restarts or several run at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.jobs import DueWork

log = logging.getLogger(__name__)


class DueWorkScheduler:
    def __init__(self, run_due: Callable[[], DueWork], interval_seconds: float) -> None:
        self.run_due = run_due
        self.interval_seconds = interval_seconds
        self._scheduler: AsyncIOScheduler | None = None

    def start(self) -> None:
        """Call from the running event loop. The first run is at once (catch-up after a
        restart); a run that is still going when the next is due is not started twice."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.interval_seconds,
            id="due-work",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
            misfire_grace_time=None,
        )
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler running due work every %s s", self.interval_seconds)

    async def tick(self) -> None:
        try:
            work = await asyncio.to_thread(self.run_due)
        except Exception:  # the next run tries again; the database keeps what is due
            log.exception("due work failed")
            return
        if work.reminders or work.expired or work.digests or work.changes or work.failed:
            log.info("due work %s", work.line())

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
