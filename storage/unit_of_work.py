"""`bot.ports.Store` over SQLAlchemy Core: each use case runs in one `SqlUnitOfWork`, and
what it put in the delivery ledger is sent after its outermost commit.

`bot/` only ever sees its own dataclasses; the rows stay in `storage/`. Writers are
serialised by the database itself (row locks on PostgreSQL, the single write lock on
SQLite), and every save checks the version it read, so no update is ever silently lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import NestedTransaction
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from bot.errors import StoreUnavailable
from bot.ports import (
    AccessRepository,
    ActivityRepository,
    BulkImportRepository,
    DeliveryLedger,
    DigestRepository,
    GdapNameRepository,
    OnboardingRepository,
    PartnerRepository,
    SubscriptionRepository,
    TimerRepository,
)
from storage.access import SqlAccess
from storage.imports import SqlBulkImports, SqlGdapNames, SqlPartners
from storage.ledger import SqlLedger
from storage.onboardings import SqlActivities, SqlOnboardings
from storage.subscriptions import SqlDigests, SqlSubscriptions
from storage.timers import SqlTimers
from storage.transactions import TransactionScope, current_scope, new_scope

log = logging.getLogger(__name__)

# Set while after-commit callbacks run on this thread: what they commit does not call them
# again (delivery marks rows sent; it never needs to deliver itself).
_in_after_commit: ContextVar[bool] = ContextVar("storage_in_after_commit", default=False)
# Set inside `SqlStore.batched()`: commits only note that something was enqueued.
_batch: ContextVar[list[bool] | None] = ContextVar("storage_batch", default=None)


class SqlStore:
    """The store; build it once per engine, after `storage.migrate.upgrade`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._after_commit: list[Callable[[], object]] = []

    def after_commit(self, callback: Callable[[], object]) -> None:
        self._after_commit.append(callback)

    @contextmanager
    def transaction(self) -> Iterator[SqlUnitOfWork]:
        """Commits when the block ends cleanly, rolls back when it raises.

        Opened while this thread already has one open on the same engine, it joins that
        one (its writes in a savepoint) and commits with it: a second connection would
        wait on the first one's locks for ever (PostgreSQL) or for the busy timeout (SQLite).
        """
        scope = current_scope(self.engine)
        if scope is not None:
            work = SqlUnitOfWork(scope, nested=True)
            try:
                yield work
            except BaseException:
                work.end_savepoint(commit=False)
                raise
            work.end_savepoint(commit=True)
            return
        try:
            with new_scope(self.engine) as own:
                yield SqlUnitOfWork(own)
        except (OperationalError, InterfaceError) as err:
            raise store_unavailable(err) from err
        if own.enqueued and self._after_commit and not _in_after_commit.get():
            batch = _batch.get()
            if batch is not None:
                batch.append(True)
            else:
                self._run_after_commit()

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Inside the block, commits that enqueue only note it; the after-commit callbacks
        run once when the block ends (even if it raises: what was committed is sent)."""
        if _batch.get() is not None:
            yield
            return
        noted: list[bool] = []
        token = _batch.set(noted)
        try:
            yield
        finally:
            _batch.reset(token)
            if noted and not _in_after_commit.get():
                self._run_after_commit()

    def _run_after_commit(self) -> None:
        token = _in_after_commit.set(True)
        try:
            for callback in self._after_commit:
                try:
                    callback()
                except Exception:
                    log.exception("sending after commit failed; the scheduler sends it later")
        finally:
            _in_after_commit.reset(token)


def store_unavailable(err: DBAPIError) -> StoreUnavailable:
    """What the user is told when the database cannot do its part; the details (never a
    password: URLs are not in these messages) go to the log once."""
    text = str(err.orig or err).lower()
    log.warning("onboarding store unavailable: %s", str(err.orig or err).splitlines()[0][:300])
    if "disk is full" in text or "no space left" in text or "diskfull" in text:
        return StoreUnavailable(
            "The onboarding store's disk is full: nothing was changed. Ask your admin to free "
            "space for the database, then try again."
        )
    if "readonly" in text or "read-only" in text or "read only" in text:
        return StoreUnavailable(
            "The onboarding store is read-only right now: nothing was changed. Ask your admin "
            "to make the database writable again, then try again."
        )
    if "locked" in text:
        return StoreUnavailable(
            "The onboarding store is busy: nothing was changed; try again in a minute."
        )
    return StoreUnavailable(
        "The onboarding store is not reachable; nothing was changed; try again in a minute."
    )


class SqlUnitOfWork:
    """Implements `bot.ports.UnitOfWork`: one transaction, a repository per kind of record."""

    def __init__(self, scope: TransactionScope, *, nested: bool = False) -> None:
        self._scope = scope
        self._nested = nested
        self._savepoint: NestedTransaction | None = None
        # Typed as the ports: the Protocol's attributes are settable, hence invariant.
        self.onboardings: OnboardingRepository = SqlOnboardings(self)
        self.activities: ActivityRepository = SqlActivities(self)
        self.bulk_imports: BulkImportRepository = SqlBulkImports(self)
        self.gdap_names: GdapNameRepository = SqlGdapNames(self)
        self.partners: PartnerRepository = SqlPartners(self)
        self.ledger: DeliveryLedger = SqlLedger(self)
        self.timers: TimerRepository = SqlTimers(self)
        self.subscriptions: SubscriptionRepository = SqlSubscriptions(self)
        self.digests: DigestRepository = SqlDigests(self)
        self.access: AccessRepository = SqlAccess(self)

    def blocks_other_writers(self) -> bool:
        return self._scope.blocks_other_writers()

    def connection(self, *, write: bool = False) -> Connection:
        """The transaction's connection; a joined unit of work writes in its own savepoint,
        so its failure does not spoil the outer one's work."""
        conn = self._scope.connection(write=write)
        if write and self._nested and self._savepoint is None:
            self._savepoint = conn.begin_nested()
        return conn

    def enqueued(self) -> None:
        """Something went into the ledger: send after the outermost commit."""
        self._scope.enqueued = True

    def end_savepoint(self, *, commit: bool) -> None:
        if self._savepoint is not None and self._savepoint.is_active:
            if commit:
                self._savepoint.commit()
            else:
                self._savepoint.rollback()
        self._savepoint = None
