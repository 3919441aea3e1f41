"""What every repository shares: its unit of work's connection, dialect-aware upserts, and
the SQL predicates kept in one place (written as literals so PostgreSQL can match the
partial indexes' predicates)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, literal_column

from bot.domain import Lifecycle
from bot.records import DeliveryState, TimerState
from storage.database import dialect_insert
from storage.models import DeliveryRow, OnboardingRow, TimerRow

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PostgresqlInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert

    from storage.unit_of_work import SqlUnitOfWork

IS_OPEN = OnboardingRow.c.lifecycle == literal_column(f"'{Lifecycle.OPEN.value}'")
IS_PENDING = DeliveryRow.c.state == literal_column(f"'{DeliveryState.PENDING.value}'")
TIMER_PENDING = TimerRow.c.state == literal_column(f"'{TimerState.PENDING.value}'")
IN_CHUNK = 500  # values per IN (...) list, well under both databases' parameter limits


class SqlRepository:
    """A repository works only inside the unit of work that made it."""

    def __init__(self, work: SqlUnitOfWork) -> None:
        self._work = work

    def _conn(self, *, write: bool = False) -> Connection:
        return self._work.connection(write=write)

    @staticmethod
    def _insert(conn: Connection, table: Any) -> SqliteInsert | PostgresqlInsert:
        return dialect_insert(conn, table)


def chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
