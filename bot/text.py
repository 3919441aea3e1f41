"""Echoing what a user typed back to them: short enough for any platform's limits, with "…"
where it was cut, so one pasted megabyte cannot blow up an answer."""

from __future__ import annotations

import unicodedata

ECHO_LIMIT = 80  # characters of a typed value an answer repeats


def shorten(text: str, limit: int = ECHO_LIMIT) -> str:
    """`text` as it was if it is short, else its start and "…" (never longer than `limit`)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def has_control_characters(text: str) -> bool:
    """NUL and other C0 controls (tab and line breaks included): nothing a name contains, and
    PostgreSQL refuses NUL in text outright."""
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def invisible_character(text: str) -> tuple[int, str] | None:
    """The first character that shows nothing or turns text around (Unicode category Cf:
    zero-width spaces and joiners, bidirectional overrides, soft hyphens), as (position
    counted from 1, its code point and name); None if there is none. Such a character makes
    a name or address look like another one."""
    for index, ch in enumerate(text, 1):
        if unicodedata.category(ch) == "Cf":
            return index, f"U+{ord(ch):04X} {unicodedata.name(ch, 'FORMAT CHARACTER')}"
    return None


def scripts_of(text: str) -> list[str]:
    """The writing systems of the letters in `text` (LATIN, CYRILLIC, GREEK, ...), in order
    of appearance: a domain label that mixes them is a look-alike (microsоft.com with a
    Cyrillic о)."""
    seen: list[str] = []
    for ch in text:
        if ch.isalpha():
            script = unicodedata.name(ch, "UNKNOWN").split(" ")[0]
            if script not in seen:
                seen.append(script)
    return seen
