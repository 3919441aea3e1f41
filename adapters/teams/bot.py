"""Teams activities in, dispatcher calls, Adaptive Cards out.

A message is a command line (the @mention stripped); a card's button (`Action.Submit`, or
`Action.Execute` as an `adaptiveCard/action` invoke) carries the line it runs or the form it
submits. An answer about the card that was clicked replaces that card in place; errors and
answers about something else come as a new message, so the clicked card stays readable.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import httpx
from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
)
from msrest.serialization import Model

from adapters.teams import render as cards
from adapters.teams.conversations import ConversationReferences, destination_of
from bot.commands import Context, Dispatcher, split_line
from bot.domain import Actor
from bot.errors import ValidationError
from bot.records import Place
from bot.views import (
    Action,
    BulkProgress,
    Confirmation,
    CustomerCard,
    Form,
    ListPage,
    Notice,
    Reply,
    Tone,
)

log = logging.getLogger(__name__)

FILE_DOWNLOAD = "application/vnd.microsoft.teams.file.download.info"
MAX_FILE_BYTES = 5 * 1024 * 1024 + 1  # one byte over the CSV limit, so the reader refuses it
PASTED_NAME = "pasted.csv"
_AT_TAG = re.compile(r"<at[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")

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


def command_text(activity: Activity) -> str:
    """The typed line without the bot's @mention, Teams' HTML and non-breaking spaces."""
    TurnContext.remove_recipient_mention(activity)
    raw = _AT_TAG.sub(" ", activity.text or "")
    raw = _TAG.sub(" ", raw.replace("<br>", " ").replace("<br/>", " "))
    return " ".join(html.unescape(raw).replace("\xa0", " ").split())


def actor_of(activity: Activity) -> Actor:
    who = activity.from_property or ChannelAccount(id="unknown", name="someone")
    return Actor(who.aad_object_id or who.id or "unknown", who.name or "someone", "teams")


def place_of(activity: Activity) -> Place:
    conversation = activity.conversation
    kind = (conversation.conversation_type or "personal") if conversation else "personal"
    data = activity.channel_data or {}
    if kind == "channel":
        team = (data.get("team") or {}).get("name")
        channel = (data.get("channel") or {}).get("name")
        label = (
            f"{team} > {channel}"
            if team and channel
            else f"channel {channel}"
            if channel
            else "this Teams channel"
        )
    elif kind == "groupChat":
        label = f"group chat {conversation.name}" if conversation.name else "this group chat"
    else:
        label = "your personal chat with the bot"
    return Place("teams", destination_of(activity), label, direct=kind == "personal")


def card_activity(card: dict) -> Activity:
    activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
    activity.summary = card.get("fallbackText", "")
    return activity


class OnboardingTeamsBot(TeamsActivityHandler):
    def __init__(
        self,
        dispatcher: Dispatcher,
        references: ConversationReferences,
        app_id: str = "",
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.references = references
        self.app_id = app_id
        self.http = http
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
        data = cards.SubmitData.read(activity.value)
        if data is not None or isinstance(activity.value, dict):

            async def replace(card: dict) -> None:
                await self._replace(turn_context, card)

            card = await self._clicked(turn_context, data, activity.value or {}, replace)
            if card is not None:
                await replace(card)
            return
        files = [a for a in activity.attachments or [] if a.content_type == FILE_DOWNLOAD]
        if files:
            await self._file(turn_context, files[0])
            return
        line = command_text(activity)
        await self._typed(turn_context, line)

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

        card = await self._clicked(turn_context, cards.SubmitData.read(value), value, replace)
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
                status_code=200, type="application/vnd.microsoft.card.adaptive", value=card
            ),
        )

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        bot_id = turn_context.activity.recipient.id if turn_context.activity.recipient else ""
        if any(m.id == bot_id for m in members_added):
            await turn_context.send_activity(
                card_activity(
                    cards.render(
                        Notice(
                            "Hi! I onboard Microsoft cloud customers: enroll, reseller invitation, "
                            "GDAP, MSP Hub, P2P transfer, reminders. Type help for the commands, "
                            "or notify here to get status changes in this conversation.",
                            Tone.INFO,
                            (
                                Action("Help", "help"),
                                Action("Dashboard", "status"),
                                Action("Enroll a customer", "enroll"),
                            ),
                        )
                    )
                )
            )

    async def on_installation_update_remove(self, turn_context: TurnContext) -> None:
        await asyncio.to_thread(self.references.forget, destination_of(turn_context.activity))

    # -- what a user does -------------------------------------------------------------------

    def _context(
        self,
        turn_context: TurnContext,
        read_file: Callable[[str], tuple[bytes, str]] | None = None,
        progress: Callable[[BulkProgress], None] | None = None,
    ) -> Context:
        activity = turn_context.activity
        return Context(actor_of(activity), place_of(activity), read_file, progress)

    async def _run(self, line: str, ctx: Context) -> Reply:
        return await asyncio.to_thread(self.dispatcher.handle, line, ctx)

    async def _typed(self, turn_context: TurnContext, line: str) -> None:
        words = _words(line)
        if words and words[0].lower().lstrip("/") == "bulk" and len(words) == 1:
            reply = await self._run(line, self._context(turn_context))
            if isinstance(reply, Notice) and reply.tone is not Tone.FAILURE:
                await self._send(turn_context, cards.bulk_paste_card(reply))
                return
        elif (
            words
            and words[0].lower() == "bulk"
            and len(words) > 1
            and words[1].lower() not in ("confirm", "discard")
        ):
            await self._send(
                turn_context,
                cards.render(
                    Notice(
                        "Send the CSV file to the bot as an attachment in a personal chat, or type "
                        "bulk and paste it.",
                        Tone.FAILURE,
                    )
                ),
            )
            return
        reply = await self._run(line, self._context(turn_context))
        await self._send(turn_context, cards.render(reply))

    async def _file(self, turn_context: TurnContext, attachment: Any) -> None:
        """A CSV sent to the bot in a personal chat: download it, then the bulk review."""
        content = attachment.content or {}
        url = content.get("downloadUrl") if isinstance(content, dict) else None
        name = attachment.name or "upload.csv"
        if not url:
            await self._send(
                turn_context,
                cards.render(
                    Notice(
                        "That file cannot be read: send it again in the personal chat with "
                        "the bot.",
                        Tone.FAILURE,
                    )
                ),
            )
            return
        try:
            data = await self._download(url)
        except (httpx.HTTPError, ValueError) as err:
            log.warning("Teams file download failed: %s", type(err).__name__)
            await self._send(
                turn_context,
                cards.render(
                    Notice(
                        f"Could not download {name} from Teams ({err}). Send it again.",
                        Tone.FAILURE,
                    )
                ),
            )
            return
        reply = await self._run(
            f"bulk {_quote(name)}",
            self._context(turn_context, read_file=lambda _name: (data, name)),
        )
        await self._send(turn_context, cards.render(reply))

    async def _download(self, url: str) -> bytes:
        client = self.http or httpx.AsyncClient(timeout=30)
        try:
            chunks: list[bytes] = []
            size = 0
            async with client.stream("GET", url, follow_redirects=True) as response:
                response.raise_for_status()
                async for chunk in response.aiter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size >= MAX_FILE_BYTES:
                        break
            return b"".join(chunks)
        finally:
            if client is not self.http:
                await client.aclose()

    async def _clicked(
        self,
        turn_context: TurnContext,
        data: cards.SubmitData | None,
        value: dict,
        replace: Replace,
    ) -> dict | None:
        """A button on one of our cards. Returns the card that replaces it, if any; other
        answers are sent as new messages."""
        if data is None or data.version != cards.DATA_VERSION:
            await self._send(
                turn_context,
                cards.render(
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
            return cards.render(
                Notice(
                    "Form closed; nothing was saved."
                    if data.dismiss == "form"
                    else "Not confirmed; nothing was changed.",
                    Tone.INFO,
                    (Action("Show customer", f"show {back}"),) if back else (),
                )
            )
        if data.form:
            return await self._submitted(turn_context, data, cards.inputs_of(value))
        if not data.line:
            return None
        words = _words(data.line)
        if words[:2] == ["bulk", "confirm"] and len(words) == 3:
            await replace(
                cards.render(
                    Notice(
                        "Enrolling the reviewed customers… this card shows the progress, then the "
                        "summary."
                    )
                )
            )
            self._start_bulk(turn_context, data.line)
            return None
        reply = await self._run(data.line, self._context(turn_context))
        return await self._answer(turn_context, data.card, reply)

    async def _answer(self, turn_context: TurnContext, card_kind: str, reply: Reply) -> dict | None:
        error = isinstance(reply, Notice) and reply.tone is Tone.FAILURE
        if not error and isinstance(reply, _IN_PLACE.get(card_kind, ())):
            return cards.render(reply)
        await self._send(turn_context, cards.render(reply))
        return None

    async def _submitted(
        self, turn_context: TurnContext, data: cards.SubmitData, inputs: dict[str, Any]
    ) -> dict | None:
        if data.form == "bulk":
            text = str(inputs.get("csv") or "")
            reply = await self._run(
                f"bulk {PASTED_NAME}",
                self._context(
                    turn_context, read_file=lambda _name: (text.encode("utf-8"), PASTED_NAME)
                ),
            )
            return await self._answer(turn_context, "form", reply)
        values = cards.form_values(data, inputs)
        ctx = self._context(turn_context)
        try:
            reply = await asyncio.to_thread(
                self.dispatcher.submit, data.form, data.context, values, ctx
            )
        except ValidationError as err:
            line = f"{data.form} {data.context.get('onboarding', '')}".strip()
            form = await self._run(line, self._context(turn_context))
            if not isinstance(form, Form):  # the form no longer applies: say why
                return await self._answer(turn_context, "form", form)
            errors = err.field_errors or {"": str(err)}
            return cards.render_form(form, values, errors)
        return await self._answer(turn_context, "form", reply)

    def _start_bulk(self, turn_context: TurnContext, line: str) -> None:
        """Enrolling many rows is slow: it runs after Teams has been answered, and the review
        card turns into progress, then into the summary."""
        adapter = turn_context.adapter
        reference = TurnContext.get_conversation_reference(turn_context.activity)
        card_id = turn_context.activity.reply_to_id
        actor_ctx = self._context(turn_context)
        app_id = self.app_id or None
        loop = asyncio.get_running_loop()

        async def job() -> None:
            reply: Reply | None = None

            async def proactive(card: dict) -> None:
                async def logic(context: TurnContext) -> None:
                    await replace_card(context, card_id, card)

                await adapter.continue_conversation(reference, logic, app_id)

            def progress(p: BulkProgress) -> None:
                asyncio.run_coroutine_threadsafe(proactive(cards.render(p)), loop).result(60)

            ctx = Context(actor_ctx.actor, actor_ctx.place, None, progress)
            try:
                reply = await asyncio.to_thread(self.dispatcher.handle, line, ctx)
                card = cards.render(reply)
                if isinstance(reply, Notice) and reply.tone is Tone.FAILURE:

                    async def logic(context: TurnContext) -> None:
                        await context.send_activity(card_activity(card))

                    await adapter.continue_conversation(reference, logic, app_id)
                else:
                    await proactive(card)
            except Exception:
                log.exception("bulk enrollment in Teams failed: %s", line)

        task = asyncio.create_task(job())
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    # -- sending ------------------------------------------------------------------------------

    async def _send(self, turn_context: TurnContext, card: dict) -> None:
        await turn_context.send_activity(card_activity(card))

    async def _replace(self, turn_context: TurnContext, card: dict) -> None:
        await replace_card(turn_context, turn_context.activity.reply_to_id, card)

    async def drain(self) -> None:
        """Waits for background work (bulk enrollments) to end; for shutdown and tests."""
        while self.background:
            await asyncio.gather(*list(self.background), return_exceptions=True)


class _InvokeAnswer(Model):
    """The `adaptiveCard/action` response; its value is a card or a short message."""

    _attribute_map: ClassVar[dict[str, dict[str, str]]] = {
        "status_code": {"key": "statusCode", "type": "int"},
        "type": {"key": "type", "type": "str"},
        "value": {"key": "value", "type": "object"},
    }

    def __init__(self, *, status_code: int, type: str, value: Any) -> None:
        super().__init__()
        self.status_code, self.type, self.value = status_code, type, value


def _words(line: str) -> list[str]:
    try:
        return [w.lower() if i < 2 else w for i, w in enumerate(split_line(line))]
    except ValidationError:
        return line.split()


def _quote(name: str) -> str:
    return '"' + name.replace('"', "'") + '"'


async def replace_card(context: TurnContext, card_id: str | None, card: dict) -> None:
    """Updates the card `card_id` in place; if there is none or it is gone, sends it anew."""
    if card_id:
        activity = card_activity(card)
        activity.id = card_id
        try:
            await context.update_activity(activity)
            return
        except Exception as err:
            log.info("card update failed (%s); sending a new one", type(err).__name__)
    await context.send_activity(card_activity(card))
