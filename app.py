"""Composition root and command line: builds the store, the adapters and the service, and runs them.

python app.py [serve]       the aiohttp server (+ the console when stdin is a terminal)
python app.py console       the console alone (terminal or pipe); --json for scripts
python app.py migrate       bring the database schema up to date
python app.py teams-package the Teams app package to upload (--output PATH)
python app.py tick [--at T] run the work due at T (ISO 8601; default now) and exit
python app.py doctor        check a live Microsoft configuration, one line per check
python app.py partner-link  sign a partner user in once and store the reseller link
python app.py webhooks register URL [--replace-url]   Partner Center's webhooks to the bot
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from adapters.clock import FixedClock, SystemClock
from adapters.console.logs import log_beside_the_console
from adapters.console.places import user_folder, user_path
from adapters.console.repl import Console, OutputClosed, end_as_reader_left
from adapters.downloads import DownloadLinks, signing_key
from adapters.hub.directory import LocalHubDirectory
from adapters.mail import build_mailer
from adapters.microsoft.sandbox import SandboxMicrosoft
from adapters.teams import Credentials as TeamsCredentials
from adapters.teams import TeamsFrontEnd
from adapters.teams import file_hosts as teams_file_hosts
from bot.commands import Dispatcher
from bot.ports import Clock, MicrosoftPartner
from bot.service import OnboardingService
from settings import Settings, SettingsError, live_problems, load_settings
from storage.adapter_state import AdapterState
from storage.database import create_engine_for
from storage.migrate import upgrade
from storage.seen_requests import SqlSeenRequests
from storage.unit_of_work import SqlStore

if TYPE_CHECKING:
    from aiohttp import web

    from adapters.microsoft.live.http import RetryPolicy
    from adapters.microsoft.live.wiring import LiveParts
    from adapters.partner_center_webhook import PartnerCenterWebhook
    from adapters.scheduler import DueWorkScheduler
    from adapters.slack.app import SlackFrontEnd

log = logging.getLogger("onboarding")


@dataclass
class Bot:
    settings: Settings
    engine: Engine
    service: OnboardingService
    dispatcher: Dispatcher
    teams: TeamsFrontEnd | None = None
    slack: SlackFrontEnd | None = None
    live: LiveParts | None = None  # MICROSOFT_BACKEND=live
    downloads: DownloadLinks | None = None  # GET /exports/ID: the links Teams answers with


def open_engine(settings: Settings) -> Engine:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine_for(settings.database_url)
    upgrade(engine)
    return engine


def build(
    settings: Settings, clock: Clock | None = None, *, retry_policy: RetryPolicy | None = None
) -> Bot:
    """Wires the embedded defaults; real services replace them through settings alone.
    `retry_policy`: the live backend's back-off and time budget (tests make them small)."""
    clock = clock or SystemClock()
    problems = live_problems(settings)
    if problems:
        raise SettingsError("\n".join(problems))
    engine = open_engine(settings)
    live: LiveParts | None = None
    microsoft: MicrosoftPartner
    sandbox: SandboxMicrosoft | None = None
    if settings.microsoft_backend == "live":
        from adapters.microsoft.live.wiring import build_live

        live = build_live(settings, AdapterState(engine), retry_policy)
        microsoft = live.backend
    else:
        sandbox = SandboxMicrosoft(AdapterState(engine), clock, settings.partner_tenant_id)
        microsoft = sandbox
    mailer, outbox = build_mailer(  # MAIL_BACKEND; one token provider for the partner app
        settings, engine, clock, tokens=live.tokens if live else None
    )
    service = OnboardingService(
        store=SqlStore(engine),
        microsoft=microsoft,
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
        role_groups=settings.role_groups,
    )
    dispatcher = Dispatcher(service)
    export_key = settings.export_signing_key
    downloads = DownloadLinks(
        service.exports,
        clock,
        signing_key(
            export_key.get_secret_value() if export_key else "",
            settings.microsoft_app_password.get_secret_value(),
        ),
        settings.link_base_url,
    )
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
        downloads=downloads,
    )
    service.notifiers.append(teams.notifier)
    slack: SlackFrontEnd | None = None
    if settings.slack_enabled and settings.slack_bot_token:
        from adapters.slack.app import slack_front_end  # only when Slack is on: start-up

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
    return Bot(settings, engine, service, dispatcher, teams, slack, live, downloads)


