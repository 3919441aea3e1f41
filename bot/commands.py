"""The one command grammar that Slack, Teams and the console speak, and its help text.

The table `COMMANDS` maps each word to its handler; the handler's docstring is its help, so
`help`, the Slack manifest and the Teams command list all come from here.
"""

from __future__ import annotations

import logging
import shlex
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from bot.access import OTHER_ORGANISATION
from bot.csvio import template_csv
from bot.domain import Actor, Lifecycle, OverallStatus, Step
from bot.errors import Ambiguous, NotAllowed, OnboardingError, ValidationError
from bot.exports import EXPORT_STATUSES, STATUS_WORDS, looks_like_a_file
from bot.priority import answering_user
from bot.records import Place
from bot.sandbox import SANDBOX_ACTIONS
from bot.service import OnboardingService
from bot.text import shorten
from bot.views import (
    Action,
    ActionRole,
    BulkProgress,
    CommandHelp,
    Digest,
    FileReply,
    HelpView,
    Notice,
    Pick,
    Reply,
    Tone,
)

log = logging.getLogger(__name__)

YES = "--yes"
CLOSED_WORDS = (Lifecycle.FINISHED.value, Lifecycle.CANCELLED.value)
PAGE_MAX = 10**9


@dataclass
class Context:
    """One command's caller, and what the front end can do for it."""

    actor: Actor
    place: Place | None = None
    read_file: Callable[[str], tuple[bytes, str]] | None = None
    progress: Callable[[BulkProgress], None] | None = None
    retarget: Callable[[str], str] | None = field(default=None, repr=False)
    # How to hand the bot a file here, said when `bulk FILE` comes without one.
    file_hint: str = "Send the CSV file as an attachment to bulk."


Handler = Callable[["Dispatcher", list[str], Context], Reply]


class Answer(StrEnum):
    """What kind of answer a line gets, known before it runs, so a front end can prepare:
    Slack opens a modal while the click's trigger is fresh, Teams offers the paste form."""

    TEXT = "text"  # a card, a list, a notice: shown when it is ready
    FORM = "form"  # a form to fill
    UPLOAD = "upload"  # asks for the CSV file
    SLOW = "slow"  # long work (a bulk confirm): progress first, then the result


def _always_text(args: list[str]) -> Answer:
    return Answer.TEXT


@dataclass(frozen=True)
class Command:
    """One command, fully described: its word, its usage (also in its own error messages),
    its handler (whose docstring is its help) and what kind of answer it gives."""

    name: str
    usage: str
    handler: Handler
    sandbox_only: bool = False
    answers: Callable[[list[str]], Answer] = _always_text

    @property
    def summary(self) -> str:
        doc = (self.handler.__doc__ or "").strip()
        return " ".join(doc.split())

    def misuse(self, example: str = "") -> ValidationError:
        """The error for arguments that do not fit: the usage, and an example if given."""
        return ValidationError(
            f"Use: {self.usage}" + (f", for example: {example}" if example else "")
        )


@dataclass(frozen=True)
class Invocation:
    """A line as the table understands it, before anything runs."""

    command: Command | None  # None: empty, unknown or not parsable
    args: tuple[str, ...] = ()

    @property
    def answer(self) -> Answer:
        return self.command.answers(list(self.args)) if self.command else Answer.TEXT


def split_line(line: str) -> list[str]:
    """Shell-like words, tolerant of the curly quotes that phones and Teams type."""
    text = line.replace("“", '"').replace("”", '"').replace("‘", "'").replace("’", "'")
    try:
        return shlex.split(text)
    except ValueError:
        raise ValidationError('A quote is not closed: put the name in "double quotes".') from None


