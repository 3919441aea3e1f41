"""Reading onboardings: the grid, the customer card, the activity log and the outbox, and
turning what a user typed (a name, a domain or an id) into exactly one customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot import presenters
from bot.activity import Activity, Actor
from bot.domain import Change, Lifecycle, Onboarding, OverallStatus
from bot.errors import Ambiguous, NotAllowed, NotFound, ValidationError
from bot.notices import tone_of_all
from bot.ports import MailOutbox, UnitOfWork
from bot.presenters import CLOSING_KINDS
from bot.records import Role
from bot.text import has_control_characters, shorten
from bot.tone import Tone
from bot.views import (
    ActivityLog,
    Confirmation,
    Counts,
    CustomerCard,
    ListPage,
    MailView,
    OutboxView,
)
from bot.wiring import Wiring

REFERENCE_MAX = 256  # the longest customer name; domains and ids are shorter
SEARCH_MAX = 200


def resolve(
    uow: UnitOfWork, reference: str, *, for_update: bool = False, include_closed: bool = False
) -> Onboarding:
    """The one customer `reference` names; an ambiguous one raises `Ambiguous` with the
    candidates, never a guess.

    A command that acts (the default) looks at open onboardings only, so a name shared with a
    finished or cancelled customer is never ambiguous there; when only closed ones match it
    is refused with what the customer became. `include_closed` (show, log, outbox) finds
    closed customers too, and offers a choice when open and closed ones share the name."""
    ref = (reference or "").strip()
    if not ref:
        raise ValidationError("Name the customer: its name, domain or id.")
    if len(ref) > REFERENCE_MAX or has_control_characters(ref):
        raise NotFound(
            f'No customer in onboarding matches "{shorten(ref)}": a name, domain or id has '
            f"at most {REFERENCE_MAX} characters and no control characters."
        )
    matches = uow.onboardings.find(ref, include_closed=include_closed)
    if not matches and not include_closed:
        closed = uow.onboardings.find(ref, include_closed=True)
        if closed:
            raise NotAllowed(no_longer_open(closed[0]))
    if not matches:
        raise NotFound(
            f'No customer in onboarding matches "{shorten(ref)}". Try: search {shorten(ref)}'
        )
    if len(matches) > 1:
        raise Ambiguous(ref, [(m.id, candidate_label(m)) for m in matches])
    ob = matches[0]
    if for_update:
        locked = uow.onboardings.get(ob.id, for_update=True)
        assert locked is not None
        return locked
    return ob


def candidate_label(ob: Onboarding) -> str:
    """A choice between customers of one name: its domain, and when it was closed."""
    label = f"{ob.name} ({ob.domain})"
    if not ob.is_open and ob.closed_at:
        label += f" · {ob.lifecycle.value.capitalize()} {ob.closed_at:%d %b %Y}"
    return label


def no_longer_open(ob: Onboarding) -> str:
    """Why a command that acts cannot act on a finished or cancelled customer, and where its
    history is."""
    return f"{ob.refusal(Change.CANCEL)} Its card and activity log: show {ob.id}"


def check_search(text: str) -> None:
    """Search text a user can mean: a part of a name, not a pasted page."""
    if len(text) > SEARCH_MAX:
        raise ValidationError(
            f"The search text is {len(text):,} characters long; search for part of the "
            f"customer's name, at most {SEARCH_MAX} characters."
        )
    if has_control_characters(text):
        raise ValidationError(
            "The search text contains control characters; type part of the customer's name."
        )


def already_enrolled(existing: Onboarding, now: datetime) -> str:
    """Why a domain cannot be enrolled again, naming who holds it."""
    when = presenters.relative_time(existing.enrolled_at, now)
    return f"{existing.domain} is already in onboarding as {existing.name} (enrolled {when})."


@dataclass
class Customers:
    wiring: Wiring
    page_size: int = 10
    outbox: MailOutbox | None = None

    def dashboard(
        self,
        status: OverallStatus | None = None,
        search: str | None = None,
        offset: int = 0,
        limit: int | None = None,
        actor: Actor | None = None,
        lifecycle: Lifecycle | None = Lifecycle.OPEN,
    ) -> ListPage:
        """A page of the grid: open customers (by status), finished or cancelled ones
        (`lifecycle`), or a search, which finds open and closed ones. A list page has the
        seed's three counts, of open customers, whatever it shows; a search page has the
        number of matches instead, so that it costs what it finds (a count of every open
        customer grows with the store, a search's matches do not)."""
        limit = limit or self.page_size
        if search is not None:
            check_search(search)
            lifecycle = None
        now = self.wiring.clock.now()
        with self.wiring.store.transaction() as uow:
            role = self._role(actor)  # in the same transaction: one round of BEGIN and COMMIT
            counts = uow.onboardings.counts() if search is None else None
            known = None  # the counts of open customers are the total of an open list
            if counts is not None and lifecycle is Lifecycle.OPEN:
                known = counts[status] if status is not None else sum(counts.values())
            onboardings, total = uow.onboardings.page(
                status, search, max(offset, 0), limit, lifecycle=lifecycle, known_total=known
            )
            closed = [ob.id for ob in onboardings if not ob.is_open]
            closings = uow.activities.latest_of(closed, list(CLOSING_KINDS)) if closed else {}
        rows = tuple(
            presenters.customer_row(ob, now, role, closings.get(ob.id)) for ob in onboardings
        )
        shown = status.value if status else None
        if lifecycle in (Lifecycle.FINISHED, Lifecycle.CANCELLED):
            shown = lifecycle.value.capitalize()
        return ListPage(
            counts=None
            if counts is None
            else Counts(
                counts[OverallStatus.ACTIVE],
                counts[OverallStatus.FAILED],
                counts[OverallStatus.COMPLETED],
            ),
            rows=rows,
            offset=max(offset, 0),
            limit=limit,
            total=total,
            status_filter=shown,
            search=search,
        )

    def _role(self, actor: Actor | None) -> Role:
        """Whose buttons a card shows: the actor's role; without one, every button (a card
        posted to a channel is seen by many; each use case checks the clicker again)."""
        return self.wiring.access.role_of(actor) if actor else Role.ADMIN

    def card(self, reference: str, headline: str = "", actor: Actor | None = None) -> CustomerCard:
        with self.wiring.store.transaction() as uow:
            role = self._role(actor)
            ob = resolve(uow, reference, include_closed=True)
            return presenters.customer_card(
                ob,
                uow.activities.of(ob.id),
                self.wiring.clock.now(),
                headline,
                role=role,
                role_groups=self.wiring.role_groups,
            )

    def card_by_id(
        self,
        onboarding_id: str,
        headline: str = "",
        tone: Tone = Tone.INFO,
        actor: Actor | None = None,
    ) -> CustomerCard | None:
        """The card as it is now, open or closed; None when there is no such onboarding."""
        with self.wiring.store.transaction() as uow:
            role = self._role(actor)
            ob = uow.onboardings.get(onboarding_id)
            if ob is None:
                return None
            return presenters.customer_card(
                ob,
                uow.activities.of(ob.id),
                self.wiring.clock.now(),
                headline,
                tone=tone,
                role=role,
                role_groups=self.wiring.role_groups,
            )

    def after_change(
        self,
        onboarding_id: str,
        headline: str,
        changes: list[Activity],
        tone: Tone | None = None,
        actor: Actor | None = None,
    ) -> CustomerCard:
        """The card that answers a change: its headline says what happened, in the tone of
        the worst thing that happened (a refusal from Microsoft is not a success)."""
        feel = tone or (tone_of_all(changes) if changes else Tone.SUCCESS)
        if feel is Tone.INFO and changes:
            feel = Tone.SUCCESS
        card = self.card_by_id(onboarding_id, headline, feel, actor)
        assert card is not None
        return card

    def confirmation(
        self, reference: str, change: Change, actor: Actor | None, doing: str
    ) -> Confirmation:
        """What a destructive or final change asks first, once the actor may make it
        (`doing` names it in a refusal) and the domain says it applies now."""
        if actor:
            self.wiring.access.require(actor, Role.ADMIN, doing)
        with self.wiring.store.transaction() as uow:
            ob = resolve(uow, reference)
        ob.require(change)
        return presenters.confirmation(ob, change)

    def activity_log(self, reference: str) -> ActivityLog:
        now = self.wiring.clock.now()
        with self.wiring.store.transaction() as uow:
            ob = resolve(uow, reference, include_closed=True)
            events = uow.activities.of(ob.id)
        return ActivityLog(ob.name, ob.domain, tuple(presenters.event_view(a, now) for a in events))

    def outbox_mails(self, reference: str | None = None) -> OutboxView:
        if self.outbox is None:
            raise NotAllowed(
                "The outbox exists only with the outbox mail backend "
                "(MAIL_BACKEND=outbox); real mail is in your mail system."
            )
        customer = None
        onboarding_id = None
        if reference:
            with self.wiring.store.transaction() as uow:
                ob = resolve(uow, reference, include_closed=True)
            customer, onboarding_id = ob.name, ob.id
        now = self.wiring.clock.now()
        sent = self.outbox.list(onboarding_id)
        return OutboxView(
            customer,
            tuple(
                MailView(
                    s.at,
                    presenters.relative_time(s.at, now),
                    s.mail.to,
                    s.mail.subject,
                    s.mail.link,
                )
                for s in sent
            ),
        )