def make_web_app(bot: Bot) -> web.Application:
    from adapters.web import create_web_app

    app = create_web_app(bot.engine, bot.downloads)
    if bot.live:
        partner_center_webhook(bot).mount(app)  # POST /webhooks/partner-center
    if bot.teams:
        bot.teams.mount(app)  # POST /api/messages
    if bot.slack:
        bot.slack.mount(app)  # POST /slack/events
        if not bot.settings.organisations["slack"]:
            app.on_startup.append(lambda _app: learn_slack_workspace(bot))
    return app


def partner_center_webhook(bot: Bot) -> PartnerCenterWebhook:
    from adapters.microsoft.live.wiring import WEBHOOK_REPLAY_WINDOW, callback_verifier
    from adapters.partner_center_webhook import PartnerCenterWebhook

    return PartnerCenterWebhook(
        callback_verifier(bot.settings),
        SqlSeenRequests(bot.engine, WEBHOOK_REPLAY_WINDOW, scope="partner-center"),
        bot.service.sync.on_event,
        bot.service.clock.now,
    )


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


async def serve(bot: Bot, notes: tuple[str, ...] = ()) -> int:
    """`notes`: what the console says first when it runs (where the log is)."""
    from aiohttp import web

    from adapters.web import AccessLog

    runner = web.AppRunner(make_web_app(bot), access_log_class=AccessLog)
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
    if bot.live:
        asyncio.get_running_loop().run_in_executor(None, microsoft_ready, bot.live)
    # Requests do not wait for the scheduler: it starts beside them (see `start_scheduler`).
    scheduling = (
        asyncio.create_task(start_scheduler(bot)) if bot.settings.scheduler_enabled else None
    )
    try:
        if sys.stdin.isatty():
            listening = f"Listening on http://{bot.settings.host}:{bot.settings.port}."
            await asyncio.to_thread(Console(bot.dispatcher, notes=(listening, *notes)).run)
        else:
            await asyncio.Event().wait()
    finally:
        if scheduling:
            await stop_scheduler(scheduling)
        if socket_mode:
            await socket_mode.close_async()
        await runner.cleanup()
    return 0


async def start_scheduler(bot: Bot) -> DueWorkScheduler | None:
    """Starts the due-work scheduler (its first run is at once) once the server is up, with
    APScheduler imported in a worker thread: that import reads every installed package's
    entry points, and requests (and /healthz) are served meanwhile instead of waiting.
    None, and an error in the log, if it cannot start: the bot still takes requests."""
    try:
        await asyncio.to_thread(importlib.import_module, "adapters.scheduler")
        from adapters.scheduler import DueWorkScheduler
        from bot.jobs import run_due

        scheduler = DueWorkScheduler(
            lambda: run_due(bot.service), bot.settings.scheduler_interval_seconds
        )
        scheduler.start()
    except Exception:
        log.exception("the scheduler did not start: reminders and expiries wait for a restart")
        return None
    return scheduler


async def stop_scheduler(scheduling: asyncio.Task[DueWorkScheduler | None]) -> None:
    if not scheduling.done():
        scheduling.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        scheduler = await scheduling
        if scheduler:
            scheduler.shutdown()


def microsoft_ready(live: LiveParts) -> None:
    """At start-up, once, in the background: can the app get its tokens? One line either way;
    the bot keeps running (every call retries), and doctor says what to fix."""
    from adapters.microsoft.live.tokens import GRAPH_SCOPE, PARTNER_CENTER_SCOPE
    from bot.errors import ProviderError

    try:
        live.tokens.get(GRAPH_SCOPE)
        live.tokens.get(PARTNER_CENTER_SCOPE)
    except ProviderError as err:
        log.warning("Microsoft: %s", err)
        return
    log.info("Microsoft: the partner app has its Graph and Partner Center tokens")


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