class Dispatcher:
    """Parses a line, runs its use case, and answers with a view model, never an exception."""

    def __init__(self, service: OnboardingService) -> None:
        self.service = service

    @property
    def commands(self) -> list[Command]:
        sandbox = self.service.sandbox is not None
        return [c for c in COMMANDS if sandbox or not c.sandbox_only]

    def interpret(self, line: str) -> Invocation:
        """Which command a line runs and with which arguments; never raises."""
        try:
            words = split_line(line.strip())
        except ValidationError:
            return Invocation(None)
        if not words:
            return Invocation(None)
        verb = words[0].lower().lstrip("/")
        command = next((c for c in self.commands if c.name == verb), None)
        return Invocation(command, tuple(words[1:]))

    def handle(self, line: str, ctx: Context) -> Reply:
        with answering_user():  # background work in this process steps aside meanwhile
            return self._handle(line, ctx)

    def _handle(self, line: str, ctx: Context) -> Reply:
        try:
            words = split_line(line.strip())
            if not words:
                return self._help([], ctx)
            if not self.service.access.serves(ctx.actor):
                return Notice(OTHER_ORGANISATION, Tone.FAILURE)
            verb = words[0].lower().lstrip("/")
            command = next((c for c in self.commands if c.name == verb), None)
            if command is None:
                return Notice(
                    f'Unknown command "{shorten(words[0])}". Type help for the commands.',
                    Tone.FAILURE,
                )
            return command.handler(self, words[1:], ctx)
        except Ambiguous as err:
            retarget = ctx.retarget or (lambda oid: f"show {oid}")
            return Pick(
                str(err),
                tuple(
                    Action(label, retarget(oid), role=ActionRole.PICK)
                    for oid, label in err.candidates
                ),
            )
        except OnboardingError as err:
            return Notice(str(err), Tone.FAILURE)
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("command failed (error %s): %s", ref, line.split(" ", 1)[0])
            return Notice(
                f"Something went wrong on our side (error {ref}). What was saved "
                "before stays saved; try again, or give this error id to your admin.",
                Tone.FAILURE,
            )

    def submit(
        self, kind: str, context: dict[str, str], values: dict[str, Any], ctx: Context
    ) -> Reply:
        """A filled form. Raises `ValidationError` (with field errors) so the front end can show
        them on the form and keep the user's input; other errors come back as a Notice."""
        try:
            ref = context.get("onboarding", "")
            if kind == "enroll":
                return self.service.enrollment.enroll(values, ctx.actor)
            if kind == "edit":
                return self.service.editing.edit(ref, values, ctx.actor)
            if kind == "gdap":
                return self.service.gdap.request(ref, values, ctx.actor)
            if kind == "hub":
                return self.service.hub_access.start(ref, values, ctx.actor)
            if kind == "p2p":
                return self.service.transfers.initiate(ref, values, ctx.actor)
            return Notice(f"Unknown form {kind!r}.", Tone.FAILURE)
        except ValidationError:
            raise
        except OnboardingError as err:
            return Notice(str(err), Tone.FAILURE)

    # -- handlers (docstring = help text) ---------------------------------------------------

    def _help(self, args: list[str], ctx: Context) -> Reply:
        """Show the commands."""
        return HelpView(
            tuple(CommandHelp(c.usage, c.summary) for c in self.commands),
            "CUSTOMER is a customer's name, domain or id.",
        )

    def _status(self, args: list[str], ctx: Context) -> Reply:
        """Active, Failed and Completed counts and a page of customers; filter by status, or
        list the finished or cancelled ones (newest first)."""
        status, lifecycle, page = None, Lifecycle.OPEN, 1
        rest = [a.lower() for a in args]
        if rest and rest[0] in {s.value.lower() for s in OverallStatus}:
            status = OverallStatus(rest.pop(0).capitalize())
        elif rest and rest[0] in CLOSED_WORDS:
            lifecycle = Lifecycle(rest.pop(0))
        if len(rest) == 2 and rest[0] == "page" and rest[1].isdigit() and int(rest[1]) > 0:
            page = int(rest[1])
        elif rest:
            raise usage_of("status").misuse()
        return self._page(status, None, page, ctx.actor, lifecycle)

    def _page(
        self,
        status: OverallStatus | None,
        search: str | None,
        page: int,
        actor: Actor,
        lifecycle: Lifecycle = Lifecycle.OPEN,
    ) -> Reply:
        size = self.service.page_size
        page = min(page, PAGE_MAX)  # past the end anyway; keeps OFFSET within 64 bits
        listing = self.service.customers.dashboard(
            status, search, (page - 1) * size, size, actor=actor, lifecycle=lifecycle
        )
        if search:
            base = f"search {search}"
        elif lifecycle is not Lifecycle.OPEN:
            base = f"status {lifecycle.value}"
        else:
            base = "status" + (f" {status.value.lower()}" if status else "")
        actions: list[Action] = []
        if listing.past_the_end:
            last = listing.pages
            actions.append(Action("Last page", f"{base} page {last}", role=ActionRole.PREVIOUS))
        elif page > 1:
            actions.append(Action("Previous", f"{base} page {page - 1}", role=ActionRole.PREVIOUS))
        if page * size < listing.total:
            actions.append(Action("Next", f"{base} page {page + 1}", role=ActionRole.NEXT))
        if not search:
            actions.extend(
                Action(label, line, role=ActionRole.FILTER)
                for label, line in (
                    ("All", "status"),
                    ("Active", "status active"),
                    ("Failed", "status failed"),
                    ("Completed", "status completed"),
                    ("Finished", "status finished"),
                    ("Cancelled", "status cancelled"),
                )
                if line != base
            )
        return replace(listing, actions=tuple(actions))

    def _search(self, args: list[str], ctx: Context) -> Reply:
        """Find customers whose name or domain contains TEXT (any case), or by id; finished
        and cancelled ones too, after the open ones."""
        page = 1
        if len(args) >= 3 and args[-2].lower() == "page" and args[-1].isdigit():
            page, args = max(int(args[-1]), 1), args[:-2]
        text = " ".join(args).strip()
        if not text:
            raise usage_of("search").misuse("search contoso")
        return self._page(None, text, page, ctx.actor)

    def _customer(self, args: list[str], usage: str) -> str:
        ref = " ".join(args).strip()
        if not ref:
            raise ValidationError(f"Name the customer: {usage}")
        return ref

    def _show(self, args: list[str], ctx: Context) -> Reply:
        """The customer's card: the four steps, recent events and what can be done now."""
        ctx.retarget = lambda oid: f"show {oid}"
        return self.service.customers.card(
            self._customer(args, usage_of("show").usage), actor=ctx.actor
        )

    def _enroll(self, args: list[str], ctx: Context) -> Reply:
        """Enroll a customer: a form, or all four values in one line."""
        if not args:
            return self.service.enrollment.form(ctx.actor)
        if len(args) < 4:
            raise usage_of("enroll").misuse(
                'enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US'
            )
        name = " ".join(args[:-3])
        email, domain, country = args[-3:]
        return self.service.enrollment.enroll(
            {"name": name, "email": email, "domain": domain, "country": country}, ctx.actor
        )

    def _edit(self, args: list[str], ctx: Context) -> Reply:
        """Correct the enrollment: a form with the current values, or one FIELD (name, email,
        domain or country) set to VALUE; a new email gets the waiting mail again."""
        split = _field_edit(args)
        if split is None:
            if not args or (len(args) > 1 and args[-1].lower() in EDIT_FIELDS):
                raise usage_of("edit").misuse("edit abctech.com email it@abctech.com")
            ctx.retarget = lambda oid: f"edit {oid}"
            return self.service.editing.form(" ".join(args), ctx.actor)
        ref, field_name, value = split
        ctx.retarget = lambda oid: f'edit {oid} {field_name} "{value}"'
        return self.service.editing.edit(ref, {field_name: value}, ctx.actor)

    def _bulk(self, args: list[str], ctx: Context) -> Reply:
        """Enroll many customers from a CSV file: review first, then confirm."""
        if args and args[0].lower() in ("confirm", "discard") and len(args) == 2:
            if args[0].lower() == "discard":
                return Notice(self.service.bulk.discard(args[1], ctx.actor))
            return self.service.bulk.confirm(args[1], ctx.actor, ctx.progress)
        if not args:
            return Notice(
                "Upload the customers' CSV file (format: template) and the bot "
                "shows a review before anyone is enrolled.",
                Tone.INFO,
                (Action("Download template", "template", role=ActionRole.TEMPLATE),),
            )
        if ctx.read_file is None:
            raise ValidationError(ctx.file_hint)
        data, filename = ctx.read_file(" ".join(args))
        return self.service.bulk.review(data, filename, ctx.actor)

    def _template(self, args: list[str], ctx: Context) -> Reply:
        """The CSV format file for bulk enrollment."""
        if len(args) > 1:  # only the console has paths; a chat front end ignores one
            raise ValidationError(
                'Give one path: template PATH (in "quotes" if it has spaces), or template - '
                "for standard output."
            )
        return FileReply(
            "customer-onboarding-template.csv",
            template_csv(),
            "text/csv",
            "Fill one customer per row (Country Code is ISO 3166-1 alpha-2, like "
            "US), save as CSV and upload it with bulk. The example row must be "
            "replaced.",
            destination=args[0] if args else None,
        )

    def _export(self, args: list[str], ctx: Context) -> Reply:
        """The customers as a CSV file for Excel (every customer, or one STATUS): each step's
        status and dates, reminders sent, who enrolled; at the console FILE says where."""
        words = list(args)
        status = words.pop(0).lower() if words and words[0].lower() in EXPORT_STATUSES else None
        if len(words) > 1:
            raise usage_of("export").misuse("export failed")
        path = words[0] if words else ""
        if path and not looks_like_a_file(path):
            raise ValidationError(
                f'Unknown status "{shorten(path)}": use one of {STATUS_WORDS}, or nothing for '
                "every customer (a file to write ends in .csv)."
            )
        return self.service.exports.customers(status, ctx.actor, path=path)

    def _gdap(self, args: list[str], ctx: Context) -> Reply:
        """Create a GDAP request (admin relationship) for the customer."""
        ctx.retarget = lambda oid: f"gdap {oid}"
        return self.service.gdap.form(self._customer(args, usage_of("gdap").usage), ctx.actor)

    def _hub(self, args: list[str], ctx: Context) -> Reply:
        """Start MSP Hub access: create the customer in the hub."""
        ctx.retarget = lambda oid: f"hub {oid}"
        return self.service.hub_access.form(self._customer(args, usage_of("hub").usage), ctx.actor)

    def _p2p(self, args: list[str], ctx: Context) -> Reply:
        """Initiate a P2P transfer from the current partner, or cancel it."""
        if args and args[0].lower() == "cancel":
            confirmed = YES in args
            words = [a for a in args[1:] if a != YES]
            ctx.retarget = lambda oid: f"p2p cancel {oid}"
            ref = self._customer(words, usage_of("p2p").usage)
            if confirmed:
                return self.service.transfers.cancel(ref, ctx.actor)
            return self.service.transfers.cancel_confirmation(ref, ctx.actor)
        ctx.retarget = lambda oid: f"p2p {oid}"
        return self.service.transfers.form(self._customer(args, usage_of("p2p").usage), ctx.actor)

    def _remind(self, args: list[str], ctx: Context) -> Reply:
        """Send the reminder email now (every waiting step, or the one named)."""
        step = None
        if len(args) > 1 and args[-1].lower() in ("reseller", "gdap", "p2p"):
            step = Step(args[-1].lower())
            args = args[:-1]
        suffix = f" {step.value}" if step else ""
        ctx.retarget = lambda oid: f"remind {oid}{suffix}"
        return self.service.reminders.remind(
            self._customer(args, usage_of("remind").usage), step, ctx.actor
        )

    def _confirmable(
        self,
        verb: str,
        args: list[str],
        ctx: Context,
        ask: Callable[[str, Actor], Reply],
        act: Callable[[str, Actor], Reply],
    ) -> Reply:
        confirmed = YES in args
        ctx.retarget = lambda oid: f"{verb} {oid}"
        ref = self._customer([a for a in args if a != YES], usage_of(verb).usage)
        return act(ref, ctx.actor) if confirmed else ask(ref, ctx.actor)

    def _cancel(self, args: list[str], ctx: Context) -> Reply:
        """Cancel the onboarding (asks first); its history is kept."""
        return self._confirmable(
            "cancel",
            args,
            ctx,
            self.service.closing.cancel_confirmation,
            self.service.closing.cancel,
        )

    def _finish(self, args: list[str], ctx: Context) -> Reply:
        """Finish a Completed onboarding (asks first) and remove it from the lists."""
        return self._confirmable(
            "finish",
            args,
            ctx,
            self.service.closing.finish_confirmation,
            self.service.closing.finish,
        )

    def _log(self, args: list[str], ctx: Context) -> Reply:
        """The activity log: every change, by whom and when."""
        ctx.retarget = lambda oid: f"log {oid}"
        return self.service.customers.activity_log(self._customer(args, usage_of("log").usage))

    def _outbox(self, args: list[str], ctx: Context) -> Reply:
        """Mails kept by the outbox mail backend (all, or one customer's)."""
        ctx.retarget = lambda oid: f"outbox {oid}"
        return self.service.customers.outbox_mails(" ".join(args).strip() or None)

    def _notify(self, args: list[str], ctx: Context) -> Reply:
        """Post status changes and reminders to this channel or chat: all, failures or off."""
        if not args or args[0].lower() != "here" or len(args) > 2:
            raise usage_of("notify").misuse()
        return Notice(
            self.service.subscriptions.notify(
                ctx.place, args[1] if len(args) == 2 else None, ctx.actor
            ),
            Tone.SUCCESS,
        )

    def _digest(self, args: list[str], ctx: Context) -> Reply:
        """Managers' digest in this chat or channel: daily HH:MM [TZ], weekly DAY HH:MM [TZ],
        now, or off."""
        answer = self.service.subscriptions.digest(ctx.place, args, ctx.actor)
        return answer if isinstance(answer, Digest) else Notice(answer, Tone.SUCCESS)

    def _access(self, args: list[str], ctx: Context) -> Reply:
        """Who has which role (viewer, operator, admin); grant WHO ROLE or revoke WHO (admins)."""
        answer = self.service.access.command(args, ctx.actor)
        if answer is None:
            raise usage_of("access").misuse("access grant slack:T0ACME:U0BOB operator")
        text, changed = answer
        return Notice(text, Tone.SUCCESS if changed else Tone.INFO)

    def _sandbox(self, args: list[str], ctx: Context) -> Reply:
        """Play the customer or Microsoft: accept-reseller, approve-gdap, expire-gdap,
        accept-p2p, fail-p2p."""
        if len(args) < 2 or args[0].lower() not in SANDBOX_ACTIONS:
            raise usage_of("sandbox").misuse()
        action = args[0].lower()
        ctx.retarget = lambda oid: f"sandbox {action} {oid}"
        if self.service.sandbox is None:
            raise NotAllowed(
                "sandbox commands exist only while the sandbox Microsoft backend "
                "is in use (MICROSOFT_BACKEND=sandbox)."
            )
        return self.service.sandbox.play(action, " ".join(args[1:]), ctx.actor)


