"""list order indexes: the lists read their page from an index, not from a sort of the store

The lists are ordered `listed_at DESC, bulk_row ASC NULLS FIRST, id DESC`. The indexes of
0008 hold (lifecycle, [overall_status,] listed_at, bulk_row) all ascending; read backwards
that is `bulk_row DESC NULLS FIRST`, so neither database could walk it for that order, and
every `status` page scanned and sorted all open onboardings (18 ms at 10,000 on PostgreSQL,
growing with the store). These indexes hold the columns in the lists' own directions, with
`id` last, so a page is read from the index and stops after its rows. SQLite sorts NULL
first in ascending order already and accepts no NULLS clause in an index.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LISTED = "ix_onboardings_lifecycle_listed_at"
DASHBOARD = "ix_onboardings_dashboard"


def upgrade() -> None:
    bulk_row = "bulk_row" if op.get_bind().dialect.name == "sqlite" else "bulk_row NULLS FIRST"
    order = [sa.text("listed_at DESC"), sa.text(bulk_row), sa.text("id DESC")]
    op.drop_index(LISTED, table_name="onboardings")
    op.drop_index(DASHBOARD, table_name="onboardings")
    op.create_index(LISTED, "onboardings", [sa.text("lifecycle"), *order])
    op.create_index(DASHBOARD, "onboardings", [sa.text("lifecycle"), sa.text("overall_status"), *order])


def downgrade() -> None:
    op.drop_index(DASHBOARD, table_name="onboardings")
    op.drop_index(LISTED, table_name="onboardings")
    op.create_index(DASHBOARD, "onboardings", ["lifecycle", "overall_status", "listed_at", "bulk_row"])
    op.create_index(LISTED, "onboardings", ["lifecycle", "listed_at", "bulk_row"])
