"""Composition root and command line: builds the store, the adapters and the service, and runs them.

    python app.py [serve]       the aiohttp server (+ the console when stdin is a terminal)
    python app.py console       the console alone (terminal or pipe); --json for scripts
    python app.py migrate       bring the database schema up to date
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from adapters.clock import SystemClock
from adapters.console.repl import Console
from adapters.hub.directory import LocalHubDirectory
from adapters.mail.outbox import OutboxMailer
from adapters.microsoft.sandbox import SandboxMicrosoft
from bot.commands import Dispatcher
from bot.ports import Clock
from bot.service import OnboardingService
from settings import Settings, SettingsError, load_settings
from storage.adapter_state import AdapterState
from storage.database import create_engine_for
from storage.migrate import upgrade
from storage.repository import SqlStore

log = logging.getLogger("onboarding")


@dataclass
class Bot:
    settings: Settings
    engine: Engine
    service: OnboardingService
    dispatcher: Dispatcher


def open_engine(settings: Settings) -> Engine:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine_for(settings.database_url)
    upgrade(engine)
    return engine


def build(settings: Settings, clock: Clock | None = None) -> Bot:
    """Wires the embedded defaults; real services replace them through settings alone."""
    clock = clock or SystemClock()
    engine = open_engine(settings)
    sandbox = SandboxMicrosoft(AdapterState(engine), clock, settings.partner_tenant_id)
    outbox = OutboxMailer(engine, clock)
    service = OnboardingService(
        store=SqlStore(engine), microsoft=sandbox, mailer=outbox,
        hub=LocalHubDirectory(engine), clock=clock, partner_name=settings.partner_name,
        transfer_link=settings.p2p_review_url, simulator=sandbox, outbox=outbox,
        page_size=settings.page_size,
    )
    return Bot(settings, engine, service, Dispatcher(service))


def make_web_app(bot: Bot):
    from adapters.web import create_web_app

    return create_web_app(bot.engine)


async def serve(bot: Bot) -> int:
    from aiohttp import web

    runner = web.AppRunner(make_web_app(bot))
    await runner.setup()
    site = web.TCPSite(runner, bot.settings.host, bot.settings.port)
    await site.start()
    log.info("listening on http://%s:%s (GET /healthz)", bot.settings.host, bot.settings.port)
    try:
        if sys.stdin.isatty():
            await asyncio.to_thread(Console(bot.dispatcher).run)
        else:
            await asyncio.Event().wait()
    finally:
        await runner.cleanup()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="app.py", description="Customer onboarding bot")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the server (default)")
    console = sub.add_parser("console", help="type commands (terminal or pipe)")
    console.add_argument("--json", action="store_true", help="one JSON object per answer")
    sub.add_parser("migrate", help="bring the database schema up to date")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except SettingsError as err:
        print(f"app.py: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "console":
        logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        bot = build(settings)
    except Exception as err:  # a database that cannot be reached or migrated
        print(f"app.py: cannot open the database: {type(err).__name__}: "
              f"{str(err).splitlines()[0] if str(err) else ''}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        print("Database schema is up to date.")
        return 0
    if args.command == "console":
        return Console(bot.dispatcher, json_mode=args.json).run()
    try:
        return asyncio.run(serve(bot))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
