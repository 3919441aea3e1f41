"""Engines for the two supported databases, SQLite (the embedded default) and PostgreSQL.

Everything dialect-specific about connecting lives here, so the rest of `storage/` can treat
both the same way.
"""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, String, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PostgresqlInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert

SQLITE_BUSY_TIMEOUT_MS = 30_000

READ_ONLY = "storage_read_only"
"""Execution option for a `Connection`, set before its transaction begins: on SQLite the
transaction then starts with a plain BEGIN (no write lock, never waits). Without it, every
SQLite transaction starts with BEGIN IMMEDIATE, so code that reads and then writes cannot lose
an update. Writing inside a read-only transaction may fail with "database is locked"."""


def normalise_url(url: str | URL) -> str:
    """The URL with the driver this project installs: psycopg 3 for PostgreSQL.

    Accepts what users paste from their hosting provider (`postgres://`, `postgresql://`)
    and refuses in-memory SQLite, whose every pooled connection would be a separate empty
    database.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(
            "Database URL is not valid: use sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
        ) from None
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        if parsed.drivername in ("postgres", "postgresql"):
            parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend == "sqlite":
        if parsed.database in (None, "", ":memory:") or "mode=memory" in str(parsed.query):
            raise ValueError(
                "An in-memory SQLite database cannot be shared between "
                "connections; use a file: sqlite:///PATH"
            )
    else:
        raise ValueError(
            f"Unsupported database {backend!r}: use sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DB"
        )
    return parsed.render_as_string(hide_password=False)


def create_engine_for(url: str | URL) -> Engine:
    """An engine that several worker threads may share.

    SQLite gets WAL (readers never wait for the writer), a 30 s busy timeout, foreign keys,
    and transactions that take the write lock at BEGIN (see `READ_ONLY`): SQLite has one
    writer at a time, and taking the lock up front is what makes a read-modify-write safe
    there. PostgreSQL gets `pool_pre_ping`, so a connection dropped by a restart or a proxy
    is replaced instead of failing a user's command. Both hide a statement's parameters in
    errors: a failed write's traceback would otherwise log the customer's address, the mail
    it was sending and whatever else the row held.
    """
    normalised = make_url(normalise_url(url))
    if normalised.get_backend_name() == "sqlite":
        engine = create_engine(normalised, hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    return create_engine(normalised, pool_pre_ping=True, hide_parameters=True)


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


def refresh_statistics(conn: Connection, tables: tuple[str, ...]) -> None:
    """The planner's statistics, brought up to date with the rows just loaded. Without
    them SQLite plans a lookup of domains or names among open customers by the `lifecycle`
    index: a scan of every open customer per lookup (measured: 170 ms for the summary of a
    10,000-row import). SQLite's sampling ANALYZE (`analysis_limit`) is no cure: it counts
    at most its sample per key and so takes `lifecycle` for selective. A full one takes
    26 ms at 10,000 onboardings and 0.2 s at 100,000. PostgreSQL would otherwise plan for
    the table as it was before the load, until autovacuum's next round."""
    if is_sqlite(conn):
        conn.exec_driver_sql("ANALYZE")
    else:
        conn.exec_driver_sql(f"ANALYZE {', '.join(tables)}")


def dialect_insert(bind: Engine | Connection, table: Any) -> SqliteInsert | PostgresqlInsert:
    """The database's own INSERT, which knows ON CONFLICT. Imported here, when first used,
    so that a SQLite start never loads the PostgreSQL dialect (a share of start-up)."""
    if is_sqlite(bind):
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    from sqlalchemy.dialects import postgresql

    return postgresql.insert(table)


def _configure_sqlite(engine: Engine) -> None:
    # SQLAlchemy's documented recipe: stop pysqlite from issuing BEGIN itself (it defers it
    # and skips it before SELECT and SAVEPOINT) and issue it ourselves, with the lock mode.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.create_function("unicode_lower", 1, _unicode_lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            _use_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _use_wal(cursor: sqlite3.Cursor) -> None:
    """WAL is a property of the file, set once; switching to it needs the file to itself,
    and SQLite reports "locked" at once, without its busy wait, while another connection
    opens it (several workers or replicas starting on a new file). So wait here."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _unicode_lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


class _FoldCase(FunctionElement[str]):
    type = String()
    inherit_cache = True
    name = "fold_case"


@compiles(_FoldCase)
def _fold_case_default(element: _FoldCase, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(_FoldCase, "sqlite")
def _fold_case_sqlite(element: _FoldCase, compiler: SQLCompiler, **kw: Any) -> str:
    return f"unicode_lower({compiler.process(element.clauses, **kw)})"


def fold_case(expression: ColumnElement[str] | Any) -> ColumnElement[str]:
    """`lower()` that also folds non-ASCII letters on SQLite, whose built-in `lower()` and
    `LIKE` only know A-Z: customers are called "Müller GmbH" and "Société Générale" too."""
    return _FoldCase(expression)
