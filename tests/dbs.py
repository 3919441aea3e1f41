"""Throw-away databases for tests: a SQLite file, or a private schema in the PostgreSQL test
database, so runs that share the server never see each other's rows.

PostgreSQL is required: when it cannot be reached the tests that need it fail with a message
saying so (CI starts it), they are never skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from storage.database import normalise_url

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test")
DIALECTS = ("sqlite", "postgresql")

_unreachable: str | None = None  # remembered, so each later test fails at once


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL test server cannot be reached; the message says where and how to fix."""


@contextmanager
def postgres_schema(base_url: str = POSTGRES_URL) -> Iterator[str]:
    """A URL whose connections use a new, empty schema (dropped afterwards) as search_path."""
    global _unreachable
    shown = make_url(base_url).render_as_string(hide_password=True)
    if _unreachable:
        raise PostgresUnavailable(_unreachable)
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin_url = make_url(normalise_url(base_url)).update_query_dict({"connect_timeout": "5"})
    admin = create_engine(admin_url, poolclass=NullPool)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as err:
        admin.dispose()
        _unreachable = (
            f"PostgreSQL is needed for these tests and {shown} cannot be reached "
            f"({str(err.orig).strip().splitlines()[0]}). Start it, or point "
            "TEST_POSTGRES_URL at a server where you may create schemas."
        )
        raise PostgresUnavailable(_unreachable) from None
    try:
        yield (
            make_url(base_url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def sqlite_url(directory: Path, name: str = "test.db") -> str:
    """A file, not `:memory:`: every pooled connection must see the same database."""
    return f"sqlite:///{directory / name}"


@contextmanager
def database_url(dialect: str, directory: Path) -> Iterator[str]:
    """An empty database of `dialect` ("sqlite" or "postgresql"), gone afterwards."""
    if dialect == "sqlite":
        yield sqlite_url(directory)
    elif dialect == "postgresql":
        with postgres_schema() as url:
            yield url
    else:
        raise ValueError(f"unknown dialect {dialect!r}")
