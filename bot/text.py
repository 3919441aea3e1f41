"""Echoing what a user typed back to them: short enough for any platform's limits, with "…"
where it was cut, so one pasted megabyte cannot blow up an answer."""

from __future__ import annotations

ECHO_LIMIT = 80  # characters of a typed value an answer repeats


def shorten(text: str, limit: int = ECHO_LIMIT) -> str:
    """`text` as it was if it is short, else its start and "…" (never longer than `limit`)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def has_control_characters(text: str) -> bool:
    """NUL and other C0 controls (tab and line breaks included): nothing a name contains, and
    PostgreSQL refuses NUL in text outright."""
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)
