"""The Bolt app: slash command, buttons, modals, options load and App Home, all acknowledged
at once and answered after, through the one `Dispatcher`.

Every button runs its `Action.line`; what it answers replaces the message it was clicked on
when it is the same kind of message (a card refreshed, a list paged, a confirmation
answered), and is a new ephemeral message otherwise. Use cases run in worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import files, modals
from adapters.slack.notifier import SlackNotifier, web_client
from adapters.slack.render import (
    DISMISS_ACTION,
    PROBLEMS_SHOWN,
    SHARE_ACTION,
    Message,
    home_view,
    render,
)
from bot.commands import Context, Dispatcher, split_line
from bot.domain import Actor
from bot.errors import OnboardingError, ValidationError
from bot.records import Place
from bot.service import OnboardingService
from bot.views import (
    Action,
    BulkProgress,
    BulkReview,
    Confirmation,
    CustomerCard,
    FileReply,
    Form,
    ListPage,
    Notice,
    Pick,
    Reply,
    Tone,
)
from storage.adapter_state import AdapterState

log = logging.getLogger(__name__)

RUN_ACTION = re.compile(r"^run!?:\d+$")
SUBMIT_WAIT = 2.0  # seconds a form submission may take before the modal says "working…"
PROGRESS_EVERY = 0.7  # seconds between in-place updates of a running bulk enrollment
SEEN_FOR = 600.0  # seconds a delivery id is remembered (Slack retries within minutes)


def opens_modal(line: str) -> bool:
    """Lines of the grammar that answer with a form (or, for `bulk`, the upload): their
    modal is opened before they run, while the trigger_id (valid 3 s) is fresh."""
    try:
        words = [w.lower() for w in split_line(line)]
    except ValidationError:
        return False
    verb, args = (words[0].lstrip("/"), words[1:]) if words else ("", [])
    return (
        (verb in ("enroll", "bulk") and not args)
        or (verb in ("gdap", "hub") and bool(args))
        or (verb == "p2p" and bool(args) and args[0] != "cancel")
    )


class SeenDeliveries:
    """Delivery ids (event ids, trigger ids) handled recently, so Slack's retries of a
    request we already took are answered 200 and do nothing."""

    def __init__(self, keep_for: float = SEEN_FOR, most: int = 10_000) -> None:
        self.keep_for = keep_for
        self.most = most
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, key: str) -> bool:
        now = time.monotonic()
        while self._seen and (
            len(self._seen) > self.most or next(iter(self._seen.values())) < now - self.keep_for
        ):
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True


@dataclass
class Where:
    """Who clicked or typed, and every way there is to answer them."""

    user_id: str
    user_name: str
    channel_id: str | None = None
    channel_name: str | None = None
    response_url: str | None = None
    message_ts: str | None = None  # a real (not ephemeral) message the click came from
    source: str = "command"  # command, card, list, row, confirm, pick, review, home, modal…
    ref: str = ""  # the card's onboarding id, the review's import id
    confirmed: bool = False  # Slack's confirm dialog was already shown for this button
    ephemeral: bool = True

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.user_name or self.user_id, "slack")

    @property
    def place(self) -> Place | None:
        if not self.channel_id:
            return None
        direct = self.channel_id.startswith("D") or self.channel_name == "directmessage"
        named = self.channel_name not in (None, "", "privategroup", "directmessage")
        label = (
            "a direct message" if direct else (f"#{self.channel_name}" if named else "this channel")
        )
        return Place("slack", self.channel_id, label, direct)

    @classmethod
    def of_command(cls, body: dict[str, Any]) -> Where:
        return cls(
            body.get("user_id", ""),
            body.get("user_name", ""),
            body.get("channel_id"),
            body.get("channel_name"),
            body.get("response_url"),
        )

    @classmethod
    def of_action(cls, body: dict[str, Any]) -> Where:
        user = body.get("user") or {}
        action = (body.get("actions") or [{}])[0]
        container = body.get("container") or {}
        channel = body.get("channel") or {}
        source, ref = ([*action.get("block_id", "").split(":"), "", ""])[:2]
        where = cls(
            user.get("id", ""),
            user.get("username") or user.get("name", ""),
            channel.get("id") or container.get("channel_id"),
            channel.get("name"),
            body.get("response_url"),
            source=source or "message",
            ref=ref,
            confirmed=action.get("action_id", "").startswith("run!"),
            ephemeral=bool(container.get("is_ephemeral")),
        )
        if container.get("type") == "message" and not where.ephemeral:
            where.message_ts = container.get("message_ts")
        view = body.get("view")
        if view:
            if view.get("type") == "home":
                where.source = "home"
            else:
                where.source = "modal"
                meta = modals.ModalMeta.load(view.get("private_metadata", ""))
                where.channel_id, where.response_url = meta.channel, meta.response_url
        return where

    @classmethod
    def of_modal(cls, body: dict[str, Any], meta: modals.ModalMeta) -> Where:
        user = body.get("user") or {}
        return cls(
            user.get("id", ""),
            user.get("username") or user.get("name", ""),
            meta.channel,
            None,
            meta.response_url,
            source="card" if meta.replace else ("home" if meta.home else "modal"),
            ref=meta.context.get("onboarding", ""),
        )


def _replaces(reply: Reply, where: Where) -> bool:
    """Whether the answer takes the place of the message that was clicked."""
    if where.source in ("confirm", "pick", "review"):
        return True
    return (where.source == "card" and isinstance(reply, CustomerCard)) or (
        where.source == "list" and isinstance(reply, ListPage)
    )


def _share_line(reply: Reply, line: str) -> str | None:
    if isinstance(reply, CustomerCard) and not reply.closed:
        return f"show {reply.row.id}"
    if isinstance(reply, ListPage):
        return line
    return None


class SlackFrontEnd:
    def __init__(
        self,
        dispatcher: Dispatcher,
        service: OnboardingService,
        *,
        token: str,
        signing_secret: str | None,
        api_url: str = files.DEFAULT_API_URL,
        state: AdapterState,
    ) -> None:
        self.dispatcher = dispatcher
        self.service = service
        self.notifier = SlackNotifier(web_client(token, api_url), state, self.card_for)
        self.client = AsyncWebClient(token=token, base_url=api_url, timeout=15)
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
        self.file_hosts = files.file_hosts(api_url)
        self.seen = SeenDeliveries()
        self._signing_secret = signing_secret
        self.app = AsyncApp(
            client=self.client,
            signing_secret=signing_secret,
            request_verification_enabled=signing_secret is not None,
            name="onboarding-bot",
        )
        self._register()

    # -- how requests arrive -----------------------------------------------------------------

    def mount(self, web_app: web.Application) -> None:
        """`POST /slack/events`: slash commands, interactivity, options load and events, each
        checked against the signing secret (401 when the signature or timestamp is wrong)."""
        if self._signing_secret is not None:  # Socket Mode alone serves no HTTP route
            web_app.router.add_post("/slack/events", self.handle_http)

    async def handle_http(self, request: web.Request) -> web.Response:
        answer = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(answer)

    async def start_socket_mode(self, app_token: str) -> Any:
        """Socket Mode: Slack sends everything over a WebSocket the bot opens (no public URL)."""
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(self.app, app_token)
        await handler.connect_async()
        return handler

    # -- listeners ---------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        app.middleware(self._drop_retries)
        app.command("/onboard")(self._on_command)
        app.action(RUN_ACTION)(self._on_run)
        app.action(SHARE_ACTION)(self._on_share)
        app.action(DISMISS_ACTION)(self._on_dismiss)
        app.action(modals.VALUE_ACTION)(self._on_field)
        app.view(modals.FORM_CALLBACK)(self._on_submit)
        app.options(modals.VALUE_ACTION)(self._on_options)
        app.event("app_home_opened")(self._on_home_opened)

    async def _drop_retries(self, body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:
        """Slack retries an event it thinks we missed, and Bolt does not drop duplicates."""
        key = body.get("event_id") or (
            body.get("trigger_id") if body.get("type") != "block_suggestion" else None
        )
        if key and not self.seen.first_time(str(key)):
            log.info("dropped a repeated Slack delivery %s", key)
            return BoltResponse(status=200, body="")
        return await next()

    async def _on_command(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        await ack()
        where = Where.of_command(body)
        await self._guard(self._run(body.get("text", ""), where, body.get("trigger_id")), where)

    async def _on_run(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        await ack()
        where = Where.of_action(body)
        line = body["actions"][0].get("value", "")
        await self._guard(self._run(line, where, body.get("trigger_id")), where)

    async def _on_share(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        await ack()
        where = Where.of_action(body)
        await self._guard(self._share(body["actions"][0].get("value", ""), where), where)

    async def _share(self, line: str, where: Where) -> None:
        """The answer again, for the whole channel (without the Share button)."""
        reply = await self._handle(line, where)
        if where.response_url:
            await self._respond(where.response_url, render(reply), in_channel=True)

    async def _on_dismiss(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        await ack()
        where = Where.of_action(body)
        if where.response_url:
            await AsyncWebhookClient(where.response_url).send(
                delete_original=True, text="Nothing was done."
            )

    async def _on_field(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        """A choice with `fills` changed in a modal (P2P: a known partner was picked)."""
        await ack()
        view = body.get("view") or {}
        action = body["actions"][0]
        picked = (action.get("selected_option") or {}).get("value")
        if not picked or not action.get("block_id", "").startswith("f:"):
            return
        meta = modals.ModalMeta.load(view.get("private_metadata", ""))
        form = await self._handle(meta.line, Where.of_action(body))
        if isinstance(form, Form):
            await self.client.views_update(
                view_id=view["id"],
                hash=view.get("hash"),
                view=modals.fill(view, form, meta, action["block_id"].split(":")[1], picked),
            )

    async def _on_options(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        await ack(options=modals.country_options(body.get("value", "")))

    async def _on_home_opened(self, event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            await self.publish_home(event["user"])

    async def _on_submit(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        view = body["view"]
        meta = modals.ModalMeta.load(view.get("private_metadata", ""))
        where = Where.of_modal(body, meta)
        values = modals.values_of(view)
        if meta.kind == modals.BULK_KIND:
            await ack()
            await self._guard(self._bulk_upload(values.get("file") or [], where), where)
            return
        task = asyncio.ensure_future(
            asyncio.to_thread(
                self.dispatcher.submit, meta.kind, meta.context, values, self._context(where)
            )
        )
        done, _ = await asyncio.wait({task}, timeout=SUBMIT_WAIT)
        if done and isinstance(task.exception(), ValidationError):
            # Shown on the fields; Slack keeps what the user typed.
            await ack(response_action="errors", errors=modals.field_errors(view, task.exception()))  # type: ignore[arg-type]
            return
        if done:
            await ack()  # closes the modal
        else:
            await ack(
                response_action="update",
                view=modals.message_view(
                    "Working…", "Working on it: the answer is posted when it is done."
                ),
            )
        await self._guard(self._after_submit(task, view, meta, where, slow=not done), where)

    async def _after_submit(
        self,
        task: asyncio.Future[Reply],
        view: dict[str, Any],
        meta: modals.ModalMeta,
        where: Where,
        slow: bool,
    ) -> None:
        try:
            reply = await task
        except ValidationError as err:  # too late for Slack's field errors: the form again
            form = await self._handle(meta.line, where)
            if isinstance(form, Form):
                meta.rev += 1
                await self.client.views_update(
                    view_id=view["id"],
                    view=modals.form_view(form, meta, modals.values_of(view), str(err)),
                )
            return
        if slow:
            await self.client.views_update(
                view_id=view["id"],
                view=modals.message_view("Done", getattr(reply, "summary", "Done.")),
            )
        await self._answer(reply, where, meta.line)
        if meta.home:
            await self.publish_home(where.user_id)

    # -- running a line ----------------------------------------------------------------------

    def _context(
        self,
        where: Where,
        read_file: Callable[[str], tuple[bytes, str]] | None = None,
        progress: Callable[[BulkProgress], None] | None = None,
    ) -> Context:
        return Context(where.actor, where.place, read_file, progress)

    async def _handle(self, line: str, where: Where, **context: Any) -> Reply:
        return await asyncio.to_thread(
            self.dispatcher.handle, line, self._context(where, **context)
        )

    async def _guard(self, work: Awaitable[None], where: Where) -> None:
        """Anything unexpected after the ack becomes a message with an error id, not silence."""
        try:
            await work
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("Slack request failed (error %s)", ref)
            notice = Notice(
                f"Something went wrong on our side (error {ref}). What was saved "
                "before stays saved; try again, or give this error id to your "
                "admin.",
                Tone.FAILURE,
            )
            try:
                await self._send(where, render(notice))
            except Exception:
                log.exception("could not tell the user about error %s", ref)

    async def _run(self, line: str, where: Where, trigger_id: str | None) -> None:
        if trigger_id and opens_modal(line):
            await self._run_in_modal(line, where, trigger_id)
            return
        reply = await self._with_progress(line, where)
        if isinstance(reply, Confirmation) and where.confirmed:
            reply = await self._handle(reply.confirm_line, where)  # Slack's dialog asked already
        await self._answer(reply, where, line)

    async def _run_in_modal(self, line: str, where: Where, trigger_id: str) -> None:
        meta = modals.ModalMeta(
            "",
            line,
            channel=where.channel_id,
            response_url=where.response_url,
            replace=where.source == "card",
            home=where.source == "home",
        )
        opened = await self.client.views_open(
            trigger_id=trigger_id,
            view=modals.message_view("Loading…", ":hourglass_flowing_sand: Loading…", meta),
        )
        view_id = opened["view"]["id"]
        reply = await self._handle(line, where)
        if isinstance(reply, Form):
            meta.kind, meta.context = reply.kind, dict(reply.context)
            view = modals.form_view(reply, meta)
        elif (
            isinstance(reply, Notice)
            and reply.tone is not Tone.FAILURE
            and line.strip().lower().lstrip("/") == "bulk"
        ):
            view = modals.bulk_view(reply, meta)
        else:
            view = modals.message_view("Not now", render(reply).text)
            if where.source == "card":
                await self._refresh_card(where)
        await self.client.views_update(view_id=view_id, view=view)

    async def _with_progress(self, line: str, where: Where) -> Reply:
        """Runs the line; a bulk enrollment's progress replaces the message as it goes."""
        latest: list[BulkProgress] = []
        task = asyncio.ensure_future(self._handle(line, where, progress=latest.append))
        shown = 0
        while True:
            done, _ = await asyncio.wait({task}, timeout=PROGRESS_EVERY)
            if done:
                return task.result()
            if len(latest) > shown:
                shown = len(latest)
                await self._replace_in_place(where, render(latest[-1]))

    async def _bulk_upload(self, uploaded: list[dict[str, Any]], where: Where) -> None:
        if not uploaded:
            await self._send(where, render(Notice("No file was attached.", Tone.FAILURE)))
            return
        try:
            data, name = await files.download(self.client, uploaded[0]["id"], self.file_hosts)
        except OnboardingError as err:
            await self._send(where, render(Notice(str(err), Tone.FAILURE)))
            return
        reply = await self._handle(
            f"bulk {uploaded[0]['id']}", where, read_file=lambda _ref: (data, name)
        )
        if isinstance(reply, BulkReview):
            channel = await self._post(where, render(reply))  # real: progress updates it
            if len(reply.problems) > PROBLEMS_SHOWN:
                await files.upload(self.client, files.problems_file(reply), channel, where.user_id)
        else:
            await self._send(where, render(reply))

    # -- answering ---------------------------------------------------------------------------

    async def _answer(self, reply: Reply, where: Where, line: str) -> None:
        if isinstance(reply, FileReply):
            await files.upload(self.client, reply, where.channel_id, where.user_id)
            return
        if isinstance(reply, Form):  # no trigger to open it with: offer a button that has one
            reply = Notice(reply.title, Tone.INFO, (Action("Open the form", line, "primary"),))
        if isinstance(reply, BulkReview) and not _replaces(reply, where):
            await self._post(where, render(reply))
            return
        share = _share_line(reply, line) if where.ephemeral else None
        replace = _replaces(reply, where)
        await self._send(where, render(reply, share), replace=replace)
        if (
            where.source == "card"
            and not replace
            and isinstance(reply, Notice | Pick)
            and getattr(reply, "tone", Tone.FAILURE) is Tone.FAILURE
        ):
            await self._refresh_card(where)  # a stale button: show the card as it is now

    async def _refresh_card(self, where: Where) -> None:
        card = await asyncio.to_thread(self.card_for, where.ref)
        if card is not None:
            share = f"show {card.row.id}" if where.ephemeral and not card.closed else None
            await self._send(where, render(card, share), replace=True)

    def card_for(self, onboarding_id: str) -> CustomerCard | None:
        """The card of an onboarding by id, open or closed (stale cards and thread heads)."""
        return card_for(self.service, onboarding_id)

    async def _send(self, where: Where, message: Message, replace: bool = False) -> None:
        if replace and where.message_ts and where.channel_id:
            await self._replace_in_place(where, message)
        elif where.response_url:
            await self._respond(where.response_url, message, replace=replace)
        else:  # App Home or a modal opened from it: the user's DM with the app
            await self.client.chat_postMessage(channel=where.user_id, **message.payload())

    async def _post(self, where: Where, message: Message) -> str:
        """A real message (updatable without limit), where the user is, else in their DM;
        returns the conversation it went to."""
        if where.channel_id:
            try:
                posted = await self.client.chat_postMessage(
                    channel=where.channel_id, **message.payload()
                )
                return str(posted["channel"])
            except SlackApiError as err:
                log.info(
                    "posting in %s refused (%s); using the DM",
                    where.channel_id,
                    err.response.get("error"),
                )
        posted = await self.client.chat_postMessage(channel=where.user_id, **message.payload())
        return str(posted["channel"])

    async def _replace_in_place(self, where: Where, message: Message) -> None:
        """chat.update for a real message (no limit), else the response_url (5 uses)."""
        if where.message_ts and where.channel_id:
            try:
                await self.client.chat_update(
                    channel=where.channel_id, ts=where.message_ts, **message.payload()
                )
                return
            except SlackApiError as err:
                if not where.response_url:
                    raise
                log.info(
                    "chat.update refused (%s); using the response_url", err.response.get("error")
                )
        if where.response_url:
            await self._respond(where.response_url, message, replace=True)

    @staticmethod
    async def _respond(
        url: str, message: Message, *, replace: bool = False, in_channel: bool = False
    ) -> None:
        answer = await AsyncWebhookClient(url).send(
            **message.payload(),
            replace_original=replace,
            response_type="in_channel" if in_channel else "ephemeral",
        )
        if answer.status_code != 200:
            log.warning("response_url answered %s: %s", answer.status_code, answer.body)

    # -- App Home ----------------------------------------------------------------------------

    async def publish_home(self, user_id: str) -> None:
        where = Where(user_id, user_id, source="home")
        everyone, failed = await asyncio.gather(
            self._handle("status", where), self._handle("status failed", where)
        )
        if isinstance(everyone, ListPage) and isinstance(failed, ListPage):
            await self.client.views_publish(user_id=user_id, view=home_view(everyone, failed))


def card_for(service: OnboardingService, onboarding_id: str) -> CustomerCard | None:
    if not onboarding_id:
        return None
    return service.customers.card_by_id(onboarding_id)


def slack_front_end(
    settings: Any, dispatcher: Dispatcher, service: OnboardingService, state: AdapterState
) -> SlackFrontEnd | None:
    """The Slack front end when `settings` turn it on, else None."""
    if not settings.slack_enabled:
        return None
    secret = settings.slack_signing_secret
    return SlackFrontEnd(
        dispatcher,
        service,
        token=settings.slack_bot_token.get_secret_value(),
        signing_secret=secret.get_secret_value() if secret else None,
        api_url=settings.slack_api_url,
        state=state,
    )
