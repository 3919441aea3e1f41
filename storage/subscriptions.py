"""Where notices and digests go: channel subscriptions and digest schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from bot.records import DigestSubscription, Subscription
from storage.database import is_sqlite
from storage.mapping import digest_values, subscription_values, to_digest, to_subscription
from storage.models import DigestRow, SubscriptionRow
from storage.sql import SqlRepository


class SqlSubscriptions(SqlRepository):
    """Implements `bot.ports.SubscriptionRepository`."""

    def all(self) -> list[Subscription]:
        """In the order they were made."""
        stmt = select(SubscriptionRow).order_by(SubscriptionRow.c.id)
        return [to_subscription(row) for row in self._conn().execute(stmt)]

    def save(self, subscription: Subscription) -> None:
        """Replaces the level, label, author and time of one for the same destination."""
        conn = self._conn(write=True)
        values = subscription_values(subscription)
        stmt = self._insert(conn, SubscriptionRow).values(**values)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[SubscriptionRow.c.platform, SubscriptionRow.c.destination],
                set_={k: v for k, v in values.items() if k not in ("platform", "destination")},
            )
        )

    def remove(self, platform: str, destination: str) -> bool:
        """False when there was none."""
        result = self._conn(write=True).execute(
            delete(SubscriptionRow).where(
                SubscriptionRow.c.platform == platform, SubscriptionRow.c.destination == destination
            )
        )
        return result.rowcount > 0


class SqlDigests(SqlRepository):
    """Implements `bot.ports.DigestRepository`."""

    def get(self, platform: str, destination: str) -> DigestSubscription | None:
        row = (
            self._conn()
            .execute(
                select(DigestRow).where(
                    DigestRow.c.platform == platform, DigestRow.c.destination == destination
                )
            )
            .first()
        )
        return to_digest(row) if row else None

    def save(self, digest: DigestSubscription) -> DigestSubscription:
        """A new schedule keeps what the last digest said, so the next one still reports the
        change since then."""
        conn = self._conn(write=True)
        values = digest_values(digest)
        keep = ("platform", "destination", "last_sent_at", "last_counts")
        stmt = self._insert(conn, DigestRow).values(**values)
        digest.id = conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[DigestRow.c.platform, DigestRow.c.destination],
                set_={k: v for k, v in values.items() if k not in keep},
            ).returning(DigestRow.c.id)
        ).scalar_one()
        return digest

    def remove(self, platform: str, destination: str) -> bool:
        result = self._conn(write=True).execute(
            delete(DigestRow).where(
                DigestRow.c.platform == platform, DigestRow.c.destination == destination
            )
        )
        return result.rowcount > 0

    def claim_due(self, now: datetime) -> DigestSubscription | None:
        conn = self._conn(write=True)
        stmt = (
            select(DigestRow)
            .where(DigestRow.c.next_due_at <= now)
            .order_by(DigestRow.c.next_due_at, DigestRow.c.id)
            .limit(1)
        )
        if not is_sqlite(conn):
            stmt = stmt.with_for_update(skip_locked=True)
        row = conn.execute(stmt).first()
        return to_digest(row) if row else None

    def sent(
        self, digest_id: int, at: datetime, counts: dict[str, int], next_due_at: datetime | None
    ) -> None:
        values: dict[str, Any] = {"last_sent_at": at, "last_counts": dict(counts)}
        if next_due_at is not None:
            values["next_due_at"] = next_due_at
        self._conn(write=True).execute(
            update(DigestRow).where(DigestRow.c.id == digest_id).values(**values)
        )
