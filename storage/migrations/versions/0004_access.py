"""access: granted roles and the access log

Roles (viewer, operator, admin) an admin granted with `access grant`, shared by every replica
at once, and the bot's own log of who granted or revoked whose role.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "access_grants",
        sa.Column("identity", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("granted_by", sa.Text(), nullable=False),
        sa.Column("granted_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("identity", name=op.f("pk_access_grants")),
    )
    op.create_table(
        "access_log",
        sa.Column("seq", SERIAL, autoincrement=True, nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("identity", sa.String(length=300), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_access_log")),
    )
    op.create_index(op.f("ix_access_log_at"), "access_log", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_access_log_at"), table_name="access_log")
    op.drop_table("access_log")
    op.drop_table("access_grants")
