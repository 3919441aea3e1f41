"""Brings a database's schema up to the newest Alembic revision; run at start-up and by
`python app.py migrate`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from storage.database import create_engine_for, is_sqlite
from storage.search import ensure_trigram_indexes

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_ID = 0x6F6E62  # any constant: replicas starting together migrate one at a time


def alembic_config() -> Config:
    """Alembic settings found from this file, not the current directory, so the app and
    the tests can run from anywhere."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine_or_url: Engine | str) -> None:
    """Migrates to head in one transaction; safe when several replicas start at once
    (an advisory lock on PostgreSQL, the write lock on SQLite)."""
    engine = (
        engine_or_url if isinstance(engine_or_url, Engine) else create_engine_for(engine_or_url)
    )
    try:
        with engine.begin() as connection:
            if not is_sqlite(connection):
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            ensure_trigram_indexes(connection)
    finally:
        if engine is not engine_or_url:
            engine.dispose()
