"""The dependency rule, checked: `bot/` imports no SDK, ORM, HTTP client, scheduler or adapter,
whether by absolute import or by a relative one that climbs out of `bot/`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
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


BEYOND = "<beyond the repository root>"


def module_name(path: Path, root: Path = ROOT) -> str:
    """`bot/commands.py` -> `bot.commands`; `bot/__init__.py` -> `bot`."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(source: str, module: str, is_package: bool = False) -> set[tuple[str, bool]]:
    """Every module the source of `module` imports, as (absolute name, written relatively).
    A relative import is resolved against the module's package, the repository root being the
    top (`from ..storage import x` in `bot/service.py` is `storage`); one that climbs above the
    root comes back as BEYOND. `from p import a` yields `p` and, when `p` is only dots, `p.a`
    too, since `a` may then be a module of its own."""
    package = (module if is_package else module.rpartition(".")[0]).split(".")
    package = [p for p in package if p]
    found: set[tuple[str, bool]] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update((alias.name, False) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            relative = node.level > 0
            if node.level - 1 > len(package):
                found.add((BEYOND, True))
                continue
            kept = package[: len(package) - (node.level - 1)] if relative else []
            base = ".".join([*kept, *([node.module] if node.module else [])])
            if node.module:
                found.add((base, relative))
            else:
                found.update(
                    (f"{base}.{alias.name}" if base else alias.name, relative)
                    for alias in node.names
                )
    return found


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module the file under `root` imports, relative imports resolved (see `imports`)."""
    source = path.read_text(encoding="utf-8")
    return {
        name for name, _ in imports(source, module_name(path, root), path.name == "__init__.py")
    }


def offending_imports(source: str, module: str, is_package: bool = False) -> set[str]:
    """The imports of `module`, inside `bot`, that break the rule: a FORBIDDEN package, or any
    module outside `bot` reached by a relative import."""
    return {
        name
        for name, relative in imports(source, module, is_package)
        if name.split(".")[0] in FORBIDDEN or (relative and name.split(".")[0] != "bot")
    }


def test_bot_imports_nothing_from_the_outside_world():
    files = sorted(BOT.rglob("*.py"))
    assert len(files) >= 8, "bot/ should hold the product's modules"
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in files
        for name in offending_imports(
            path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
        )
    }
    assert not offenders, "bot/ must talk to the world through bot/ports.py only:\n" + "\n".join(
        sorted(offenders)
    )


@pytest.mark.parametrize(
    ("source", "module", "is_package", "offender"),
    [
        ("import sqlalchemy.orm", "bot.service", False, "sqlalchemy.orm"),
        ("from storage.repository import SqlStore", "bot.service", False, "storage.repository"),
        ("from ..storage import repository", "bot.service", False, "storage"),
        ("from ..storage.repository import SqlStore", "bot.service", False, "storage.repository"),
        ("from .. import adapters", "bot.service", False, "adapters"),
        ("from .. import views, settings", "bot.service", False, "settings"),
        ("from ... import settings", "bot.sub.mod", False, "settings"),
        ("from ...adapters.teams import cards", "bot.sub", True, "adapters.teams"),
        ("from .. import helpers", "bot.service", False, "helpers"),  # not in FORBIDDEN
        ("from ... import anything", "bot.service", False, BEYOND),
        ("def later():\n    from ..storage import x\n", "bot.service", False, "storage"),
    ],
)
def test_the_rule_flags_imports_that_leave_bot(source, module, is_package, offender):
    assert offender in offending_imports(source, module, is_package)


@pytest.mark.parametrize(
    ("source", "module", "is_package"),
    [
        ("from . import views", "bot.service", False),
        ("from .views import Action", "bot.service", False),
        ("from .domain import Onboarding", "bot", True),
        ("from .. import views", "bot.sub", True),  # bot.views
        ("from ..adapters import x", "bot.sub.mod", False),  # bot.adapters, inside bot/
        ("from bot.ports import Store", "bot.service", False),
        ("import datetime, json", "bot.service", False),
    ],
)
def test_the_rule_allows_imports_inside_bot_and_the_standard_library(source, module, is_package):
    assert offending_imports(source, module, is_package) == set()


def test_relative_imports_resolve_against_the_modules_package(tmp_path):
    module = tmp_path / "bot" / "sub" / "__init__.py"
    module.parent.mkdir(parents=True)
    module.write_text("from .. import adapters\nfrom . import leaf\nfrom ...storage import x\n")
    assert module_name(module, tmp_path) == "bot.sub"
    assert imports(module.read_text(), "bot.sub", is_package=True) == {
        ("bot.adapters", True),
        ("bot.sub.leaf", True),
        ("storage", True),
    }
    assert imported_modules(module, tmp_path) == {"bot.adapters", "bot.sub.leaf", "storage"}
    assert module_name(tmp_path / "bot" / "service.py", tmp_path) == "bot.service"
    assert imports("from .views import Action", "bot.service") == {("bot.views", True)}
