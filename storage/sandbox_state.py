"""Key-value state for the sandbox Microsoft simulation, one JSON document per (kind, key).

Kept in the bot's database so the console and the server see the same simulated tenant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from storage.database import is_sqlite
from storage.models import SandboxObjectRow
from storage.transactions import joined


class SandboxState:
    """Each call is its own short transaction, or part of the use case's transaction when
    one is open on this thread (see `storage.transactions`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        with joined(self.engine, write=False) as conn:
            data = conn.execute(select(SandboxObjectRow.data).where(
                SandboxObjectRow.kind == kind, SandboxObjectRow.key == key)).scalar()
        return dict(data) if data is not None else None

    def put(self, kind: str, key: str, data: dict[str, Any]) -> None:
        """Replaces the whole document."""
        with joined(self.engine, write=True) as conn:
            insert = sqlite.insert if is_sqlite(conn) else postgresql.insert
            now = datetime.now(UTC)
            stmt = insert(SandboxObjectRow).values(kind=kind, key=key, data=data, updated_at=now)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[SandboxObjectRow.kind, SandboxObjectRow.key],
                set_={"data": data, "updated_at": now}))

    def all(self, kind: str) -> list[dict[str, Any]]:
        """In the order they were first put."""
        with joined(self.engine, write=False) as conn:
            rows = conn.execute(select(SandboxObjectRow.data)
                                .where(SandboxObjectRow.kind == kind)
                                .order_by(SandboxObjectRow.id)).scalars().all()
        return [dict(data) for data in rows]
