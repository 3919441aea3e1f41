"""Small JSON documents that adapters keep, one per (kind, key): the sandbox's simulated
tenant, Slack thread timestamps, Teams conversation references.

Kept in the bot's database so every process (console, server, replicas) sees the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, select

from storage.database import dialect_insert
from storage.models import AdapterStateRow
from storage.transactions import joined

# Read on every Teams turn (its conversation reference): built once, as building the
# statement and its cache key cost more than running it.
_GET = select(AdapterStateRow.c.data).where(
    AdapterStateRow.c.kind == bindparam("kind"), AdapterStateRow.c.key == bindparam("key")
)


class AdapterState:
    """Each call is its own short transaction, or part of the use case's transaction when
    one is open on this thread (see `storage.transactions`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        with joined(self.engine, write=False) as conn:
            data = conn.execute(_GET, {"kind": kind, "key": key}).scalar()
        return dict(data) if data is not None else None

    def put(self, kind: str, key: str, data: dict[str, Any]) -> None:
        """Replaces the whole document."""
        with joined(self.engine, write=True) as conn:
            now = datetime.now(UTC)
            stmt = dialect_insert(conn, AdapterStateRow).values(
                kind=kind, key=key, data=data, updated_at=now
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[AdapterStateRow.c.kind, AdapterStateRow.c.key],
                    set_={"data": data, "updated_at": now},
                )
            )

    def all(self, kind: str) -> list[dict[str, Any]]:
        """In the order they were first put."""
        with joined(self.engine, write=False) as conn:
            rows = (
                conn.execute(
                    select(AdapterStateRow.c.data)
                    .where(AdapterStateRow.c.kind == kind)
                    .order_by(AdapterStateRow.c.id)
                )
                .scalars()
                .all()
            )
        return [dict(data) for data in rows]
