"""Granted roles and the bot's access log."""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from bot.records import AccessEntry, Grant, Role
from storage.models import AccessGrantRow, AccessLogRow
from storage.sql import SqlRepository


class SqlAccess(SqlRepository):
    """Implements `bot.ports.AccessRepository`."""

    def get(self, identity: str) -> Grant | None:
        row = (
            self._conn()
            .execute(select(AccessGrantRow).where(AccessGrantRow.c.identity == identity))
            .first()
        )
        return Grant(row.identity, Role(row.role), row.granted_by, row.granted_at) if row else None

    def all(self) -> list[Grant]:
        rows = self._conn().execute(select(AccessGrantRow).order_by(AccessGrantRow.c.identity))
        return [Grant(r.identity, Role(r.role), r.granted_by, r.granted_at) for r in rows]

    def save(self, grant: Grant) -> None:
        conn = self._conn(write=True)
        values = {
            "identity": grant.identity,
            "role": grant.role.value,
            "granted_by": grant.granted_by,
            "granted_at": grant.granted_at,
        }
        stmt = self._insert(conn, AccessGrantRow).values(**values)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[AccessGrantRow.c.identity],
                set_={k: v for k, v in values.items() if k != "identity"},
            )
        )

    def remove(self, identity: str) -> bool:
        result = self._conn(write=True).execute(
            delete(AccessGrantRow).where(AccessGrantRow.c.identity == identity)
        )
        return result.rowcount > 0

    def log(self, entry: AccessEntry) -> None:
        self._conn(write=True).execute(
            insert(AccessLogRow).values(
                at=entry.at, actor=entry.actor, identity=entry.identity, message=entry.message
            )
        )

    def entries(self, limit: int) -> list[AccessEntry]:
        rows = (
            self._conn()
            .execute(select(AccessLogRow).order_by(AccessLogRow.c.seq.desc()).limit(max(limit, 0)))
            .all()
        )
        return [AccessEntry(r.at, r.actor, r.identity, r.message) for r in reversed(rows)]
