"""The storage-backed classes offer every method of the ports they implement, as declared there,
so a port that grows a method fails here rather than in the middle of a use case."""

from __future__ import annotations

import inspect

import pytest

from adapters.hub.directory import LocalHubDirectory
from adapters.mail.outbox import OutboxMailer
from bot.ports import Hub, Mailer, MailOutbox, Store, Transaction
from storage.repository import SqlStore, SqlTransaction


def shape(function: object) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("port", "implementation"),
    [
        (Transaction, SqlTransaction),
        (Store, SqlStore),
        (Mailer, OutboxMailer),
        (MailOutbox, OutboxMailer),
        (Hub, LocalHubDirectory),
    ],
)
def test_implementation_matches_its_port(port, implementation):
    for name, declared in inspect.getmembers(port, inspect.isfunction):
        if name.startswith("_"):
            continue
        offered = getattr(implementation, name, None)
        assert offered is not None, f"{implementation.__name__} lacks {name}"
        assert shape(offered) == shape(declared), f"{implementation.__name__}.{name}"
