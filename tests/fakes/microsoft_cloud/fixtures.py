"""The `microsoft_cloud` pytest fixture: a running fake on the test's clock and tmp_path, whose
request-schema check (and the fake's own health) is asserted when the test ends. Import it
into a test module or a conftest:
`from tests.fakes.microsoft_cloud.fixtures import microsoft_cloud`.
A test module provides `clock` (an `adapters.clock.FixedClock`); the one here is a fallback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.clock import FixedClock
from tests.fakes.microsoft_cloud.cloud import MicrosoftCloud

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def microsoft_cloud(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MicrosoftCloud]:
    try:
        clock = request.getfixturevalue("clock")
    except pytest.FixtureLookupError:
        clock = FixedClock(T0)
    with MicrosoftCloud(clock, tmp_path) as cloud:
        yield cloud
    assert not cloud.internal_errors, "the Microsoft fake failed:\n" + "\n".join(
        cloud.internal_errors
    )
    assert not cloud.schema_errors, "requests broke tests/schemas:\n" + "\n".join(
        cloud.schema_errors
    )
