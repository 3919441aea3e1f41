"""What every repository shares: its unit of work's connection, dialect-aware upserts, and
the SQL predicates kept in one place (written as literals so PostgreSQL can match the
partial indexes' predicates)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Connection, literal_column, select, text

from bot.domain import Lifecycle
from bot.records import DeliveryState, TimerState
from storage.database import dialect_insert, is_sqlite
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


def present(conn: Connection, column: Column[str], values: list[str]) -> set[str]:
    """Which of `values` the (indexed, text) `column` holds: one look-up for many keys. On
    PostgreSQL a join with the values unnested, which it plans as one index probe per value
    whatever its statistics: an `IN` list of 500 was planned as a scan of the whole table
    while a fresh load had left none (1-2 s a look-up at 85,000 rows, against 3 ms)."""
    if not values:
        return set()
    if not is_sqlite(conn):
        name, table = column.name, column.table.name  # our own schema's names, not input
        probe = text(
            f"SELECT t.{name} FROM unnest(CAST(:wanted AS text[])) AS wanted(v) "
            f"JOIN {table} AS t ON t.{name} = wanted.v"
        )
        return set(conn.execute(probe, {"wanted": values}).scalars())
    found: set[str] = set()
    for chunk in chunks(values, IN_CHUNK):
        found.update(conn.execute(select(column).where(column.in_(chunk))).scalars())
    return found
