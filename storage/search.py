"""`search TEXT` through an index, so it costs what it finds rather than what is stored:
PostgreSQL's `pg_trgm` GIN indexes on the folded name and domain, SQLite's FTS5 trigram
table kept in step with `onboardings` by triggers (migration 0009).

The index only narrows the candidates; the exact condition (case-folded substring of the
name or the domain, or the id itself) still decides, so results are the same with the index
and without it, and a text shorter than a trigram (3 characters) simply scans.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, func, literal, literal_column, or_, select, table, text

from storage.database import fold_case, is_sqlite
from storage.models import OnboardingRow

LIKE_ESCAPE = "/"
TRIGRAM = 3  # characters: a shorter text has no trigram to look up
SEARCH_TABLE = "onboardings_search"  # SQLite: FTS5 (id, name, domain), tokenize trigram
TRIGRAM_INDEX = "ix_onboardings_search_trgm"  # PostgreSQL: on SEARCH_TEXT
# name and domain joined by a character no search holds (control characters are refused)
SEARCH_TEXT = "lower(name) || chr(31) || lower(domain)"


def like_pattern(text: str) -> str:
    """A LIKE pattern that matches `text` anywhere, with its own % and _ taken literally."""
    escaped = (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


def search_condition(conn: Connection, search: str) -> Any:
    """Onboardings whose name or domain contains `search` in any case, or whose id it is."""
    o = OnboardingRow
    pattern = fold_case(literal(like_pattern(search)))
    contains = or_(
        fold_case(o.c.name).like(pattern, escape=LIKE_ESCAPE),
        func.lower(o.c.domain).like(literal(like_pattern(search.lower())), escape=LIKE_ESCAPE),
    )
    if is_sqlite(conn) and len(search) >= TRIGRAM:
        candidates: Select[Any] = (
            select(literal_column("id"))
            .select_from(table(SEARCH_TABLE))
            .where(
                text(f"{SEARCH_TABLE} MATCH :search_phrase").bindparams(
                    search_phrase="{name domain} : " + fts_phrase(search)
                )
            )
        )
        contains = o.c.id.in_(candidates) & contains
    elif not is_sqlite(conn):  # the trigram index narrows, the exact condition decides
        joined: Any = literal_column(f"({SEARCH_TEXT})")
        contains = joined.like(literal(like_pattern(search.lower())), escape=LIKE_ESCAPE) & contains
    return or_(contains, o.c.id == search)


def fts_phrase(text: str) -> str:
    """`text` as one FTS5 phrase: with the trigram tokenizer, its characters in sequence,
    matched case-insensitively, whatever they are (quotes doubled, as FTS5 asks)."""
    return '"' + text.replace('"', '""') + '"'


def schema_objects() -> tuple[str, ...]:
    """What the search index adds to the schema beside the models (Alembic's check leaves
    them alone: they are not in the metadata, and SQLite lists FTS5's shadow tables)."""
    return (SEARCH_TABLE, TRIGRAM_INDEX)


def is_search_object(name: str | None) -> bool:
    if not name:
        return False
    return name in schema_objects() or name.startswith(f"{SEARCH_TABLE}_")


def ensure_trigram_indexes(conn: Connection) -> None:
    """PostgreSQL, at every migration: adds the trigram indexes that migration 0009 had to
    leave out because pg_trgm was missing, once an admin has created the extension."""
    if is_sqlite(conn):
        return
    present = conn.execute(
        text(
            "SELECT count(*) FROM pg_indexes "
            "WHERE schemaname = current_schema() AND indexname = :name"
        ),
        {"name": TRIGRAM_INDEX},
    ).scalar_one()
    if present:
        return
    schema = conn.execute(
        text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'")
    ).scalar_one_or_none()
    if schema is None:
        return  # still without: search scans (the migration logged why)
    conn.execute(
        text(
            f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON onboardings USING gin "
            f'(({SEARCH_TEXT}) "{str(schema).strip(chr(34))}".gin_trgm_ops)'
        )
    )
