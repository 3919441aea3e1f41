"""When the database cannot do its part the user gets a specific answer that says nothing was
changed, not "something went wrong"; and odd search text is answered, not a stack trace."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import OperationalError

from adapters.clock import FixedClock
from bot.commands import Context, Dispatcher
from bot.domain import Actor
from bot.tone import Tone
from bot.views import ListPage, Notice
from storage.database import create_engine_for
from storage.migrate import upgrade
from storage.unit_of_work import store_unavailable
from tests.services import sandboxed_service

ALICE = Actor("U1", "alice", "console")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def dispatcher_on(engine) -> Dispatcher:
    clock = FixedClock(T0)
    service = sandboxed_service(engine, clock)
    return Dispatcher(service)


def test_an_unreachable_database_is_named_and_nothing_is_claimed_changed():
    engine = create_engine_for("postgresql://root@127.0.0.1:1/test?connect_timeout=2")
    try:
        for line in ("status", 'enroll "ABC" it@abc.com abc.com US'):
            answer = dispatcher_on(engine).handle(line, Context(ALICE))
            assert isinstance(answer, Notice) and answer.tone is Tone.FAILURE
            assert answer.text == (
                "The onboarding store is not reachable; nothing was changed; try again in a minute."
            )
    finally:
        engine.dispose()


def test_a_read_only_database_file_is_named(tmp_path):
    path = tmp_path / "bot.db"
    upgrade(f"sqlite:///{path}")
    read_only = create_engine_for(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        dispatcher = dispatcher_on(read_only)
        assert isinstance(dispatcher.handle("status", Context(ALICE)), ListPage)  # reads work
        answer = dispatcher.handle('enroll "ABC" it@abc.com abc.com US', Context(ALICE))
        assert isinstance(answer, Notice) and "read-only right now: nothing was changed" in (
            answer.text
        )
    finally:
        read_only.dispose()


@pytest.mark.parametrize(
    ("driver_message", "said"),
    [
        ("database or disk is full", "disk is full: nothing was changed"),
        ('could not extend file "base/1/2": No space left on device', "disk is full"),
        ("cannot execute INSERT in a read-only transaction", "read-only right now"),
        ("database is locked", "busy: nothing was changed"),
        ("connection refused", "not reachable; nothing was changed"),
    ],
)
def test_each_database_failure_gets_its_own_answer(driver_message, said):
    err = OperationalError("INSERT ...", {}, sqlite3.OperationalError(driver_message))
    assert said in str(store_unavailable(err))


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("search " + "x" * 5000, "5,000 characters long"),
        ("search abc\x00def", "control characters"),
        ("show abc\x00def", "no control characters"),
        ("show " + "y" * 3000, "at most 256 characters"),
    ],
)
def test_odd_search_text_is_answered_plainly(engine, line, said):
    answer = dispatcher_on(engine).handle(line, Context(ALICE))
    assert isinstance(answer, Notice) and said in answer.text
    assert len(answer.text) < 400
