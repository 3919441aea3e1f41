"""Fixtures for tests against real databases: every `engine`/`store` test runs twice, on a
SQLite file and on PostgreSQL (in a schema of its own), both migrated with Alembic."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.domain import Onboarding
from storage.database import create_engine_for
from storage.migrate import upgrade
from storage.unit_of_work import SqlStore
from tests.dbs import PostgresUnavailable, database_url

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL, not yet migrated."""
    unavailable = None
    try:
        with database_url(request.param, tmp_path) as url:
            yield url
    except PostgresUnavailable as err:
        unavailable = str(err)
    if unavailable:  # a failure, never a skip: CI must not go green without PostgreSQL
        pytest.fail(unavailable, pytrace=False)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine, as the app builds it."""
    engine = create_engine_for(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> SqlStore:
    return SqlStore(engine)


@pytest.fixture
def make_onboarding() -> Callable[..., Onboarding]:
    """Builds an open onboarding; each call gets a new id and domain unless given."""
    count = 0

    def make(**fields: Any) -> Onboarding:
        nonlocal count
        count += 1
        values: dict[str, Any] = {
            "id": f"ob{count:04d}",
            "name": f"Customer {count}",
            "email": f"ops@c{count}.example.com",
            "domain": f"c{count}.example.com",
            "country": "US",
            "enrolled_at": T0,
            "enrolled_by": "alice (console)",
            "reseller_started_at": T0,
        }
        values.update(fields)
        return Onboarding(**values)

    return make
