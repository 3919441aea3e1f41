"""timers and digests

Due work (reminders, expiries, fallback syncs) as rows with a unique key and a partial index
on what is pending; managers' digest subscriptions. Onboardings that are already waiting get
the timers they would have had, from now on (slots already past are not sent late: they
were due before there was a scheduler, not missed by one).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 19:10:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PENDING = sa.text("state = 'pending'")
# Frozen copies of the rules at this revision.
REMINDER_DELAYS = (timedelta(hours=24), timedelta(hours=48), timedelta(hours=168))
P2P_LIFETIME = timedelta(days=30)
WAITING = (("reseller", "reseller_status", "In Progress", "reseller_started_at"),
           ("gdap", "gdap_status", "In Progress", "gdap_started_at"),
           ("p2p", "p2p_status", "Pending", "p2p_started_at"))


def upgrade() -> None:
    timers = op.create_table(
        "timers",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("onboarding_id", sa.String(length=32), nullable=True),
        sa.Column("step", sa.String(length=16), nullable=True),
        sa.Column("slot", sa.Integer(), nullable=True),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timers")),
        sa.UniqueConstraint("key", name=op.f("uq_timers_key")),
    )
    op.create_index("ix_timers_pending_due_at", "timers", ["due_at"],
                    sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_index("ix_timers_onboarding_id_kind", "timers", ["onboarding_id", "kind"])

    op.create_table(
        "digests",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("direct", sa.Boolean(), nullable=False),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("time", sa.String(length=5), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("next_due_at", UTC_DATETIME, nullable=False),
        sa.Column("last_sent_at", UTC_DATETIME, nullable=True),
        sa.Column("last_counts", JSON_DOCUMENT, nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
        sa.UniqueConstraint("platform", "destination", name=op.f("uq_digests_platform_destination")),
    )
    op.create_index("ix_digests_next_due_at", "digests", ["next_due_at"])
    _backfill(timers)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _stored(value: datetime, sqlite: bool) -> datetime:
    return value.replace(tzinfo=None) if sqlite else value


def _backfill(timers: sa.Table) -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    now = datetime.now(UTC)
    columns = ", ".join(["id", "p2p_sent_at", *(c for _, c, _, _ in WAITING),
                         *(s for _, _, _, s in WAITING)])
    rows = bind.execute(sa.text(f"SELECT {columns} FROM onboardings "
                                "WHERE lifecycle = 'open'")).mappings().all()
    values = []
    for row in rows:
        waiting = False
        for step, status_column, status, start_column in WAITING:
            started = _aware(row[start_column])
            if row[status_column] != status or started is None:
                continue
            waiting = True
            for slot, delay in enumerate(REMINDER_DELAYS, start=1):
                if started + delay > now:
                    values.append({"key": f"reminder:{row['id']}:{step}:{started.isoformat()}:"
                                          f"{slot}", "kind": "reminder", "step": step,
                                   "slot": slot, "due_at": started + delay,
                                   "onboarding_id": row["id"]})
            sent = _aware(row["p2p_sent_at"])
            if step == "p2p" and sent is not None:
                values.append({"key": f"p2p.expiry:{row['id']}:{(sent + P2P_LIFETIME).isoformat()}",
                               "kind": "p2p.expiry", "step": "p2p", "slot": None,
                               "due_at": sent + P2P_LIFETIME, "onboarding_id": row["id"]})
        if waiting:
            values.append({"key": f"sync:{row['id']}", "kind": "sync", "step": None,
                           "slot": None, "due_at": now, "onboarding_id": row["id"]})
    if values:
        op.bulk_insert(timers, [{**v, "due_at": _stored(v["due_at"], sqlite), "state": "pending",
                                 "attempts": 0, "created_at": _stored(now, sqlite)}
                                for v in values])


def downgrade() -> None:
    op.drop_index("ix_digests_next_due_at", table_name="digests")
    op.drop_table("digests")
    op.drop_index("ix_timers_onboarding_id_kind", table_name="timers")
    op.drop_index("ix_timers_pending_due_at", table_name="timers")
    op.drop_table("timers")
