"""search index: pg_trgm GIN indexes on PostgreSQL, an FTS5 trigram table on SQLite

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 13:00:00

`search` then costs what it finds, not what is stored (see storage/search.py). On
PostgreSQL the indexes need the pg_trgm extension, created here when this database user may
(CREATE EXTENSION IF NOT EXISTS pg_trgm). When it may not, the migration logs a warning and
goes on without them: search stays correct, as a scan; once an admin has created the
extension, the next start-up or `python app.py migrate` adds the indexes
(`storage.search.ensure_trigram_indexes`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("onboarding.migrate")

SQLITE = [
    # its own copy of the three columns (small), so nothing hangs on SQLite's rowids, which
    # VACUUM may renumber in a table whose key is not an INTEGER PRIMARY KEY
    "CREATE VIRTUAL TABLE onboardings_search USING fts5(id, name, domain, tokenize='trigram')",
    "INSERT INTO onboardings_search (id, name, domain) SELECT id, name, domain FROM onboardings",
    """CREATE TRIGGER onboardings_search_insert AFTER INSERT ON onboardings BEGIN
        INSERT INTO onboardings_search (id, name, domain) VALUES (new.id, new.name, new.domain);
    END""",
    # Saves write every column: only a real change of name or domain touches the index. The
    # old entry is found through the index by its id (ids shorter than a trigram: by a scan).
    """CREATE TRIGGER onboardings_search_update AFTER UPDATE OF name, domain ON onboardings
    WHEN old.name IS NOT new.name OR old.domain IS NOT new.domain BEGIN
        DELETE FROM onboardings_search WHERE id = old.id AND rowid IN (
            SELECT rowid FROM onboardings_search
            WHERE onboardings_search MATCH 'id : "' || replace(old.id, '"', '""') || '"');
        DELETE FROM onboardings_search WHERE length(old.id) < 3 AND id = old.id;
        INSERT INTO onboardings_search (id, name, domain) VALUES (new.id, new.name, new.domain);
    END""",
]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE:
            bind.execute(text(statement))
        return
    schema = trigram_schema(bind)
    if schema is None:
        return
    for name, column in (("ix_onboardings_name_trgm", "name"), ("ix_onboardings_domain_trgm", "domain")):
        bind.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS {name} ON onboardings "
                f'USING gin (lower({column}) "{schema}".gin_trgm_ops)'
            )
        )


def trigram_schema(bind: Connection) -> str | None:
    """The schema of pg_trgm, created (in `public`, where every schema's tables can use it,
    and not in this one, which may be a short-lived one) if this user may; None if not."""
    find = text(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
    )
    schema = bind.execute(find).scalar_one_or_none()
    if schema is not None:
        return str(schema).strip('"')
    has_public = bind.execute(
        text("SELECT count(*) FROM pg_namespace WHERE nspname = 'public'")
    ).scalar_one()
    try:
        with bind.begin_nested():  # a refusal must not spoil the migration's transaction
            bind.execute(
                text(
                    "CREATE EXTENSION IF NOT EXISTS pg_trgm"
                    + (" WITH SCHEMA public" if has_public else "")
                )
            )
    except DBAPIError as err:
        schema = bind.execute(find).scalar_one_or_none()  # another replica's, a moment ago
        if schema is not None:
            return str(schema).strip('"')
        log.warning(
            "search runs without an index: this database user may not create the pg_trgm "
            "extension (%s). Ask an admin to run CREATE EXTENSION pg_trgm in this database; "
            "the next start-up adds the indexes.",
            str(err.orig).strip().splitlines()[0] if err.orig else err,
        )
        return None
    return str(bind.execute(find).scalar_one()).strip('"')


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        bind.execute(text("DROP TRIGGER IF EXISTS onboardings_search_update"))
        bind.execute(text("DROP TRIGGER IF EXISTS onboardings_search_insert"))
        bind.execute(text("DROP TABLE IF EXISTS onboardings_search"))
        return
    bind.execute(text("DROP INDEX IF EXISTS ix_onboardings_domain_trgm"))
    bind.execute(text("DROP INDEX IF EXISTS ix_onboardings_name_trgm"))
