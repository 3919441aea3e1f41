"""One database transaction per use case, shared by everything that use case calls on its thread.

A use case holds a store transaction while it calls the sandbox Microsoft backend or the hub
directory, which keep their state in the same database. On SQLite a second connection could
not write while the first holds the single write lock, and would wait out the busy timeout
against its own thread; so code running inside an open transaction joins it (in a savepoint)
instead of opening another. The joined work then commits or rolls back with the use case.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Connection, Engine

from bot.priority import about_to_write
from storage.database import READ_ONLY, is_sqlite

_open: ContextVar[tuple[TransactionScope, ...]] = ContextVar("storage_open_scopes", default=())


class TransactionScope:
    """A transaction on one connection, begun at its first statement in the mode it needs.

    It starts read-only when its first use only reads. On SQLite a read-only transaction
    holds no lock, and the first write-intent use (a locking read or a write) restarts it
    with BEGIN IMMEDIATE: nothing was written yet, so nothing is lost, and as with
    PostgreSQL's READ COMMITTED what was read before may since have changed. That is why
    writers lock what they read (`for_update`) and saves check the version.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None
        self._writing = False
        self.enqueued = False  # the ledger got a delivery: send it once this commits

    def connection(self, *, write: bool) -> Connection:
        """The connection, in a transaction fit to `write` when asked to."""
        conn = self._connection
        if conn is None:
            conn = self._connection = self.engine.connect()
        if write and not (conn.in_transaction() and self._writing):
            about_to_write()  # an import holding SQLite's write lock hurries to commit
        if not conn.in_transaction():
            conn.execution_options(**{READ_ONLY: not write})
            conn.begin()
            self._writing = write
        elif write and not self._writing:
            if is_sqlite(conn):
                if conn.in_nested_transaction():  # only write mode ever opens savepoints
                    raise RuntimeError("cannot take the SQLite write lock inside a savepoint")
                conn.commit()
                conn.execution_options(**{READ_ONLY: False})
                conn.begin()
            self._writing = True
        return conn

    def blocks_other_writers(self) -> bool:
        """On SQLite, a transaction that took the write lock (BEGIN IMMEDIATE) holds off
        every other writer until it ends; on PostgreSQL writers lock only rows."""
        conn = self._connection
        return conn is not None and conn.in_transaction() and self._writing and is_sqlite(conn)

    def commit(self) -> None:
        if self._connection is not None and self._connection.in_transaction():
            self._connection.commit()

    def rollback(self) -> None:
        if self._connection is not None and self._connection.in_transaction():
            self._connection.rollback()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def current_scope(engine: Engine) -> TransactionScope | None:
    """The transaction this thread has open on `engine`, if any."""
    for scope in reversed(_open.get()):
        if scope.engine is engine:
            return scope
    return None


@contextmanager
def new_scope(engine: Engine) -> Iterator[TransactionScope]:
    """A new transaction, visible to `joined` on this thread until it ends; commits when the
    block ends cleanly, rolls back when it raises."""
    scope = TransactionScope(engine)
    token = _open.set((*_open.get(), scope))
    try:
        yield scope
        scope.commit()
    except BaseException:
        scope.rollback()
        raise
    finally:
        _open.reset(token)
        scope.close()


@contextmanager
def joined(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """A connection in the transaction open on this thread (writes in a savepoint, so a
    failure here does not spoil the caller's work), or in a short one of its own."""
    scope = current_scope(engine)
    if scope is None:
        with new_scope(engine) as own:
            yield own.connection(write=write)
        return
    conn = scope.connection(write=write)
    if not write:
        yield conn
        return
    with conn.begin_nested():
        yield conn
