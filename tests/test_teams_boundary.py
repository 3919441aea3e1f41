"""The Bot Framework stays in adapters/teams/: moving to the Microsoft 365 Agents SDK must be a
change to that folder alone."""

from __future__ import annotations

from pathlib import Path

from tests.test_architecture import imported_modules

ROOT = Path(__file__).resolve().parent.parent
BOT_FRAMEWORK = ("botbuilder", "botframework", "msrest")


def test_only_adapters_teams_imports_the_bot_framework():
    # bench/ measures the bot against a bare botbuilder echo bot: its baseline is the SDK itself
    skip = (".venv", ".cache", "tests", "node_modules", "bench")
    files = [
        p
        for p in ROOT.rglob("*.py")
        if not set(p.relative_to(ROOT).parts) & set(skip)
        and p.relative_to(ROOT).parts[:2] != ("adapters", "teams")
    ]
    offenders = sorted(
        f"{p.relative_to(ROOT)}: {name}"
        for p in files
        for name in imported_modules(p)
        if name.split(".")[0] in BOT_FRAMEWORK
    )
    assert not offenders, "\n".join(offenders)
    assert any((ROOT / "adapters" / "teams").glob("*.py"))