EDIT_FIELDS = ("name", "email", "domain", "country")


def _field_edit(args: list[str]) -> tuple[str, str, str] | None:
    """`CUSTOMER FIELD VALUE` → (customer, field, value), the first field word after the
    customer being the field (quote a customer name that holds one); None: no field given."""
    for i in range(1, len(args) - 1):
        if args[i].lower() in EDIT_FIELDS:
            return " ".join(args[:i]), args[i].lower(), " ".join(args[i + 1 :])
    return None


def _edit_answers(args: list[str]) -> Answer:
    return Answer.FORM if args and _field_edit(args) is None else Answer.TEXT


def _enroll_answers(args: list[str]) -> Answer:
    return Answer.TEXT if args else Answer.FORM


def _bulk_answers(args: list[str]) -> Answer:
    if not args:
        return Answer.UPLOAD
    return Answer.SLOW if args[0].lower() == "confirm" else Answer.TEXT


def _form_for_customer(args: list[str]) -> Answer:
    return Answer.FORM if args else Answer.TEXT


def _p2p_answers(args: list[str]) -> Answer:
    return Answer.FORM if args and args[0].lower() != "cancel" else Answer.TEXT


COMMANDS: tuple[Command, ...] = (
    Command("help", "help", Dispatcher._help),
    Command(
        "status",
        "status [active|failed|completed|finished|cancelled] [page N]",
        Dispatcher._status,
    ),
    Command("search", "search TEXT", Dispatcher._search),
    Command("show", "show CUSTOMER", Dispatcher._show),
    Command(
        "enroll",
        'enroll | enroll "NAME" EMAIL DOMAIN COUNTRY',
        Dispatcher._enroll,
        answers=_enroll_answers,
    ),
    Command(
        "edit",
        "edit CUSTOMER | edit CUSTOMER name|email|domain|country VALUE",
        Dispatcher._edit,
        answers=_edit_answers,
    ),
    Command(
        "bulk",
        "bulk FILE | bulk confirm ID | bulk discard ID",
        Dispatcher._bulk,
        answers=_bulk_answers,
    ),
    Command("template", "template", Dispatcher._template),
    Command(
        "export",
        "export [active|failed|completed|finished|cancelled] [FILE]",
        Dispatcher._export,
    ),
    Command("gdap", "gdap CUSTOMER", Dispatcher._gdap, answers=_form_for_customer),
    Command("hub", "hub CUSTOMER", Dispatcher._hub, answers=_form_for_customer),
    Command("p2p", "p2p CUSTOMER | p2p cancel CUSTOMER", Dispatcher._p2p, answers=_p2p_answers),
    Command("remind", "remind CUSTOMER [reseller|gdap|p2p]", Dispatcher._remind),
    Command("cancel", "cancel CUSTOMER", Dispatcher._cancel),
    Command("finish", "finish CUSTOMER", Dispatcher._finish),
    Command("log", "log CUSTOMER", Dispatcher._log),
    Command("notify", "notify here [all|failures|off]", Dispatcher._notify),
    Command(
        "digest", "digest [daily HH:MM [TZ]|weekly DAY HH:MM [TZ]|now|off]", Dispatcher._digest
    ),
    Command("outbox", "outbox [CUSTOMER]", Dispatcher._outbox),
    Command(
        "access",
        "access | access grant WHO ROLE | access revoke WHO | access log",
        Dispatcher._access,
    ),
    Command(
        "sandbox",
        "sandbox " + "|".join(SANDBOX_ACTIONS) + " CUSTOMER",
        Dispatcher._sandbox,
        sandbox_only=True,
    ),
)


def usage_of(name: str) -> Command:
    """The table's entry for `name`: its usage is what its own errors quote."""
    return next(c for c in COMMANDS if c.name == name)
