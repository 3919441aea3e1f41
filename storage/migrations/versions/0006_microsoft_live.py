"""microsoft live: the customer tenant, requests waiting on Microsoft, access assignments

The tenant that owns the customer's domain is looked up at enrollment (and when it was looked
up); a GDAP request or P2P transfer that Microsoft did not answer keeps why, so the scheduler
creates it later; a GDAP relationship keeps when Microsoft ends it unapproved and the partner
groups given its roles; a transfer keeps Partner Center's own expiry. Webhooks find the
onboardings they concern by tenant, relationship or transfer id, through indexes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
)
OPEN = sa.text("lifecycle = 'open'")
ID_INDEXES = {
    "ix_onboardings_open_tenant": "customer_tenant_id",
    "ix_onboardings_open_gdap_relationship": "gdap_relationship_id",
    "ix_onboardings_open_p2p_transfer": "p2p_transfer_id",
}


def upgrade() -> None:
    with op.batch_alter_table("onboardings") as batch:
        batch.add_column(sa.Column("tenant_checked_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("gdap_waiting", sa.Text(), nullable=True))
        batch.add_column(sa.Column("gdap_ends_unapproved_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("gdap_assignments", JSON_DOCUMENT, nullable=True))
        batch.add_column(sa.Column("p2p_expires_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("p2p_waiting", sa.Text(), nullable=True))
    for name, column in ID_INDEXES.items():
        op.create_index(
            name,
            "onboardings",
            [sa.text(f"lower({column})")],
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        )


def downgrade() -> None:
    for name in ID_INDEXES:
        op.drop_index(name, table_name="onboardings")
    with op.batch_alter_table("onboardings") as batch:
        for column in (
            "p2p_waiting",
            "p2p_expires_at",
            "gdap_assignments",
            "gdap_ends_unapproved_at",
            "gdap_waiting",
            "tenant_checked_at",
        ):
            batch.drop_column(column)
