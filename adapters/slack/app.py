"""The Slack front end: the Bolt app and its listeners (slash command, buttons, modals,
options load, App Home), each acknowledged at once and answered after, through the one
`Dispatcher`.

What a line answers is known before it runs (`Dispatcher.interpret`): a form or the upload
opens its modal while the click's trigger_id (valid 3 s) is fresh, and slow work shows
progress first. Every button runs its `Action.line`; what it answers replaces the message it
was clicked on when it is the same kind of message (a card refreshed, a list paged, a
confirmation answered), and is a new ephemeral message otherwise. Use cases run in worker
threads. Payloads are read in `requests.py`, answers drawn in `render.py` and `forms.py`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.models.views import View
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import files, forms, gate
from adapters.slack.gate import Refusal
from adapters.slack.logs import bolt_logger, for_log
from adapters.slack.notifier import SlackNotifier, ThreadState, web_client
from adapters.slack.render import (
    DISMISS_ACTION,
    PROBLEMS_SHOWN,
    REVIEW_SHOWN,
    SHARE_ACTION,
    Message,
    home_view,
    render,
)
from adapters.slack.requests import (
    SeenDeliveries,
    Where,
    clicked_line,
    delivery_key,
    modal_meta,
    picked_choice,
    upload_line,
)
from bot.commands import Answer, Dispatcher
from bot.customers import Customers
from bot.errors import OnboardingError, ProviderError, ValidationError
from bot.views import (
    Action,
    ActionRole,
    BulkProgress,
    BulkReview,
    Confirmation,
    CsvFile,
    CustomerCard,
    FileReply,
    Form,
    ListPage,
    Notice,
    Pick,
    Reply,
    Tone,
)

log = logging.getLogger(__name__)
TIME_ZONE_COMMANDS = frozenset({"digest"})  # whose answer depends on the person's time zone

RUN_ACTION = re.compile(r"^run!?:\d+$")
SUBMIT_WAIT = 2.0  # seconds a form submission may take before the modal says "working…"
PROGRESS_EVERY = 0.7  # seconds between in-place updates of a running bulk enrollment
IN_A_MODAL = (Answer.FORM, Answer.UPLOAD)
KEPT_META_KIND = "slack.modal"  # adapter state: metadata too long for a modal, by key
ACK_SENT = "onboarding_bot.ack_sent"  # Bolt context: an asyncio.Event, set once the ack is out
FIRST_TIME = "onboarding_bot.first_time"  # Bolt context: the replay check's Future[bool]
# Loop turns a listener gives away between its ack's write and its work: I/O that is ready by
# then (the ack's reader in this process, another request's bytes) is taken before a worker
# thread starts to compete for the GIL (5 ms a turn when it does). Three measured best.
LOOP_TURNS_AFTER_ACK = 3


async def _first_time(context: dict[str, Any]) -> bool:
    """The replay check's verdict (True without one: Socket Mode, no replay guard)."""
    verdict = context.get(FIRST_TIME)
    return True if verdict is None else bool(await verdict)


def _acks_first(body: dict[str, Any]) -> bool:
    """Slash commands and button clicks: their listeners ack before anything else, then wait
    for the replay check (`SlackFrontEnd._ack_first`); all other requests wait before."""
    return "command" in body or body.get("type") == "block_actions"


def _replaces(reply: Reply, where: Where) -> bool:
    """Whether the answer takes the place of the message that was clicked."""
    if where.source in ("confirm", "pick", "review", "progress"):
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


class ReplayGuard(Protocol):
    """Signed requests already taken, shared by every replica (`storage.seen_requests`)."""

    def first_time(self, signature: str, at: datetime) -> bool: ...


