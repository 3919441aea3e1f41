"""Alembic's entry point: runs migrations on the connection `storage.migrate` hands over, or
on the database named by `-x url=...`, `DATABASE_URL` or the default, for the `alembic` CLI."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

from alembic import context
from sqlalchemy import Connection

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project root, for the CLI

from storage.database import create_engine_for, is_sqlite
from storage.models import schema
from storage.search import is_search_object

DEFAULT_URL = "sqlite:///data/onboarding.db"

# SQLite cannot reflect expression indexes (lower(domain) ...), so autogenerate cannot
# compare them there and says so on every run; PostgreSQL's check covers them.
warnings.filterwarnings("ignore", message=".*expression-based index.*")


def include_object(
    obj: object, name: str | None, kind: str, reflected: bool, compare_to: object
) -> bool:
    """The search index (storage/search.py) lives beside the models: FTS5 tables on SQLite
    and trigram indexes on PostgreSQL that the metadata cannot describe."""
    return not (reflected and is_search_object(name))


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=schema(),
        render_as_batch=is_sqlite(connection),  # SQLite alters tables by copying them
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("DATABASE_URL")
        or DEFAULT_URL
    )
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            run_on(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run against a database.")
run_online()
