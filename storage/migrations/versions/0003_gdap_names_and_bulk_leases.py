"""gdap names and bulk import leases

Admin relationship names become unique in the database (case-folded, as Microsoft compares
them), in a table of every name ever requested, so two replicas cannot both take one. Bulk
imports being enrolled carry a lease and who confirmed them, so an import whose worker died
is resumed instead of staying "running" for ever.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
)
RUNNING = sa.text("state = 'running'")


def upgrade() -> None:
    names = op.create_table(
        "gdap_names",
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("onboarding_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("name_key", name=op.f("pk_gdap_names")),
    )
    op.create_index(op.f("ix_gdap_names_onboarding_id"), "gdap_names", ["onboarding_id"])
    with op.batch_alter_table("bulk_imports") as batch:
        batch.add_column(sa.Column("confirmed_by", JSON_DOCUMENT, nullable=True))
        batch.add_column(sa.Column("lease_until", UTC_DATETIME, nullable=True))
    op.create_index(
        "ix_bulk_imports_running_lease",
        "bulk_imports",
        ["lease_until"],
        sqlite_where=RUNNING,
        postgresql_where=RUNNING,
    )
    _backfill(names)


def _backfill(names: sa.Table) -> None:
    """The names already requested; of two that fold alike (possible before this
    revision), the first enrolled keeps it."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT id, gdap_relationship_name, enrolled_at FROM onboardings "
            "WHERE gdap_relationship_name IS NOT NULL ORDER BY enrolled_at, id"
        )
    ).all()
    seen: set[str] = set()
    values = []
    for onboarding_id, name, enrolled_at in rows:
        key = " ".join(name.split()).casefold()
        if key in seen:
            continue
        seen.add(key)
        values.append(
            {"name_key": key, "name": name, "onboarding_id": onboarding_id,
             "created_at": enrolled_at}
        )
    if values:
        op.bulk_insert(names, values)


def downgrade() -> None:
    op.drop_index("ix_bulk_imports_running_lease", table_name="bulk_imports")
    with op.batch_alter_table("bulk_imports") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("confirmed_by")
    op.drop_index(op.f("ix_gdap_names_onboarding_id"), table_name="gdap_names")
    op.drop_table("gdap_names")