def doctor(settings: Settings) -> int:
    """One line per check, ✓ or ✗ with the fix; 0 only when every check passes."""
    from adapters.microsoft.live.doctor import Doctor, examine, sandbox_lines
    from adapters.microsoft.live.wiring import build_live

    engine = open_engine(settings)
    state = AdapterState(engine)
    problems = live_problems(settings)
    live = (
        build_live(settings, state)
        if settings.microsoft_backend == "live" and not problems
        else None
    )
    mailer, _ = build_mailer(
        settings, engine, SystemClock(), check=False, tokens=live.tokens if live else None
    )
    mail_check = getattr(mailer, "check", None)
    if settings.microsoft_backend == "sandbox":
        lines = sandbox_lines(settings, mail_check() if mail_check else None)
    else:
        lines = examine(
            Doctor(
                settings,
                state,
                problems,
                live.tokens if live else None,
                live.graph if live else None,
                live.partner_center if live else None,
                mail_check,
            )
        )
    for line in lines:
        print(line)
    passed = sum(line.ok for line in lines)
    print(f"doctor: {passed} of {len(lines)} checks pass")
    return 0 if passed == len(lines) else 1


def partner_link(bot: Bot) -> int:
    from adapters.microsoft.live.partner_link import partner_link as sign_in_and_store

    assert bot.live is not None
    return sign_in_and_store(
        tenant_id=bot.settings.partner_tenant_id,
        client_id=bot.settings.partner_client_id,
        login_url=bot.settings.microsoft_login_url,
        http=bot.live.login_http,
        partner_center=bot.live.partner_center,
        state=AdapterState(bot.engine),
        now=bot.service.clock.now,
        configured_link=bot.settings.partner_reseller_link,
    )


def register_webhooks(bot: Bot, url: str, *, replace_url: bool) -> int:
    from adapters.microsoft.live.backend import STATE_KIND
    from adapters.microsoft.live.registration import STATE_KEY, register
    from bot.errors import ProviderError

    assert bot.live is not None
    try:
        plan = register(bot.live.partner_center, url, replace_url=replace_url)
    except ProviderError as err:
        print(f"app.py: {err}", file=sys.stderr)
        return 1
    for line in plan.lines():
        print(line)
    if plan.refused:
        return 1
    AdapterState(bot.engine).put(STATE_KIND, STATE_KEY, {"url": url})
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
    sub.add_parser("doctor", help="check the live Microsoft configuration, one line per check")
    sub.add_parser("partner-link", help="sign in once and store the reseller invitation link")
    webhooks = sub.add_parser("webhooks", help="Partner Center's webhook registration")
    webhooks_sub = webhooks.add_subparsers(dest="webhooks_command", required=True)
    register_parser = webhooks_sub.add_parser(
        "register", help="send Partner Center's events to URL (merged into the registration)"
    )
    register_parser.add_argument("url", metavar="URL", help="https://HOST/webhooks/partner-center")
    register_parser.add_argument(
        "--replace-url",
        action="store_true",
        help="take the registration over from the URL another tool registered",
    )
    args = parser.parse_args(argv)

    try:
        # doctor reports incomplete live settings as its own lines instead of refusing
        settings = load_settings(check_live=args.command != "doctor")
    except SettingsError as err:
        for line in str(err).splitlines():
            print(f"app.py: {line}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command in ("console", "doctor", "partner-link", "webhooks"):
        # Their output is the answer: INFO lines (a first migration, say) would bury it.
        logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    typing_at_a_terminal = sys.stdin.isatty() and (
        args.command in (None, "serve") or (args.command == "console" and not args.json)
    )
    log_note = log_beside_the_console(logging.getLogger().level) if typing_at_a_terminal else None
    if args.command == "teams-package":
        output = user_path(str(args.output), user_folder()) if args.output else None
        return teams_package(settings, output or Path("dist/teams-app.zip"))
    if args.command == "doctor":
        return doctor(settings)
    if args.command in ("partner-link", "webhooks") and settings.microsoft_backend != "live":
        print(
            f"app.py: {args.command} is for MICROSOFT_BACKEND=live; the sandbox needs none",
            file=sys.stderr,
        )
        return 2
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
    if args.command == "partner-link":
        return partner_link(bot)
    if args.command == "webhooks":
        return register_webhooks(bot, args.url, replace_url=args.replace_url)
    try:
        notes = (log_note,) if log_note else ()
        if args.command == "console":
            return Console(bot.dispatcher, json_mode=args.json, notes=notes).run()
        if args.command == "tick":
            return tick(bot)
        return asyncio.run(serve(bot, notes))
    except KeyboardInterrupt:
        return 0
    except OutputClosed:
        bot.engine.dispose()
        end_as_reader_left()


if __name__ == "__main__":
    sys.exit(main())
