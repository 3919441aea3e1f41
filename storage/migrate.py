"""Brings a database's schema up to the newest Alembic revision; run at start-up and by
`python app.py migrate`.

A database already at the newest revision is the usual start: that is found with one
query against the scripts' own revision lines, without loading Alembic (its script
directory, environment and every migration module cost about a second of start-up)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from storage.database import create_engine_for, is_sqlite, refresh_statistics
from storage.search import ensure_trigram_indexes

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_ID = 0x6F6E62  # any constant: replicas starting together migrate one at a time
_REVISION = re.compile(r'^(down_revision|revision)\b[^=]*=\s*"([^"]*)"', re.MULTILINE)


def alembic_config() -> Config:
    """Alembic settings found from this file, not the current directory, so the app and
    the tests can run from anywhere."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def script_head() -> str | None:
    """The newest revision, read from the scripts' `revision = "…"` and
    `down_revision = "…"` lines; None when they are not one linear chain (then Alembic
    decides)."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        for kind, value in _REVISION.findall(script.read_text(encoding="utf-8")):
            (revisions if kind == "revision" else downs).add(value)
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 else None


def _at_head(engine: Engine) -> bool:
    """Whether the database's version table names the scripts' head (one query; a new
    database has no version table)."""
    head = script_head()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version"))
            return [row[0] for row in versions] == [head]
    except DBAPIError:  # no version table yet: a first start
        return False


def upgrade(engine_or_url: Engine | str) -> bool:
    """Migrates to head in one transaction; safe when several replicas start at once
    (an advisory lock on PostgreSQL, the write lock on SQLite). Returns whether Alembic
    ran: False when the database was already at head."""
    engine = (
        engine_or_url if isinstance(engine_or_url, Engine) else create_engine_for(engine_or_url)
    )
    try:
        if _at_head(engine):
            with engine.begin() as connection:
                ensure_trigram_indexes(connection)  # a no-op on SQLite
                if is_sqlite(connection):  # SQLite has no autovacuum to refresh them
                    refresh_statistics(connection, ())
            return False
        with engine.begin() as connection:
            if not is_sqlite(connection):
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
            from alembic import command

            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            ensure_trigram_indexes(connection)
        return True
    finally:
        if engine is not engine_or_url:
            engine.dispose()
