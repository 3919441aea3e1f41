"""list order: an import's customers in the order of their file

The lists were ordered by `enrolled_at` and then by the random id, so the rows of one bulk
import (enrolled in the same instant, 200 at a time) came out shuffled. Onboardings now
carry where the lists put them: `listed_at` (the enrollment, or the moment its import began
enrolling) and `bulk_row` (the row of the file it came from). Existing imports are filled in
from the rows each import kept.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Plain ALTERs, no batch copy: SQLite keeps the table, and with it the expression and
    # partial indexes (one open onboarding per domain) a copy would lose.
    op.add_column("onboardings", sa.Column("bulk_row", sa.Integer(), nullable=True))
    op.add_column("onboardings", sa.Column("listed_at", UTC_DATETIME, nullable=True))
    _backfill()
    op.drop_index("ix_onboardings_dashboard", table_name="onboardings")
    op.create_index(
        "ix_onboardings_dashboard",
        "onboardings",
        ["lifecycle", "overall_status", "listed_at", "bulk_row"],
    )
    op.create_index(
        "ix_onboardings_lifecycle_listed_at", "onboardings", ["lifecycle", "listed_at", "bulk_row"]
    )


def _backfill() -> None:
    connection = op.get_bind()
    onboardings = sa.table(
        "onboardings",
        sa.column("id", sa.String),
        sa.column("domain", sa.Text),
        sa.column("enrolled_at", UTC_DATETIME),
        sa.column("bulk_import_id", sa.String),
        sa.column("bulk_row", sa.Integer),
        sa.column("listed_at", UTC_DATETIME),
    )
    imports = sa.table("bulk_imports", sa.column("id", sa.String), sa.column("valid_rows", sa.JSON))
    connection.execute(sa.update(onboardings).values(listed_at=onboardings.c.enrolled_at))
    for import_id, valid_rows in connection.execute(sa.select(imports.c.id, imports.c.valid_rows)):
        row_of = {str(r["domain"]).lower(): int(r["row"]) for r in valid_rows or []}
        members = connection.execute(
            sa.select(onboardings.c.id, onboardings.c.domain, onboardings.c.enrolled_at).where(
                onboardings.c.bulk_import_id == import_id
            )
        ).all()
        if not members:
            continue
        began = min(m.enrolled_at for m in members)
        connection.execute(  # one executemany per import
            sa.update(onboardings)
            .where(onboardings.c.id == sa.bindparam("member"))
            .values(listed_at=sa.bindparam("began"), bulk_row=sa.bindparam("row")),
            [
                {"member": m.id, "began": began, "row": row_of.get(m.domain.lower())}
                for m in members
            ],
        )


def downgrade() -> None:
    op.drop_index("ix_onboardings_lifecycle_listed_at", table_name="onboardings")
    op.drop_index("ix_onboardings_dashboard", table_name="onboardings")
    op.create_index(
        "ix_onboardings_dashboard", "onboardings", ["lifecycle", "overall_status", "enrolled_at"]
    )
    # DROP COLUMN in place (SQLite 3.35+), for the same reason as above
    op.execute("ALTER TABLE onboardings DROP COLUMN listed_at")
    op.execute("ALTER TABLE onboardings DROP COLUMN bulk_row")
