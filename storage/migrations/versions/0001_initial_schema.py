"""initial schema

Onboardings, activity log, bulk imports, delivery ledger, known partners, notice
subscriptions, outbox mail, hub directory and sandbox state.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 18:16:07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types in storage/models.py at this revision (a migration must not
# change when the models do). UtcDateTime only converts values; its column type is this.
UTC_DATETIME = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN = sa.text("lifecycle = 'open'")
PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    op.create_table(
        "onboardings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=8), nullable=False),
        sa.Column("enrolled_at", UTC_DATETIME, nullable=False),
        sa.Column("enrolled_by", sa.Text(), nullable=False),
        sa.Column("reseller_status", sa.String(length=32), nullable=False),
        sa.Column("reseller_started_at", UTC_DATETIME, nullable=True),
        sa.Column("customer_tenant_id", sa.String(length=64), nullable=True),
        sa.Column("gdap_status", sa.String(length=32), nullable=False),
        sa.Column("gdap_started_at", UTC_DATETIME, nullable=True),
        sa.Column("gdap_relationship_name", sa.Text(), nullable=True),
        sa.Column("gdap_duration_days", sa.Integer(), nullable=True),
        sa.Column("gdap_role_ids", JSON_DOCUMENT, nullable=True),
        sa.Column("gdap_relationship_id", sa.Text(), nullable=True),
        sa.Column("gdap_approval_url", sa.Text(), nullable=True),
        sa.Column("gdap_ends_at", UTC_DATETIME, nullable=True),
        sa.Column("hub_status", sa.String(length=32), nullable=False),
        sa.Column("hub_started_at", UTC_DATETIME, nullable=True),
        sa.Column("hub_customer_id", sa.Text(), nullable=True),
        sa.Column("p2p_status", sa.String(length=32), nullable=False),
        sa.Column("p2p_started_at", UTC_DATETIME, nullable=True),
        sa.Column("p2p_partner_name", sa.Text(), nullable=True),
        sa.Column("p2p_partner_tenant_id", sa.String(length=64), nullable=True),
        sa.Column("p2p_partner_email", sa.Text(), nullable=True),
        sa.Column("p2p_transfer_id", sa.Text(), nullable=True),
        sa.Column("p2p_sent_at", UTC_DATETIME, nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("overall_status", sa.String(length=16), nullable=False),
        sa.Column("lifecycle", sa.String(length=16), nullable=False),
        sa.Column("closed_at", UTC_DATETIME, nullable=True),
        sa.Column("bulk_import_id", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboardings")),
    )
    op.create_index("uq_onboardings_open_domain", "onboardings", [sa.text("lower(domain)")],
                    unique=True, sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_index("ix_onboardings_open_name", "onboardings", [sa.text("lower(name)")],
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_index("ix_onboardings_gdap_name", "onboardings",
                    [sa.text("lower(gdap_relationship_name)")])
    op.create_index("ix_onboardings_dashboard", "onboardings",
                    ["lifecycle", "overall_status", "enrolled_at"])
    op.create_index("ix_onboardings_lifecycle_enrolled_at", "onboardings",
                    ["lifecycle", "enrolled_at"])
    for column in ("reseller_started_at", "gdap_started_at", "p2p_started_at"):
        op.create_index(f"ix_onboardings_open_{column}", "onboardings", [column],
                        sqlite_where=OPEN, postgresql_where=OPEN)

    op.create_table(
        "activities",
        sa.Column("seq", SERIAL, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("onboarding_id", sa.String(length=32), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("actor_id", sa.Text(), nullable=False),
        sa.Column("actor_name", sa.Text(), nullable=False),
        sa.Column("actor_platform", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", JSON_DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(["onboarding_id"], ["onboardings.id"],
                                name=op.f("fk_activities_onboarding_id_onboardings")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_activities")),
        sa.UniqueConstraint("id", name=op.f("uq_activities_id")),
    )
    op.create_index("ix_activities_onboarding_id_at", "activities", ["onboarding_id", "at"])

    op.create_table(
        "bulk_imports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("valid_rows", JSON_DOCUMENT, nullable=False),
        sa.Column("errors", JSON_DOCUMENT, nullable=False),
        sa.Column("enrolled", JSON_DOCUMENT, nullable=False),
        sa.Column("failed", JSON_DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_imports")),
    )

    op.create_table(
        "deliveries",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.Column("onboarding_id", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=False),
        sa.Column("claimed_until", UTC_DATETIME, nullable=True),
        sa.Column("last_attempt_at", UTC_DATETIME, nullable=True),
        sa.Column("sent_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("key", name=op.f("uq_deliveries_key")),
    )
    op.create_index("ix_deliveries_onboarding_id", "deliveries", ["onboarding_id"])
    op.create_index("ix_deliveries_pending_next_attempt_at", "deliveries", ["next_attempt_at"],
                    sqlite_where=PENDING, postgresql_where=PENDING)

    op.create_table(
        "partners",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_partners")),
    )

    op.create_table(
        "outbox_mail",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("to_address", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("onboarding_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_mail")),
    )
    op.create_index("ix_outbox_mail_at", "outbox_mail", ["at"])
    op.create_index("ix_outbox_mail_onboarding_id_at", "outbox_mail", ["onboarding_id", "at"])

    op.create_table(
        "hub_customers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("company_name", sa.Text(), nullable=False),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=8), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=False),
        sa.Column("last_name", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=False),
        sa.Column("address_line1", sa.Text(), nullable=False),
        sa.Column("city", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("postal_code", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_customers")),
    )
    op.create_index("uq_hub_customers_domain", "hub_customers", [sa.text("lower(domain)")],
                    unique=True)

    op.create_table(
        "subscriptions",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("platform", "destination",
                            name=op.f("uq_subscriptions_platform_destination")),
    )

    op.create_table(
        "adapter_state",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("data", JSON_DOCUMENT, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adapter_state")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_adapter_state_kind_key")),
    )


def downgrade() -> None:
    for table in ("adapter_state", "subscriptions", "hub_customers", "outbox_mail", "partners", "deliveries",
                  "bulk_imports", "activities", "onboardings"):
        op.drop_table(table)  # drops the table's indexes with it
