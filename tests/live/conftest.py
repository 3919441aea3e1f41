"""The live backend against the loopback fake of Microsoft (tests/fakes/microsoft_cloud):
the bot built by `app.build` from the fake's settings, msal's real token code and real
HTTPS on both sides, the webhook route served on loopback. Retry delays and the time
budget are small here, so a fault costs tenths of a second."""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.clock import FixedClock
from adapters.microsoft.live.http import RetryPolicy
from app import Bot, build, make_web_app
from bot.activity import Actor
from settings import Settings
from storage.database import create_engine_for
from storage.migrate import upgrade
from tests.fakes.microsoft_cloud import MicrosoftCloud
from tests.fakes.microsoft_cloud.fixtures import microsoft_cloud

__all__ = ["microsoft_cloud"]

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ALICE = Actor("U1", "alice", "console")
QUICK = RetryPolicy(
    budget_seconds=3.0, request_timeout=1.0, first_backoff=0.05, max_backoff=0.2, max_attempts=6
)


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite database migrated once per worker; each test starts from a copy (the
    migrations take a second; `app.build` then finds nothing to do)."""
    path = tmp_path_factory.mktemp("template") / "bot.db"
    engine = create_engine_for(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def bot_db(migrated_db: Path, tmp_path: Path) -> str:
    target = tmp_path / "bot.db"
    shutil.copyfile(migrated_db, target)
    return f"sqlite:///{target}"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def cloud(microsoft_cloud: MicrosoftCloud, monkeypatch: pytest.MonkeyPatch) -> MicrosoftCloud:
    monkeypatch.setenv("SSL_CERT_FILE", str(microsoft_cloud.ca_bundle))
    return microsoft_cloud


def live_settings(cloud: MicrosoftCloud, database_url: str, **overrides: Any) -> Settings:
    env = {k.lower(): v for k, v in cloud.settings_env().items() if k != "SSL_CERT_FILE"}
    values: dict[str, Any] = {
        **env,
        "database_url": database_url,
        "partner_name": "Fabrikam Cloud",
        "partner_reseller_link": cloud.reseller_link,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
def live_bot(cloud: MicrosoftCloud, bot_db: str, clock: FixedClock) -> Callable[..., Bot]:
    def make(policy: RetryPolicy = QUICK, **overrides: Any) -> Bot:
        return build(live_settings(cloud, bot_db, **overrides), clock, retry_policy=policy)

    return make


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(bot: Bot) -> Iterator[str]:
    """The bot's aiohttp app on a loopback port, in a thread of its own; its base URL."""
    from aiohttp import web

    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(make_web_app(bot))
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def eventually(check: Callable[[], Any], seconds: float = 10.0) -> Any:
    """What `check` returns once it is truthy (a webhook is applied off the request)."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def enroll(bot: Bot, domain: str = "abctech.com", name: str = "ABC Technologies Inc."):
    return bot.service.enrollment.enroll(
        {"name": name, "email": f"john.doe@{domain}", "domain": domain, "country": "us"}, ALICE
    )


def step(card: Any, title: str) -> Any:
    return next(s for s in card.steps if s.title == title)


def log_of(bot: Bot, reference: str) -> list[str]:
    return [e.message for e in bot.service.customers.activity_log(reference).events]
