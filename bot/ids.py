"""Identifiers that keep the store's indexes local.

A random id lands each new row on a random page of every index keyed by it (an onboarding's
id keys its activities, timers, deliveries and mail too), so a bulk import dirties more
pages per row the bigger the store is, and on SQLite each commit and checkpoint writes them
all. Ids that follow each other in creation order go to the same few pages instead (measured
in docs/PERFORMANCE.md). They stay hard to guess where it matters: the random part of an
activity id is 80 bits; an onboarding id was never a secret (it is shown on every card).
"""

from __future__ import annotations

import secrets
import time
import uuid

ONBOARDING_ID_LENGTH = 12
ROW_DIGITS = 5  # hex digits of a file row in a bulk-imported onboarding's id


def onboarding_id() -> str:
    """A new onboarding's id: 12 random hex digits, as always."""
    return uuid.uuid4().hex[:ONBOARDING_ID_LENGTH]


def bulk_onboarding_id(import_id: str, row: int) -> str:
    """The id of the onboarding a bulk import enrolls from `row` of its file: the import's
    own prefix, then the row, so one import's customers sit side by side in every index, in
    the file's order. The same row of the same import always gets the same id, which a
    resumed import relies on to recognise what it enrolled before; another customer holding
    that id by chance (a random one, or an import whose id began the same) is the store's
    primary key refusing the insert, and the row is enrolled under a random id instead."""
    prefix = import_id.strip().lower()[: ONBOARDING_ID_LENGTH - ROW_DIGITS]
    if len(prefix) < ONBOARDING_ID_LENGTH - ROW_DIGITS or not 0 <= row < 16**ROW_DIGITS:
        return onboarding_id()
    return f"{prefix}{row:0{ROW_DIGITS}x}"


def activity_id() -> str:
    """32 hex digits: the time in milliseconds, then 80 random bits (a ULID's layout), so the
    log's unique index on it grows at its end."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.randbits(80):020x}"
