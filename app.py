"""Composition root and command line: builds the store, the adapters and the service, and runs them.

python app.py [serve]       the aiohttp server (+ the console when stdin is a terminal)
python app.py console       the console alone (terminal or pipe); --json for scripts
python app.py migrate       bring the database schema up to date
python app.py teams-package the Teams app package to upload (--output PATH)
python app.py tick [--at T] run the work due at T (ISO 8601; default now) and exit
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from adapters.clock import FixedClock, SystemClock
from adapters.console.places import user_folder, user_path
from adapters.console.repl import Console, OutputClosed, end_as_reader_left
from adapters.hub.directory import LocalHubDirectory
from adapters.mail import build_mailer
from adapters.microsoft.sandbox import SandboxMicrosoft
from adapters.slack.app import SlackFrontEnd, slack_front_end
from adapters.teams import Credentials as TeamsCredentials
from adapters.teams import TeamsFrontEnd
from adapters.teams import file_hosts as teams_file_hosts
from bot.commands import Dispatcher
from bot.ports import Clock
from bot.service import OnboardingService
from settings import Settings, SettingsError, load_settings
from storage.adapter_state import AdapterState
from storage.database import create_engine_for
from storage.migrate import upgrade
from storage.seen_requests import SqlSeenRequests
from storage.unit_of_work import SqlStore

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("onboarding")


@dataclass
class Bot:
    settings: Settings
    engine: Engine
    service: OnboardingService
    dispatcher: Dispatcher
    teams: TeamsFrontEnd | None = None
    slack: SlackFrontEnd | None = None


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
    mailer, outbox = build_mailer(settings, engine, clock)  # MAIL_BACKEND
    service = OnboardingService(
        store=SqlStore(engine),
        microsoft=sandbox,
        mailer=mailer,
        hub=LocalHubDirectory(engine),
        clock=clock,
        partner_name=settings.partner_name,
        transfer_link=settings.p2p_review_url,
        simulator=sandbox,
        outbox=outbox,
        page_size=settings.page_size,
        sync_after=(
            timedelta(minutes=settings.sync_interval_minutes)
            if settings.sync_interval_minutes
            else None
        ),
        bootstrap_admins=settings.admin_identities,
        organisations=settings.organisations,
    )
    dispatcher = Dispatcher(service)
    teams = TeamsFrontEnd(
        dispatcher,
        AdapterState(engine),
        TeamsCredentials(
            app_id=settings.microsoft_app_id,
            password=settings.microsoft_app_password.get_secret_value(),
            tenant_id=settings.microsoft_app_tenant_id,
            app_type=settings.teams_app_type,
        ),
        listen_host=settings.host,
        openid_metadata_url=settings.bot_openid_metadata_url,
        file_hosts=teams_file_hosts(settings.teams_file_hosts),
    )
    service.notifiers.append(teams.notifier)
    slack: SlackFrontEnd | None = None
    if settings.slack_enabled and settings.slack_bot_token:
        secret = settings.slack_signing_secret
        slack = slack_front_end(
            dispatcher,
            customers=service.customers,
            token=settings.slack_bot_token.get_secret_value(),
            signing_secret=secret.get_secret_value() if secret else None,
            api_url=settings.slack_api_url,
            state=AdapterState(engine),
            replays=SqlSeenRequests(engine),
        )
        service.notifiers.append(slack.notifier)
    return Bot(settings, engine, service, dispatcher, teams, slack)


def make_web_app(bot: Bot) -> web.Application:
    from adapters.web import create_web_app

    app = create_web_app(bot.engine)
    if bot.teams:
        bot.teams.mount(app)  # POST /api/messages
    if bot.slack:
        bot.slack.mount(app)  # POST /slack/events
        if not bot.settings.organisations["slack"]:
            app.on_startup.append(lambda _app: learn_slack_workspace(bot))
    return app


async def learn_slack_workspace(bot: Bot) -> None:
    """Without SLACK_TEAM_IDS the bot serves the workspace its token belongs to, as Slack's
    `auth.test` says; when Slack cannot say, it serves no workspace (and says how to fix it)."""
    assert bot.slack is not None
    team = None
    try:
        team = (await bot.slack.client.auth_test()).get("team_id")
    except Exception as err:
        log.error("Slack auth.test failed (%s)", type(err).__name__)
    if team:
        bot.service.access.organisations["slack"] = frozenset({str(team)})
        log.info("serving the Slack workspace %s", team)
    else:
        bot.service.access.organisations["slack"] = frozenset({"-"})
        log.error(
            "Slack: the bot token's workspace is unknown, so no workspace is served; "
            "set SLACK_TEAM_IDS to the workspace (T…) the bot serves"
        )


async def serve(bot: Bot) -> int:
    from aiohttp import web

    runner = web.AppRunner(make_web_app(bot))
    await runner.setup()
    site = web.TCPSite(runner, bot.settings.host, bot.settings.port)
    await site.start()
    log.info("listening on http://%s:%s (GET /healthz)", bot.settings.host, bot.settings.port)
    socket_mode = None
    if bot.slack and bot.settings.slack_app_token:
        socket_mode = await bot.slack.start_socket_mode(
            bot.settings.slack_app_token.get_secret_value()
        )
        log.info("Slack Socket Mode connected")
    scheduler = None
    if bot.settings.scheduler_enabled:
        from adapters.scheduler import DueWorkScheduler
        from bot.jobs import run_due

        scheduler = DueWorkScheduler(
            lambda: run_due(bot.service), bot.settings.scheduler_interval_seconds
        )
        scheduler.start()
    try:
        if sys.stdin.isatty():
            await asyncio.to_thread(Console(bot.dispatcher).run)
        else:
            await asyncio.Event().wait()
    finally:
        if scheduler:
            scheduler.shutdown()
        if socket_mode:
            await socket_mode.close_async()
        await runner.cleanup()
    return 0


def teams_package(settings: Settings, output: Path) -> int:
    from adapters.teams.package import PackageError, build_package

    try:
        path = build_package(settings, output)
    except PackageError as err:
        print(f"app.py: {err}", file=sys.stderr)
        return 2
    print(
        f"Teams app package written to {path}: upload it in Teams (Apps > Manage your apps "
        "> Upload an app) or in the Teams admin center."
    )
    return 0


def instant(text: str) -> datetime:
    """ISO 8601 for `tick --at`; without an offset it is UTC."""
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time, e.g. 2026-11-03T09:00:00Z"
        ) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def tick(bot: Bot) -> int:
    from bot.jobs import run_due

    work = run_due(bot.service)
    print(f"tick {work.line()}")
    return 1 if work.failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="app.py", description="Customer onboarding bot")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the server (default)")
    console = sub.add_parser("console", help="type commands (terminal or pipe)")
    console.add_argument("--json", action="store_true", help="one JSON object per answer")
    sub.add_parser("migrate", help="bring the database schema up to date")
    package = sub.add_parser("teams-package", help="build the Teams app package (zip)")
    package.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where to write it, from the folder you are in (default: dist/teams-app.zip "
        "in the repository)",
    )
    tick_parser = sub.add_parser("tick", help="run the work due now (or --at) and exit")
    tick_parser.add_argument(
        "--at", type=instant, default=None, help="the instant to run at, ISO 8601 (default: now)"
    )
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except SettingsError as err:
        print(f"app.py: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "console":
        logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    if args.command == "teams-package":
        output = user_path(str(args.output), user_folder()) if args.output else None
        return teams_package(settings, output or Path("dist/teams-app.zip"))
    try:
        clock = FixedClock(args.at) if args.command == "tick" and args.at else None
        bot = build(settings, clock)
    except Exception as err:  # a database that cannot be reached or migrated
        print(
            f"app.py: cannot open the database: {type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}",
            file=sys.stderr,
        )
        return 2
    if args.command == "migrate":
        print("Database schema is up to date.")
        return 0
    try:
        if args.command == "console":
            return Console(bot.dispatcher, json_mode=args.json).run()
        if args.command == "tick":
            return tick(bot)
        return asyncio.run(serve(bot))
    except KeyboardInterrupt:
        return 0
    except OutputClosed:
        bot.engine.dispose()
        end_as_reader_left()


if __name__ == "__main__":
    sys.exit(main())