class SlackFrontEnd:
    """Slack in front of the dispatcher: `mount` on the web app (HTTP) or `start_socket_mode`;
    `notifier` posts channel notices. `customers` gives the cards of stale buttons and of
    notice threads; everything else goes through `dispatcher`."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        customers: Customers,
        *,
        token: str,
        signing_secret: str | None,
        api_url: str = files.DEFAULT_API_URL,
        state: ThreadState,
        replays: ReplayGuard | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.replays = replays
        self.customers = customers
        self.notifier = SlackNotifier(web_client(token, api_url), state, self.card_for)
        self.client = AsyncWebClient(token=token, base_url=api_url, timeout=15)
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
        self.file_hosts = files.file_hosts(api_url)
        self.seen = SeenDeliveries()
        self._signing_secret = signing_secret
        self._state = state
        self._verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self.app = AsyncApp(
            client=self.client,
            signing_secret=signing_secret,
            request_verification_enabled=signing_secret is not None,
            name="onboarding-bot",
            logger=bolt_logger(),
        )
        self._register()

    # -- how requests arrive -----------------------------------------------------------------

    def mount(self, web_app: web.Application) -> None:
        """`POST /slack/events`: slash commands, interactivity, options load and events, each
        checked against the signing secret (401 when the signature or timestamp is wrong)."""
        if self._signing_secret is not None:  # Socket Mode alone serves no HTTP route
            web_app.router.add_post("/slack/events", self.handle_http)

    async def handle_http(self, request: web.Request) -> web.Response:
        """The gate, then Bolt; the replay check (a write to the store) runs meanwhile, as
        Bolt takes at least its 10 ms poll to hand over an ack. Nothing acts before the
        check says the request is new (`_refuse_replays`, `_ack_first`); a replay is
        answered 401 instead of Bolt's ack."""
        body = await request.read()
        refused = (
            gate.refusal(self._verifier, request.headers, request.content_type, body)
            if self._verifier
            else Refusal(401, "no signing secret")
        )
        if refused:
            log.warning("refused a Slack request: %s (%s bytes)", refused.reason, f"{len(body):,}")
            return web.Response(status=refused.status, text=refused.reason)
        bolt_request = await to_bolt_request(request)
        sent = asyncio.Event()
        bolt_request.context[ACK_SENT] = sent
        if self.replays is not None:
            signature = request.headers.get("X-Slack-Signature", "")
            bolt_request.context[FIRST_TIME] = asyncio.ensure_future(
                asyncio.to_thread(self.replays.first_time, signature, datetime.now(UTC))
            )
        try:
            answer = await self.app.async_dispatch(bolt_request)
            if not await _first_time(bolt_request.context):
                return self._replayed(request, len(body))
            response = await to_aiohttp_response(answer)
            await response.prepare(request)
            await response.write_eof()
            return response
        finally:
            sent.set()

    @staticmethod
    def _replayed(request: web.Request, size: int) -> web.Response:
        # The very same signed request again is never run twice: Slack's own retry of it (it
        # says so in X-Slack-Retry-Num) is answered 200 so Slack stops; anything else is a
        # replay (after a restart, or to another replica) and refused.
        if request.headers.get("X-Slack-Retry-Num"):
            log.info("dropped a repeated Slack delivery (%s bytes)", f"{size:,}")
            return web.Response(status=200)
        log.warning("refused a Slack request: replayed (%s bytes)", f"{size:,}")
        return web.Response(status=401, text="replayed request")

    async def start_socket_mode(self, app_token: str) -> Any:
        """Socket Mode: Slack sends everything over a WebSocket the bot opens (no public URL)."""
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(self.app, app_token)
        await handler.connect_async()
        return handler

    # -- listeners ---------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        app.middleware(self._refuse_replays)
        app.middleware(self._drop_retries)
        app.middleware(self._restore_kept_meta)
        app.command("/onboard")(self._on_command)
        app.action(RUN_ACTION)(self._on_run)
        app.action(SHARE_ACTION)(self._on_share)
        app.action(DISMISS_ACTION)(self._on_dismiss)
        app.action(forms.VALUE_ACTION)(self._on_field)
        app.view(forms.FORM_CALLBACK)(self._on_submit)
        app.options(forms.VALUE_ACTION)(self._on_options)
        app.event("app_home_opened")(self._on_home_opened)

    async def _refuse_replays(
        self, body: dict[str, Any], context: dict[str, Any], next: Callable[[], Awaitable[Any]]
    ) -> Any:
        """A replayed request goes no further: `handle_http` answers it. Listeners that ack
        first check after their ack instead, so the check overlaps Bolt's way to the ack."""
        if not _acks_first(body) and not await _first_time(context):
            return BoltResponse(status=401, body="")
        return await next()

    async def _drop_retries(self, body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:
        """Slack retries an event it thinks we missed, and Bolt does not drop duplicates."""
        key = delivery_key(body)
        if key and not self.seen.first_time(key):
            log.info("dropped a repeated Slack delivery %s", for_log(key))
            return BoltResponse(status=200, body="")
        return await next()

    async def _fit(self, view: View) -> View:
        """A modal whose metadata is past Slack's limit carries a reference to it instead;
        the metadata is kept in the store (any replica can answer the submission)."""
        text = view.private_metadata or ""
        if len(text) > forms.META_MAX:
            key = uuid.uuid4().hex
            await asyncio.to_thread(self._state.put, KEPT_META_KIND, key, {"meta": text})
            view.private_metadata = forms.kept_reference(key)
        return view

    async def _restore_kept_meta(
        self, body: dict[str, Any], next: Callable[[], Awaitable[Any]]
    ) -> Any:
        """The other half of `_fit`: listeners see the metadata as the modal was given it."""
        view = body.get("view")
        key = forms.kept_key(view.get("private_metadata")) if isinstance(view, dict) else None
        if key and isinstance(view, dict):
            kept = await asyncio.to_thread(self._state.get, KEPT_META_KIND, key)
            view["private_metadata"] = str((kept or {}).get("meta", ""))
        return await next()

    @staticmethod
    async def _ack_first(ack: Callable[..., Awaitable[Any]], context: dict[str, Any]) -> bool:
        """Acks, then waits until the ack is written to Slack's connection (HTTP): True when
        the request may go on, False for a replay (refused instead of acked). Bolt sends the
        ack from the event loop while the listener goes on; work started at once (a worker
        thread reading the store) would hold the GIL the loop needs to send it."""
        await ack()
        sent = context.get(ACK_SENT)  # none in Socket Mode
        if isinstance(sent, asyncio.Event):
            await sent.wait()
            for _ in range(LOOP_TURNS_AFTER_ACK):
                await asyncio.sleep(0)
        try:
            return await _first_time(context)
        except Exception:  # the check failed: `handle_http` answered 500, nothing runs
            return False

    async def _on_command(
        self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        if not await self._ack_first(ack, context):
            return
        where = Where.of_command(body)
        await self._guard(self._run(body.get("text", ""), where, body.get("trigger_id")), where)

    async def _on_run(
        self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        if not await self._ack_first(ack, context):
            return
        where = Where.of_action(body)
        await self._guard(self._run(clicked_line(body), where, body.get("trigger_id")), where)

    async def _on_share(
        self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        if not await self._ack_first(ack, context):
            return
        where = Where.of_action(body)
        await self._guard(self._share(clicked_line(body), where), where)

    async def _share(self, line: str, where: Where) -> None:
        """The answer again, for the whole channel (without the Share button)."""
        reply = await self._handle(line, where)
        if where.response_url:
            await self._respond(where.response_url, render(reply), in_channel=True)

    async def _on_dismiss(
        self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        if not await self._ack_first(ack, context):
            return
        where = Where.of_action(body)
        if where.response_url:
            await AsyncWebhookClient(where.response_url).send(
                delete_original=True, text="Nothing was done."
            )

    async def _on_field(
        self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        """A choice with `fills` changed in a modal (P2P: a known partner was picked)."""
        if not await self._ack_first(ack, context):
            return
        picked = picked_choice(body)
        if picked is None:
            return
        view, meta = body.get("view") or {}, modal_meta(body)
        form = await self._handle(meta.line, Where.of_action(body))
        if isinstance(form, Form):
            await self.client.views_update(
                view_id=view["id"],
                hash=view.get("hash"),
                view=await self._fit(forms.fill(view, form, meta, *picked)),
            )

    async def _on_options(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        await ack(options=forms.country_options(body.get("value", "")))

    async def _on_home_opened(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            await self.publish_home(event["user"], str(body.get("team_id", "")))

    async def _on_submit(
        self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        view, meta = body["view"], modal_meta(body)
        where = Where.of_modal(body, meta)
        values = forms.values_of(view)
        if meta.kind == forms.BULK_KIND:
            if await self._ack_first(ack, context):
                await self._guard(self._bulk_upload(forms.uploaded_file(values), where), where)
            return
        task = asyncio.ensure_future(
            asyncio.to_thread(
                self.dispatcher.submit, meta.kind, meta.context, values, where.context()
            )
        )
        done, _ = await asyncio.wait({task}, timeout=SUBMIT_WAIT)
        if done and isinstance(task.exception(), ValidationError):
            # Shown on the fields; Slack keeps what the user typed.
            await ack(response_action="errors", errors=forms.field_errors(view, task.exception()))  # type: ignore[arg-type]
            return
        if done:
            await ack()  # closes the modal
        else:
            await ack(
                response_action="update",
                view=forms.message_view(
                    "Working…", "Working on it: the answer is posted when it is done."
                ),
            )
        await self._guard(self._after_submit(task, view, meta, where, slow=not done), where)

    async def _after_submit(
        self,
        task: asyncio.Future[Reply],
        view: dict[str, Any],
        meta: forms.ModalMeta,
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
                    view=await self._fit(
                        forms.form_view(form, meta, forms.values_of(view), str(err))
                    ),
                )
            return
        if slow:
            await self.client.views_update(
                view_id=view["id"],
                view=forms.message_view("Done", getattr(reply, "summary", "Done.")),
            )
        await self._answer(reply, where, meta.line)
        if meta.home:
            await self.publish_home(where.user_id, where.team_id)

    # -- running a line ----------------------------------------------------------------------

    async def _handle(self, line: str, where: Where, **context: Any) -> Reply:
        if not where.timezone and self._needs_time_zone(line):
            where.timezone = await self._time_zone_of(where.user_id)
        return await asyncio.to_thread(self.dispatcher.handle, line, where.context(**context))

    def _needs_time_zone(self, line: str) -> bool:
        """Only a digest's schedule is in the person's time: other commands cost no call."""
        command = self.dispatcher.interpret(line).command
        return command is not None and command.name in TIME_ZONE_COMMANDS

    async def _time_zone_of(self, user_id: str) -> str:
        """The person's time zone as set in Slack (users.info `user.tz`, scope users:read);
        "" when Slack cannot say, and the digest falls back to UTC as before."""
        try:
            answer = await self.client.users_info(user=user_id)
        except SlackApiError as err:
            log.warning("Slack users.info failed (%s): digests use UTC", err.response.get("error"))
            return ""
        except Exception as err:  # a timeout, no connection: the command still runs
            log.warning("Slack users.info failed (%s): digests use UTC", type(err).__name__)
            return ""
        user = answer.get("user") or {}
        zone = user.get("tz") if isinstance(user, dict) else None
        return zone if isinstance(zone, str) else ""

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
        answer = self.dispatcher.interpret(line).answer
        if trigger_id and answer in IN_A_MODAL:
            await self._run_in_modal(line, answer, where, trigger_id)
            return
        reply = await self._execute(line, answer, where)
        if isinstance(reply, Confirmation) and where.confirmed:  # Slack's dialog asked already
            confirmed = reply.confirm_line
            reply = await self._execute(
                confirmed, self.dispatcher.interpret(confirmed).answer, where
            )
        await self._answer(reply, where, line)

    async def _execute(self, line: str, answer: Answer, where: Where) -> Reply:
        if answer is Answer.SLOW:
            return await self._with_progress(line, where)
        return await self._handle(line, where)

    async def _run_in_modal(self, line: str, answer: Answer, where: Where, trigger_id: str) -> None:
        meta = forms.ModalMeta(
            "",
            line,
            channel=where.channel_id,
            response_url=where.response_url,
            replace=where.source == "card",
            home=where.source == "home",
        )
        opened = await self.client.views_open(
            trigger_id=trigger_id,
            view=await self._fit(
                forms.message_view("Loading…", "Loading…", meta, ":hourglass_flowing_sand: ")
            ),
        )
        view_id = opened["view"]["id"]
        reply = await self._handle(line, where)
        if isinstance(reply, Form):
            meta.kind, meta.context = reply.kind, dict(reply.context)
            view = forms.form_view(reply, meta)
        elif (
            answer is Answer.UPLOAD and isinstance(reply, Notice) and reply.tone is not Tone.FAILURE
        ):
            view = forms.bulk_view(reply, meta)
        else:
            view = forms.message_view("Not now", getattr(reply, "summary", str(reply)))
            if where.source == "card":
                await self._refresh_card(where)
        await self.client.views_update(view_id=view_id, view=await self._fit(view))

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
                await self._show_progress(where, render(latest[-1]))

    async def _show_progress(self, where: Where, message: Message) -> None:
        """Progress replaces the message clicked; a typed command (or a click on an ephemeral
        message) has none that chat.update can reach, and its response_url takes 5 posts, so
        the first progress is posted as a message of its own, and the rest, and the answer
        (`_replaces`: source "progress"), update that one."""
        if not where.message_ts:
            posted = await self._post(where, message)
            where.channel_id, where.message_ts = str(posted["channel"]), str(posted["ts"])
            where.source, where.ephemeral = "progress", False
            return
        await self._replace_in_place(where, message)

    async def _bulk_upload(self, file_id: str | None, where: Where) -> None:
        if not file_id:
            await self._send(where, render(Notice("No file was attached.", Tone.FAILURE)))
            return
        try:
            data, name = await files.download(self.client, file_id, self.file_hosts)
        except OnboardingError as err:
            await self._send(where, render(Notice(str(err), Tone.FAILURE)))
            return
        reply = await self._handle(upload_line(file_id), where, read_file=lambda _ref: (data, name))
        if isinstance(reply, BulkReview):
            channel = str((await self._post(where, render(reply)))["channel"])  # updatable
            await self._review_files(reply, channel, where)
        else:
            await self._send(where, render(reply))

    async def _review_files(self, review: BulkReview, channel: str | None, where: Where) -> None:
        """Beside a review whose lists the message cuts: the whole list of customers it will
        enroll (the review CSV) and every problem, as files."""
        try:
            if review.customers_file and len(review.valid) > REVIEW_SHOWN:
                await files.upload_csv(self.client, review.customers_file, channel, where.user_id)
            if len(review.problems) > PROBLEMS_SHOWN:
                await files.upload(self.client, files.problems_file(review), channel, where.user_id)
        except ProviderError as err:
            await self._send(where, render(Notice(str(err), Tone.FAILURE)))

    # -- answering ---------------------------------------------------------------------------

    async def _answer(self, reply: Reply, where: Where, line: str) -> None:
        if isinstance(reply, FileReply | CsvFile):
            try:
                if isinstance(reply, CsvFile):
                    await files.upload_csv(self.client, reply, where.channel_id, where.user_id)
                else:
                    await files.upload(self.client, reply, where.channel_id, where.user_id)
            except ProviderError as err:
                await self._send(where, render(Notice(str(err), Tone.FAILURE)))
            return
        if isinstance(reply, Form):  # no trigger to open it with: offer a button that has one
            button = Action("Open the form", line, "primary", role=ActionRole.FORM)
            reply = Notice(reply.title, Tone.INFO, (button,))
        if isinstance(reply, BulkReview) and not _replaces(reply, where):
            posted = await self._post(where, render(reply))
            await self._review_files(reply, str(posted["channel"]), where)
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
        return self.customers.card_by_id(onboarding_id) if onboarding_id else None

    async def _send(self, where: Where, message: Message, replace: bool = False) -> None:
        if replace and where.message_ts and where.channel_id:
            await self._replace_in_place(where, message)
        elif where.response_url:
            await self._respond(where.response_url, message, replace=replace)
        else:  # App Home or a modal opened from it: the user's DM with the app
            await self.client.chat_postMessage(channel=where.user_id, **message.payload())

    async def _post(self, where: Where, message: Message) -> AsyncSlackResponse:
        """A real message (updatable without limit), where the user is, else in their DM;
        Slack's answer says the conversation it went to (`channel`) and its `ts`."""
        if where.channel_id:
            try:
                return await self.client.chat_postMessage(
                    channel=where.channel_id, **message.payload()
                )
            except SlackApiError as err:
                log.info(
                    "posting in %s refused (%s); using the DM",
                    for_log(where.channel_id),
                    for_log(err.response.get("error")),
                )
        return await self.client.chat_postMessage(channel=where.user_id, **message.payload())

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
                    "chat.update refused (%s); using the response_url",
                    for_log(err.response.get("error")),
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
            log.warning("response_url answered %s: %s", answer.status_code, for_log(answer.body))

    # -- App Home ----------------------------------------------------------------------------

    async def publish_home(self, user_id: str, team_id: str = "") -> None:
        where = Where(user_id, user_id, source="home", team_id=team_id)
        everyone, failed = await asyncio.gather(
            self._handle("status", where), self._handle("status failed", where)
        )
        if isinstance(everyone, ListPage) and isinstance(failed, ListPage):
            await self.client.views_publish(user_id=user_id, view=home_view(everyone, failed))


def slack_front_end(
    dispatcher: Dispatcher,
    *,
    customers: Customers,
    token: str,
    signing_secret: str | None,
    api_url: str = files.DEFAULT_API_URL,
    state: ThreadState,
    replays: ReplayGuard | None = None,
) -> SlackFrontEnd:
    """The Slack front end. `signing_secret` None: Socket Mode only (no HTTP route);
    `api_url` is Slack's Web API (a loopback server in tests); `state` keeps the channel
    threads of notices; `replays` refuses a signed request seen before, in any replica."""
    return SlackFrontEnd(
        dispatcher,
        customers,
        token=token,
        signing_secret=signing_secret,
        api_url=api_url,
        state=state,
        replays=replays,
    )
