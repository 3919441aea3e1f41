"""closed lookups: finished and cancelled customers found by domain or name, listed by close

`show`, `log` and `search` find closed customers too, and `status finished|cancelled` lists
them newest closed first; the open-only partial indexes cannot serve those.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 13:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_onboardings_domain", "onboardings", [sa.text("lower(domain)")])
    op.create_index("ix_onboardings_name", "onboardings", [sa.text("lower(name)")])
    op.create_index(
        "ix_onboardings_lifecycle_closed_at", "onboardings", ["lifecycle", "closed_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_onboardings_lifecycle_closed_at", table_name="onboardings")
    op.drop_index("ix_onboardings_name", table_name="onboardings")
    op.drop_index("ix_onboardings_domain", table_name="onboardings")
