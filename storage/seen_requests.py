"""Replay protection across restarts and replicas: a signed request is taken once, by its
signature, within the window its timestamp is accepted in. Each kind of request has its own
scope and window (Slack's signatures: 10 minutes; Partner Center's events, which carry no
timestamp in their signature: days), so one kind's clean-up never forgets another's."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, delete, not_
from sqlalchemy.dialects import postgresql, sqlite

from storage.database import is_sqlite
from storage.models import SeenRequestRow


class SqlSeenRequests:
    def __init__(
        self, engine: Engine, window: timedelta = timedelta(minutes=10), scope: str = ""
    ) -> None:
        self.engine = engine
        self.window = window  # longer than the 5 minutes a signature's timestamp is accepted
        self.scope = scope  # "" for Slack (keys without a colon), else keys "scope:…"

    def first_time(self, signature: str, at: datetime) -> bool:
        """True the first time a request with this signature is seen in the window, in this
        process or any other on the same database; False for a replay."""
        digest = hashlib.sha256(signature.encode()).hexdigest()
        key = f"{self.scope}:{digest}" if self.scope else digest
        mine = (
            SeenRequestRow.key.startswith(f"{self.scope}:")
            if self.scope
            else not_(SeenRequestRow.key.contains(":"))
        )
        with self.engine.begin() as conn:
            insert = (sqlite.insert if is_sqlite(conn) else postgresql.insert)(SeenRequestRow)
            taken = conn.execute(
                insert.values(key=key, seen_at=at)
                .on_conflict_do_nothing(index_elements=[SeenRequestRow.key])
                .returning(SeenRequestRow.key)
            ).first()
            conn.execute(
                delete(SeenRequestRow).where(and_(mine, SeenRequestRow.seen_at < at - self.window))
            )
        return taken is not None
