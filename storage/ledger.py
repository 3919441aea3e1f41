"""The delivery ledger: everything that goes out, once per key, claimed with a lease."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from bot.errors import NotFound
from bot.records import Delivery, DeliveryState
from bot.wiring import MAIL_CHANNEL
from storage.database import is_sqlite
from storage.mapping import to_delivery
from storage.models import DeliveryRow
from storage.sql import IN_CHUNK, IS_PENDING, SqlRepository, chunks, present


class SqlLedger(SqlRepository):
    """Implements `bot.ports.DeliveryLedger`."""

    def enqueue(self, delivery: Delivery) -> bool:
        conn = self._conn(write=True)
        stmt = self._insert(conn, DeliveryRow).values(**_values(delivery))
        new_id = conn.execute(
            stmt.on_conflict_do_nothing(index_elements=[DeliveryRow.c.key]).returning(
                DeliveryRow.c.id
            )
        ).scalar_one_or_none()
        if new_id is None:
            return False
        delivery.id = new_id
        self._work.enqueued()
        return True

    def enqueue_all(self, deliveries: list[Delivery]) -> None:
        """`enqueue` for many in one executemany (a bulk chunk's invitations); a key already
        in the ledger adds nothing. Their `id` is not set: the sender claims them by key."""
        if not deliveries:
            return
        conn = self._conn(write=True)
        stmt = self._insert(conn, DeliveryRow).on_conflict_do_nothing(
            index_elements=[DeliveryRow.c.key]
        )
        conn.execute(stmt, [_values(d) for d in deliveries])
        self._work.enqueued()

    def enqueue_new(self, deliveries: list[Delivery]) -> set[str]:
        """`enqueue` for many: the keys already in the ledger looked up in one query, the
        others inserted in one executemany (pipelined on PostgreSQL, a third cheaper than
        one INSERT … RETURNING of many rows; the driver does not count the rows an
        executemany inserted). Returns the keys that were not there; see the port for the
        lock the caller holds so none is added by someone else in between."""
        if not deliveries:
            return set()
        there = present(self._conn(write=True), DeliveryRow.c.key, [d.key for d in deliveries])
        fresh = {d.key: d for d in deliveries if d.key not in there}
        self.enqueue_all(list(fresh.values()))  # ON CONFLICT DO NOTHING all the same
        return set(fresh)

    def claim(
        self, now: datetime, limit: int, lease_seconds: int, channels: list[str] | None = None
    ) -> list[Delivery]:
        """Oldest first. On PostgreSQL rows another sender is claiming are skipped, not
        waited for; on SQLite claims are serialised by the write lock."""
        if limit <= 0 or channels == []:
            return []
        conn = self._conn(write=True)
        stmt = select(DeliveryRow).where(
            IS_PENDING,
            DeliveryRow.c.next_attempt_at <= now,
            (DeliveryRow.c.claimed_until.is_(None)) | (DeliveryRow.c.claimed_until < now),
        )
        if channels is not None:
            stmt = stmt.where(DeliveryRow.c.channel.in_(channels))
        stmt = stmt.order_by(DeliveryRow.c.created_at, DeliveryRow.c.id).limit(limit)
        if not is_sqlite(conn):
            stmt = stmt.with_for_update(skip_locked=True)
        rows = conn.execute(stmt).all()
        if not rows:
            return []
        until = now + timedelta(seconds=lease_seconds)
        ids = [row.id for row in rows]
        conn.execute(
            update(DeliveryRow)
            .where(DeliveryRow.c.id.in_(ids))
            .values(claimed_until=until, attempts=DeliveryRow.c.attempts + 1)
        )
        claimed = [to_delivery(row) for row in rows]
        for delivery in claimed:
            delivery.attempts += 1
        return claimed

    def mark_sent(self, delivery_id: int, at: datetime) -> None:
        self._mark(
            delivery_id,
            state=DeliveryState.SENT.value,
            sent_at=at,
            last_attempt_at=at,
            claimed_until=None,
        )

    def mark_all_sent(self, delivery_ids: list[int], at: datetime) -> None:
        """`mark_sent` for a batch, one statement per `IN_CHUNK` ids."""
        conn = self._conn(write=True)
        for chunk in chunks(delivery_ids, IN_CHUNK):
            conn.execute(
                update(DeliveryRow)
                .where(DeliveryRow.c.id.in_(chunk))
                .values(
                    state=DeliveryState.SENT.value,
                    sent_at=at,
                    last_attempt_at=at,
                    claimed_until=None,
                )
            )

    def mark_failed(
        self, delivery_id: int, at: datetime, error: str, retry_at: datetime | None
    ) -> None:
        """`retry_at` None gives up for good; otherwise the delivery waits until then."""
        values: dict[str, Any] = {"last_error": error, "last_attempt_at": at, "claimed_until": None}
        if retry_at is None:
            values["state"] = DeliveryState.FAILED.value
        else:
            values["next_attempt_at"] = retry_at
        self._mark(delivery_id, **values)

    def defer(self, delivery_id: int, until: datetime) -> None:
        """Untried: the attempt the claim counted is given back."""
        self._mark(
            delivery_id,
            next_attempt_at=until,
            claimed_until=None,
            attempts=DeliveryRow.c.attempts - 1,
        )

    def withdraw_mail(self, onboarding_id: str, recipient: str, at: datetime, reason: str) -> int:
        """Gives up, unsent, the mail still pending for this onboarding to `recipient`."""
        conn = self._conn(write=True)
        rows = conn.execute(
            select(DeliveryRow.c.id, DeliveryRow.c.payload).where(
                DeliveryRow.c.onboarding_id == onboarding_id,
                DeliveryRow.c.channel == MAIL_CHANNEL,
                IS_PENDING,
            )
        ).all()
        ids = [
            row.id
            for row in rows
            if str((row.payload or {}).get("to", "")).casefold() == recipient.casefold()
        ]
        if ids:
            conn.execute(
                update(DeliveryRow)
                .where(DeliveryRow.c.id.in_(ids), IS_PENDING)
                .values(
                    state=DeliveryState.FAILED.value,
                    last_error=reason,
                    last_attempt_at=at,
                    claimed_until=None,
                )
            )
        return len(ids)

    def _mark(self, delivery_id: int, **values: Any) -> None:
        result = self._conn(write=True).execute(
            update(DeliveryRow).where(DeliveryRow.c.id == delivery_id).values(**values)
        )
        if result.rowcount != 1:
            raise NotFound(f"There is no delivery {delivery_id} in the ledger.")


def _values(delivery: Delivery) -> dict[str, Any]:
    return {
        "key": delivery.key,
        "channel": delivery.channel,
        "payload": delivery.payload,
        "onboarding_id": delivery.onboarding_id,
        "state": delivery.state.value,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "next_attempt_at": delivery.created_at,
    }
