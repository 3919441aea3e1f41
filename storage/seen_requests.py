"""Replay protection across restarts and replicas: a signed request is taken once, by its
signature, within the window its timestamp is accepted in. Each kind of request has its own
scope and window (Slack's signatures: 10 minutes; Partner Center's events, which carry no
timestamp in their signature: days), so one kind's clean-up never forgets another's.

Slack's ack waits for this check, so a request pays for one INSERT and its commit, no more:
forgetting keys past their window is a DELETE run at most once a minute per process (a key
then lives a minute longer than its window, never shorter, so no replay gets through).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, and_, delete, not_

from storage.database import dialect_insert, is_sqlite
from storage.models import SeenRequestRow

CLEAN_UP_EVERY = timedelta(minutes=1)


class SqlSeenRequests:
    def __init__(
        self, engine: Engine, window: timedelta = timedelta(minutes=10), scope: str = ""
    ) -> None:
        self.engine = engine
        self.window = window  # longer than the 5 minutes a signature's timestamp is accepted
        self.scope = scope  # "" for Slack (keys without a colon), else keys "scope:…"
        self._cleaned_at: datetime | None = None  # this process's last clean-up

    def first_time(self, signature: str, at: datetime) -> bool:
        """True the first time a request with this signature is seen in the window, in this
        process or any other on the same database; False for a replay."""
        digest = hashlib.sha256(signature.encode()).hexdigest()
        key = f"{self.scope}:{digest}" if self.scope else digest
        with self.engine.connect() as conn, _without_waiting_for_the_disk(conn):
            insert = dialect_insert(conn, SeenRequestRow)
            taken = conn.execute(
                insert.values(key=key, seen_at=at)
                .on_conflict_do_nothing(index_elements=[SeenRequestRow.c.key])
                .returning(SeenRequestRow.c.key)
            ).first()
        if self._cleaned_at is None or at - self._cleaned_at >= CLEAN_UP_EVERY:
            self.forget_expired(at)
        return taken is not None

    def forget_expired(self, at: datetime) -> None:
        """Deletes this scope's keys older than the window: a replay of one of those would
        fail its timestamp check anyway."""
        self._cleaned_at = at
        with self.engine.begin() as conn:
            conn.execute(
                delete(SeenRequestRow).where(
                    and_(self._mine(), SeenRequestRow.c.seen_at < at - self.window)
                )
            )

    def _mine(self) -> ColumnElement[bool]:
        if self.scope:
            return SeenRequestRow.c.key.startswith(f"{self.scope}:")
        return not_(SeenRequestRow.c.key.contains(":"))


@contextmanager
def _without_waiting_for_the_disk(conn: Connection) -> Iterator[None]:
    """A transaction whose commit does not wait for its flush to disk (SQLite WAL with
    `synchronous=NORMAL`, PostgreSQL `synchronous_commit=off`): the ack waits for this one,
    and a flush costs more than the insert as soon as anyone else is writing.

    Both logs are written in order, so the next commit that does wait (the request's own
    changes, made after this) flushes this key too: a key can be lost to a crash only with
    everything its request did after it, and a replay of such a request does nothing that
    is on record as done. An application crash loses nothing in either mode."""
    if not is_sqlite(conn):
        with conn.begin():
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            yield
        return
    raw = conn.connection.driver_connection  # outside a transaction: SQLite refuses inside
    assert raw is not None
    level = raw.execute("PRAGMA synchronous").fetchone()[0]
    raw.execute("PRAGMA synchronous=NORMAL")
    try:
        with conn.begin():
            yield
    finally:  # the pooled connection goes back as it came
        raw.execute(f"PRAGMA synchronous={int(level)}")
