"""Teams activities in, dispatcher calls, Adaptive Cards out.

A message is a command line (the @mention stripped); a card's button (`Action.Submit`, or
`Action.Execute` as an `adaptiveCard/action` invoke) carries the line it runs or the form it
submits. An answer about the card that was clicked replaces that card in place; errors and
answers about something else come as a new message, so the clicked card stays readable.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from botbuilder.core import InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationReference,
)
from msrest.serialization import Model

from adapters.downloads import DownloadLinks
from adapters.teams import files
from adapters.teams.card_json import card_attachment
from adapters.teams.conversations import ConversationReferences, destination_of
from adapters.teams.elements import fit, message_bytes, open_url
from adapters.teams.forms import PASTE_FORM, PASTE_INPUT, form_values, render_form
from adapters.teams.render import LIST_LIMIT, download_card, render, review_card, upload_card
from adapters.teams.requests import (
    SubmitData,
    command_text,
    context_of,
    file_attachment,
    inputs_of,
)
from bot.commands import Answer, Context, Dispatcher
from bot.errors import ProviderError, ValidationError
from bot.views import (
    Action,
    ActionRole,
    BulkProgress,
    BulkReview,
    Confirmation,
    CsvFile,
    CustomerCard,
    Form,
    ListPage,
    Notice,
    Reply,
    Tone,
)

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

PASTED_NAME = "pasted.csv"
SLOW_START = "Enrolling the reviewed customers… this card shows the progress, then the summary."

# Which answers replace the card that was clicked, by what that card showed.
_IN_PLACE: dict[str, tuple[type, ...]] = {
    "list": (ListPage,),
    "customer": (CustomerCard, Form, Confirmation, Notice),
    "pick": (object,),
    "form": (object,),
    "confirm": (object,),
    "review": (object,),
}

Replace = Callable[[dict], Awaitable[None]]


def _activity(card: dict) -> Activity:
    activity = MessageFactory.attachment(card_attachment(card))
    activity.summary = card.get("fallbackText", "")
    return activity


def envelope_bytes(card: dict, reference: ConversationReference | None = None) -> int:
    """What the activity that carries `card` adds to it, as Teams counts (UTF-16): the
    activity's own fields, and the conversation, the bot, the user and the service URL that
    the SDK copies into it from `reference` before sending (a little more than it adds)."""
    summary = card.get("fallbackText", "")
    around = _bare_envelope() + message_bytes(summary) - message_bytes("")
    return around + (message_bytes(reference.serialize()) if reference is not None else 1024)


@functools.cache
def _bare_envelope() -> int:
    """The activity around an empty card with an empty summary, as msrest writes it: a card's
    JSON sits where `{}` does and its summary where `""` does, so an activity's envelope is
    this and its summary's share, without writing the activity each time."""
    around = _activity({})
    return message_bytes(around.serialize()) - message_bytes({})


def card_activity(card: dict, reference: ConversationReference | None = None) -> Activity:
    """The message that carries `card`, within Microsoft's message size as a whole
    (`MAX_MESSAGE_BYTES`): an answer too big is made smaller (`elements.fit`), never sent to
    fail."""
    sent = fit(card, envelope_bytes(card, reference))
    if sent is not card:
        log.info("a Teams card was over Microsoft's size limits; sending it shortened")
    return _activity(sent)


def _reference(turn_context: TurnContext) -> ConversationReference:
    return TurnContext.get_conversation_reference(turn_context.activity)


