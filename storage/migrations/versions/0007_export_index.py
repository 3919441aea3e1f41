"""export index: every customer, open or closed, newest enrollment first

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_onboardings_enrolled_at_id"), "onboardings", ["enrolled_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_onboardings_enrolled_at_id"), table_name="onboardings")
