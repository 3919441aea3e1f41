"""A user's command and background work in one process: the work steps aside while another
thread answers a user, never for its own command, and the interpreter's switch interval is
back to what it was once no command is in flight."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from bot import priority


@pytest.fixture
def patient(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bound long enough that only the other command's end can release the work."""
    monkeypatch.setattr(priority, "MOST", 30.0)


def test_background_work_waits_while_another_thread_answers_a_user(patient: None) -> None:
    answering, release, order = threading.Event(), threading.Event(), []

    def user() -> None:
        with priority.answering_user():
            answering.set()
            release.wait(10)
            order.append("command answered")

    def work() -> None:
        answering.wait(10)
        priority.step_aside()
        order.append("work went on")

    threads = [threading.Thread(target=user), threading.Thread(target=work)]
    for t in threads:
        t.start()
    answering.wait(10)
    time.sleep(0.2)  # without stepping aside, the work would have gone on by now
    release.set()
    for t in threads:
        t.join(10)
    assert order == ["command answered", "work went on"]


def test_work_started_by_a_command_does_not_wait_for_that_command(patient: None) -> None:
    finished = threading.Event()

    def command_that_imports() -> None:
        with priority.answering_user(), priority.answering_user():  # nested: counted once
            priority.step_aside()
            finished.set()

    thread = threading.Thread(target=command_that_imports)
    thread.start()
    assert finished.wait(10), "the command's own import waited for the command"
    thread.join(10)
    assert priority.others_answering() == 0


def test_the_switch_interval_is_short_only_while_a_command_is_answered() -> None:
    usual = sys.getswitchinterval()
    with priority.answering_user():
        assert sys.getswitchinterval() == min(usual, priority.ANSWERING_INTERVAL)
    assert sys.getswitchinterval() == usual


def test_without_commands_background_work_does_not_pause() -> None:
    done = threading.Event()
    thread = threading.Thread(target=lambda: (priority.step_aside(), done.set()))
    thread.start()
    assert done.wait(5)
    thread.join(5)


def test_work_holding_the_write_lock_pauses_for_a_reader_until_it_wants_to_write(
    patient: None,
) -> None:
    """An import holding SQLite's write lock goes on pausing for a command that only reads,
    and hurries on the moment that command asks for the lock, so they never wait on each
    other; the next command that only reads gets the pauses again."""
    answering, write_now, finished, order = (
        threading.Event(),
        threading.Event(),
        threading.Event(),
        [],
    )

    def user() -> None:
        with priority.answering_user():
            answering.set()
            write_now.wait(10)
            order.append("command wants the lock")
            priority.about_to_write()
            finished.wait(10)  # the command waits for the lock until the work is done
        order.append("command answered")

    def work() -> None:
        answering.wait(10)
        priority.step_aside(holding_write_lock=True)
        order.append("work went on")
        finished.set()

    threads = [threading.Thread(target=user), threading.Thread(target=work)]
    for t in threads:
        t.start()
    answering.wait(10)
    time.sleep(0.2)  # a reading command: the work is still paused
    assert order == []
    write_now.set()
    for t in threads:
        t.join(10)
    assert order == ["command wants the lock", "work went on", "command answered"]

    assert _locked_work_beside_a_reading_command() == ["command answered", "work"]


def _locked_work_beside_a_reading_command() -> list[str]:
    """What ends first: a command that only reads (answered after 0.2 s), or background
    work holding the write lock that reaches a safe point while the command is answered."""
    reading, release, order = threading.Event(), threading.Event(), []

    def reader() -> None:
        with priority.answering_user():
            reading.set()
            release.wait(10)
            order.append("command answered")

    thread = threading.Thread(target=reader)
    thread.start()
    reading.wait(10)
    work = threading.Thread(
        target=lambda: (priority.step_aside(holding_write_lock=True), order.append("work"))
    )
    work.start()
    time.sleep(0.2)
    release.set()
    for t in (thread, work):
        t.join(10)
    return order


def test_background_threads_that_write_do_not_hurry_anyone(patient: None) -> None:
    """Only a command being answered can be waiting on the work: background writers
    (another import, the scheduler) do not count."""
    priority.about_to_write()  # this thread answers nobody
    assert _locked_work_beside_a_reading_command() == ["command answered", "work"]


def test_work_takes_short_turns_while_users_are_active_and_long_ones_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Alone, an import writes a chunk in one statement per table (each statement is a
    round trip); while users are active, in parts small enough to reach a safe point soon,
    and still for a moment after a command, since users come in bursts."""
    monkeypatch.setattr(priority, "MOST", 0.001)
    rows = list(range(100))
    monkeypatch.setattr(priority, "_last_answered", float("-inf"))
    assert [len(p) for p in priority.in_turns(rows, 25, lambda: False)] == [100]

    answering, release = threading.Event(), threading.Event()

    def user() -> None:
        with priority.answering_user():
            answering.set()
            release.wait(10)

    thread = threading.Thread(target=user)
    thread.start()
    answering.wait(10)
    parts = [len(p) for p in priority.in_turns(rows, 25, lambda: False)]
    release.set()
    thread.join(10)
    assert parts == [25, 25, 25, 25]
    assert [len(p) for p in priority.in_turns(rows, 30, lambda: True)] == [30, 30, 30, 10]
    monkeypatch.setattr(priority, "_last_answered", time.monotonic() - priority.RECENT - 1)
    assert [len(p) for p in priority.in_turns(rows, 30, lambda: True)] == [100]