class OnboardingTeamsBot(TeamsActivityHandler):
    def __init__(
        self,
        dispatcher: Dispatcher,
        references: ConversationReferences,
        app_id: str = "",
        http: httpx.AsyncClient | None = None,
        *,
        file_hosts: tuple[str, ...] = files.FILE_HOSTS,
        downloads: DownloadLinks | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.downloads = downloads
        self.references = references
        self.app_id = app_id
        self.http = http
        self.file_hosts = file_hosts
        self.background: set[asyncio.Task] = set()

    # -- turns ----------------------------------------------------------------------------------

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        removed = activity.type == ActivityTypes.installation_update and (
            activity.action or ""
        ).startswith("remove")
        if (
            activity.conversation
            and not removed
            and activity.type
            in (
                ActivityTypes.message,
                ActivityTypes.invoke,
                ActivityTypes.installation_update,
                ActivityTypes.conversation_update,
            )
        ):
            reference = TurnContext.get_conversation_reference(activity)
            await asyncio.to_thread(self.references.remember, reference)
        await super().on_turn(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        data = SubmitData.read(activity.value)
        if data is not None or isinstance(activity.value, dict):

            async def replace(card: dict) -> None:
                await self._replace(turn_context, card)

            card = await self._clicked(turn_context, data, activity.value or {}, replace)
            if card is not None:
                await replace(card)
            return
        attachment = file_attachment(activity)
        if attachment is not None:
            await self._file(turn_context, attachment)
            return
        await self._typed(turn_context, command_text(activity))

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        """`Action.Execute` (`adaptiveCard/action`): the card that replaces the clicked one
        is the invoke's response; other answers go out as messages."""
        activity = turn_context.activity
        if activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        action = (activity.value or {}).get("action") or {}
        value = dict(action.get("data") or {}) if isinstance(action, dict) else {}

        async def replace(card: dict) -> None:
            await self._replace(turn_context, card)

        card = await self._clicked(turn_context, SubmitData.read(value), value, replace)
        if card is None:  # the answer went out as a message; the card stays as it is
            return InvokeResponse(
                status=200,
                body=_InvokeAnswer(
                    status_code=200, type="application/vnd.microsoft.activity.message", value="Done"
                ),
            )
        return InvokeResponse(
            status=200,
            body=_InvokeAnswer(
                status_code=200,
                type="application/vnd.microsoft.card.adaptive",
                value=fit(card, envelope_bytes(card, _reference(turn_context))),
            ),
        )

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        bot_id = turn_context.activity.recipient.id if turn_context.activity.recipient else ""
        if any(m.id == bot_id for m in members_added):
            await self._send(
                turn_context,
                render(
                    Notice(
                        "Hi! I onboard Microsoft cloud customers: enroll, reseller invitation, "
                        "GDAP, MSP Hub, P2P transfer, reminders. Type help for the commands, "
                        "or notify here to get status changes in this conversation.",
                        Tone.INFO,
                        (
                            Action("Help", "help"),
                            Action("Dashboard", "status"),
                            Action("Enroll a customer", "enroll", role=ActionRole.FORM),
                        ),
                    )
                ),
            )

    async def on_installation_update_remove(self, turn_context: TurnContext) -> None:
        await asyncio.to_thread(self.references.forget, destination_of(turn_context.activity))

    # -- what a user does -------------------------------------------------------------------

    async def _run(self, line: str, ctx: Context) -> Reply:
        return await asyncio.to_thread(self.dispatcher.handle, line, ctx)

    def _card(self, turn_context: TurnContext, reply: Reply) -> dict:
        """The card for an answer; a file is a download link the bot serves (a bot cannot
        send a file into a Teams chat without the user's OneDrive), and a review whose list
        the card cuts links the whole list."""
        links = self.downloads
        if isinstance(reply, CsvFile):
            if links is None:
                return render(Notice("Downloads are not set up in this bot.", Tone.FAILURE))
            url, expires = links.link(reply, context_of(turn_context.activity).actor)
            return download_card(reply, url, self._link_note(expires))
        if (
            isinstance(reply, BulkReview)
            and reply.customers_file
            and len(reply.valid) > LIST_LIMIT
            and links is not None
        ):
            file = reply.customers_file
            url, expires = links.link(file, context_of(turn_context.activity).actor)
            return review_card(
                reply, open_url(f"Download all {file.rows:,} ({file.filename})", url)
            )
        return render(reply)

    def _link_note(self, expires: datetime) -> str:
        minutes = self.downloads.lifetime.seconds // 60 if self.downloads else 0
        return (
            f"The link works for {minutes} minutes, until {expires:%H:%M} UTC; the file is "
            "made from the bot's records when you open it."
        )

    async def _typed(self, turn_context: TurnContext, line: str) -> None:
        """A typed line. What kind of answer it gets, the command table says: an upload
        prompt comes with a form to paste the CSV into; slow work shows its progress in a
        card of its own, after Teams has been answered."""
        answer = self.dispatcher.interpret(line).answer
        if answer is Answer.SLOW:
            sent = await turn_context.send_activity(
                card_activity(render(Notice(SLOW_START)), _reference(turn_context))
            )
            self._start_slow(turn_context, line, sent.id if sent else None, failure_in_place=True)
            return
        reply = await self._run(line, context_of(turn_context.activity))
        if answer is Answer.UPLOAD and isinstance(reply, Notice) and reply.tone is not Tone.FAILURE:
            await self._send(turn_context, upload_card(reply))
        else:
            await self._send(turn_context, self._card(turn_context, reply))

    async def _file(self, turn_context: TurnContext, attachment: Attachment) -> None:
        """A CSV sent to the bot in a personal chat: download it, then the bulk review."""
        content = attachment.content or {}
        url = content.get("downloadUrl") if isinstance(content, dict) else None
        name = attachment.name or "upload.csv"
        if not url:
            await self._send(
                turn_context,
                render(
                    Notice(
                        "That file cannot be read: send it again in the personal chat with "
                        "the bot.",
                        Tone.FAILURE,
                    )
                ),
            )
            return
        try:
            data = await files.download(
                url,
                service_url=turn_context.activity.service_url or "",
                http=self.http,
                hosts=self.file_hosts,
            )
            refused = files.not_a_customer_csv(data)
            if refused:  # what came back is not shown: it may be anything but the file
                raise ProviderError(f"{refused}, so it is not a customer CSV")
        except ProviderError as err:
            log.warning("Teams file download refused or failed: %s", err)
            await self._send(
                turn_context,
                render(
                    Notice(
                        f"Could not download {name} from Teams ({err}). Send it again.",
                        Tone.FAILURE,
                    )
                ),
            )
            return
        reply = await self._run(
            f"bulk {_quote(name)}",
            context_of(turn_context.activity, read_file=lambda _name: (data, name)),
        )
        await self._send(turn_context, self._card(turn_context, reply))

    async def _clicked(
        self,
        turn_context: TurnContext,
        data: SubmitData | None,
        value: dict,
        replace: Replace,
    ) -> dict | None:
        """A button on one of our cards. Returns the card that replaces it, if any; other
        answers are sent as new messages."""
        if data is None or not data.current:
            await self._send(
                turn_context,
                render(
                    Notice(
                        "This card is from an earlier version of the bot and its buttons no longer "
                        "work. Type the command again (help lists them).",
                        Tone.ATTENTION,
                    )
                ),
            )
            return None
        if data.dismiss:
            back = data.context.get("onboarding")
            return render(
                Notice(
                    "Form closed; nothing was saved."
                    if data.dismiss == "form"
                    else "Not confirmed; nothing was changed.",
                    Tone.INFO,
                    (Action("Show customer", f"show {back}", role=ActionRole.OPEN),)
                    if back
                    else (),
                )
            )
        if data.form:
            return await self._submitted(turn_context, data, inputs_of(value))
        if not data.line:
            return None
        if self.dispatcher.interpret(data.line).answer is Answer.SLOW:
            await replace(render(Notice(SLOW_START)))
            self._start_slow(turn_context, data.line, turn_context.activity.reply_to_id)
            return None
        reply = await self._run(data.line, context_of(turn_context.activity))
        return await self._answer(turn_context, data.card, reply)

    async def _answer(self, turn_context: TurnContext, card_kind: str, reply: Reply) -> dict | None:
        error = isinstance(reply, Notice) and reply.tone is Tone.FAILURE
        card = self._card(turn_context, reply)
        if not error and isinstance(reply, _IN_PLACE.get(card_kind, ())):
            return card
        await self._send(turn_context, card)
        return None

    async def _submitted(
        self, turn_context: TurnContext, data: SubmitData, inputs: dict[str, Any]
    ) -> dict | None:
        if data.form == PASTE_FORM:
            text = str(inputs.get(PASTE_INPUT) or "")
            reply = await self._run(
                f"bulk {PASTED_NAME}",
                context_of(
                    turn_context.activity,
                    read_file=lambda _name: (text.encode("utf-8"), PASTED_NAME),
                ),
            )
            return await self._answer(turn_context, "form", reply)
        values = form_values(data, inputs)
        ctx = context_of(turn_context.activity)
        try:
            reply = await asyncio.to_thread(
                self.dispatcher.submit, data.form, data.context, values, ctx
            )
        except ValidationError as err:
            line = f"{data.form} {data.context.get('onboarding', '')}".strip()
            form = await self._run(line, context_of(turn_context.activity))
            if not isinstance(form, Form):  # the form no longer applies: say why
                return await self._answer(turn_context, "form", form)
            errors = err.field_errors or {"": str(err)}
            return render_form(form, values, errors)
        return await self._answer(turn_context, "form", reply)

    def _start_slow(
        self,
        turn_context: TurnContext,
        line: str,
        card_id: str | None,
        *,
        failure_in_place: bool = False,
    ) -> None:
        """Slow work (a bulk enrollment) runs after Teams has been answered; the card
        `card_id` turns into its progress, then into the result. A refusal comes as a new
        message, unless the card is only the placeholder this bot sent for a typed line
        (`failure_in_place`)."""
        adapter = turn_context.adapter
        reference = TurnContext.get_conversation_reference(turn_context.activity)
        actor_ctx = context_of(turn_context.activity)
        app_id = self.app_id or None
        loop = asyncio.get_running_loop()

        async def proactive(card: dict) -> None:
            async def logic(context: TurnContext) -> None:
                await replace_card(context, card_id, card)

            await adapter.continue_conversation(reference, logic, app_id)

        def progress(p: BulkProgress) -> None:
            asyncio.run_coroutine_threadsafe(proactive(render(p)), loop).result(60)

        async def job() -> None:
            ctx = Context(
                actor_ctx.actor, actor_ctx.place, None, progress, file_hint=actor_ctx.file_hint
            )
            try:
                reply = await asyncio.to_thread(self.dispatcher.handle, line, ctx)
                card = render(reply)
                refused = isinstance(reply, Notice) and reply.tone is Tone.FAILURE
                if refused and not failure_in_place:

                    async def logic(context: TurnContext) -> None:
                        await context.send_activity(card_activity(card, _reference(context)))

                    await adapter.continue_conversation(reference, logic, app_id)
                else:
                    await proactive(card)
            except Exception:
                log.exception("slow command in Teams failed: %s", line)

        task = asyncio.create_task(job())
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    # -- sending ------------------------------------------------------------------------------

    async def _send(self, turn_context: TurnContext, card: dict) -> None:
        await turn_context.send_activity(card_activity(card, _reference(turn_context)))

    async def _replace(self, turn_context: TurnContext, card: dict) -> None:
        await replace_card(turn_context, turn_context.activity.reply_to_id, card)

    async def drain(self) -> None:
        """Waits for background work (bulk enrollments) to end; for shutdown and tests."""
        while self.background:
            await asyncio.gather(*list(self.background), return_exceptions=True)


class _InvokeAnswer(Model):
    """The `adaptiveCard/action` response; its value is a card or a short message."""

    # msrest declares it as an instance attribute, but reads it per class, as here
    _attribute_map: ClassVar[dict[str, dict[str, str]]] = {  # type: ignore[misc]
        "status_code": {"key": "statusCode", "type": "int"},
        "type": {"key": "type", "type": "str"},
        "value": {"key": "value", "type": "object"},
    }

    def __init__(self, *, status_code: int, type: str, value: Any) -> None:
        super().__init__()
        self.status_code, self.type, self.value = status_code, type, value


def _quote(name: str) -> str:
    return '"' + name.replace('"', "'") + '"'


async def replace_card(context: TurnContext, card_id: str | None, card: dict) -> None:
    """Updates the card `card_id` in place; if there is none or it is gone, sends it anew."""
    reference = _reference(context)
    if card_id:
        activity = card_activity(card, reference)
        activity.id = card_id
        try:
            await context.update_activity(activity)
            return
        except Exception as err:
            log.info("card update failed (%s); sending a new one", type(err).__name__)
    await context.send_activity(card_activity(card, reference))
