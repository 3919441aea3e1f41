"""The dependency rule, checked: `bot/` imports no SDK, ORM, HTTP client, scheduler or adapter."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
FORBIDDEN = (
    "slack_bolt",
    "slack_sdk",
    "botbuilder",
    "botframework",
    "sqlalchemy",
    "alembic",
    "httpx",
    "requests",
    "aiohttp",
    "msal",
    "apscheduler",
    "psycopg",
    "adapters",
    "storage",
    "app",
    "settings",
    "pydantic",
    "pydantic_settings",
)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_bot_imports_nothing_from_the_outside_world():
    files = sorted(BOT.rglob("*.py"))
    assert len(files) >= 8, "bot/ should hold the product's modules"
    offenders = {
        f"{path.relative_to(BOT.parent)}: {name}"
        for path in files
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
    }
    assert not offenders, "bot/ must talk to the world through bot/ports.py only:\n" + "\n".join(
        sorted(offenders)
    )
