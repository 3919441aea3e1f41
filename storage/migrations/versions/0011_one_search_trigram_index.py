"""one trigram index for search: name and domain joined, instead of one index each

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 13:45:00

Measured in docs/PERFORMANCE.md: with a trigram index on lower(domain), PostgreSQL's planner
also took it for the bulk import's `lower(domain) IN (...)` lookups (pg_trgm answers `=`),
7.5 s instead of milliseconds for 3,000 rows. On the joined text (a control character, which
no search may hold, between the two) only `search` can use it. SQLite is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIND = "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    bind.execute(text("DROP INDEX IF EXISTS ix_onboardings_name_trgm"))
    bind.execute(text("DROP INDEX IF EXISTS ix_onboardings_domain_trgm"))
    schema = bind.execute(text(FIND)).scalar_one_or_none()
    if schema is None:
        return  # 0009 logged why; storage.search.ensure_trigram_indexes adds it later
    bind.execute(
        text(
            "CREATE INDEX IF NOT EXISTS ix_onboardings_search_trgm ON onboardings USING gin "
            f'((lower(name) || chr(31) || lower(domain)) "{str(schema).strip(chr(34))}".gin_trgm_ops)'
        )
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    bind.execute(text("DROP INDEX IF EXISTS ix_onboardings_search_trgm"))
    schema = bind.execute(text(FIND)).scalar_one_or_none()
    if schema is None:
        return
    for name, column in (("ix_onboardings_name_trgm", "name"), ("ix_onboardings_domain_trgm", "domain")):
        bind.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS {name} ON onboardings "
                f'USING gin (lower({column}) "{str(schema).strip(chr(34))}".gin_trgm_ops)'
            )
        )
