"""Users before background work, inside one process.

A bulk import and a user's command in one process share the interpreter lock. Each time the
user's thread gives the lock up to wait for the database, the import's Python work takes it
and keeps it for the interpreter's switch interval (5 ms) before handing it back, several
times per command; and on a small machine the import's own database work takes the cores
the user's query needs (measured in docs/PERFORMANCE.md). So a user's command announces
itself here, and while one is answered:

- background work steps aside at its safe points (`step_aside`), for a bounded time each,
  so a stream of commands slows an import down but never stops it. Work that holds a lock
  users' writes need (SQLite's single write lock) steps aside too, but not once a command
  being answered has said it is about to write (`about_to_write`): from then on it hurries
  to its commit instead, since that command is now waiting for it;
- the switch interval is 0.5 ms instead of 5 ms, so a database answer costs the user's
  thread at most that before it runs again. It is put back when no command is in flight.

A command's own thread never waits for itself: a bulk import started by a command does not
step aside for the command that started it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

STEP = 0.001  # seconds per pause at a safe point while another user is being answered
MOST = 0.050  # at most this long per safe point, so background work always moves on
ANSWERING_INTERVAL = 0.0005  # the interpreter's switch interval while a command is answered
RECENT = 0.25  # seconds after a command during which users count as active

_lock = threading.Lock()
_answering = 0  # threads answering a user's command now
_writing = 0  # of those, the ones that asked for the write lock (`about_to_write`)
_usual_interval = sys.getswitchinterval()
_here = threading.local()
_last_answered = float("-inf")  # monotonic time a command was last answered


@contextmanager
def answering_user() -> Iterator[None]:
    """Around a user's command (nested calls on one thread count once)."""
    depth = getattr(_here, "depth", 0)
    _here.depth = depth + 1
    if depth == 0:
        _enter()
    try:
        yield
    finally:
        _here.depth = depth
        if depth == 0:
            _leave()


def about_to_write() -> None:
    """Said by the store before a transaction asks for the write lock. On a thread that is
    answering a command, background work holding that lock stops stepping aside for the
    rest of the command; elsewhere (background work itself) it means nothing."""
    global _writing
    if getattr(_here, "depth", 0) and not getattr(_here, "writing", False):
        with _lock:
            _writing += 1
        _here.writing = True


def _enter() -> None:
    global _answering, _usual_interval
    with _lock:
        if _answering == 0:
            _usual_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(_usual_interval, ANSWERING_INTERVAL))
        _answering += 1


def _leave() -> None:
    global _answering, _writing, _last_answered
    with _lock:
        if getattr(_here, "writing", False):
            _here.writing = False
            _writing -= 1
        _answering -= 1
        _last_answered = time.monotonic()
        if _answering == 0:
            sys.setswitchinterval(_usual_interval)


def others_answering() -> int:
    """Commands being answered on threads other than this one."""
    return _answering - (1 if getattr(_here, "depth", 0) else 0)


def users_active() -> bool:
    """Another thread answers a user's command now, or one was answered a moment ago (users
    come in bursts): background work then keeps its steps short, so it reaches its next
    safe point soon, and takes long strides when it is alone."""
    return others_answering() > 0 or time.monotonic() - _last_answered < RECENT


def _writer_waiting() -> bool:
    """A command being answered has asked for the write lock (and may be waiting for it)."""
    return _writing - (1 if getattr(_here, "writing", False) else 0) > 0


def step_aside(*, holding_write_lock: bool = False) -> None:
    """A safe point of background work: while another user's command is answered, sleep
    (which frees the interpreter lock and the core) in short steps, for at most `MOST`.
    Holding the write lock, it does not sleep (or stops) once such a command wants it."""

    def should_wait() -> bool:
        if others_answering() <= 0:
            return False
        return not (holding_write_lock and _writer_waiting())

    if not should_wait():
        return
    deadline = time.monotonic() + MOST
    while should_wait() and time.monotonic() < deadline:
        time.sleep(STEP)


def in_turns(
    items: Sequence[T], turn: int, holding_write_lock: Callable[[], bool]
) -> Iterator[Sequence[T]]:
    """Background work's items in parts of `turn` while users are active, each after a
    safe point; alone, the rest in one part (a statement per part costs a round trip)."""
    start = 0
    while start < len(items):
        step_aside(holding_write_lock=holding_write_lock())
        size = turn if users_active() else len(items) - start
        yield items[start : start + size]
        start += size
