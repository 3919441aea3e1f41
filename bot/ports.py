"""The bot's only ways to the world: Protocols that `storage/` and `adapters/` implement.

Protocols only; the records they carry are in `bot.records`. Everything here is synchronous
on purpose: use cases are plain functions over one unit of work, and async front ends run
them in a worker thread (`asyncio.to_thread`), so a slow call never blocks the event loop
and `bot/` needs no async machinery.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.activity import Actor
from bot.domain import Activity, ActivityKind, Lifecycle, Onboarding, OverallStatus
from bot.notices import NoticePayload
from bot.records import (
    AccessAssignment,
    AccessEntry,
    ActivityTally,
    BulkImport,
    BulkState,
    CustomerProfile,
    Delivery,
    DigestSubscription,
    GdapRelationship,
    Grant,
    HubCustomer,
    KnownPartner,
    Mail,
    RowError,
    SentMail,
    Subscription,
    Timer,
    TimerKind,
    TimerState,
    Transfer,
)

# -- time -------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC. Tests move it."""
        ...


# -- mail -------------------------------------------------------------------------------


class Mailer(Protocol):
    def send(self, mail: Mail) -> None:
        """Deliver one mail or raise `ProviderError`; called only from the delivery ledger,
        with `mail.key` set to its ledger key (the Message-ID is derived from it). Return
        only once the server accepted it; `ProviderError(permanent=True)` when trying again
        cannot help (a 5xx refusal), so the ledger gives up and the card says so."""
        ...


@runtime_checkable
class StoreMailer(Protocol):
    """A mailer whose sending is a write to the store (the outbox): a batch of mail is sent
    and marked sent in one transaction, all or none, instead of one transaction per mail."""

    def send_all(self, mails: list[Mail]) -> None:
        """Deliver them all in the caller's transaction, or raise and deliver none."""
        ...


class MailOutbox(Protocol):
    """The outbox mail backend also lets users read what was "sent"."""

    def list(self, onboarding_id: str | None = None, limit: int = 50) -> list[SentMail]: ...


# -- Microsoft partner side ---------------------------------------------------------------


class MicrosoftPartner(Protocol):
    """Partner Center and Graph as the bot needs them. Every method raises `ProviderError`
    when Microsoft refuses or fails: `permanent=True` for a refusal retrying cannot help (its
    message says why and what fixes it), `permanent=False` for throttling, 5xx and timeouts
    (the bot keeps the request and tries again later)."""

    def reseller_invitation_url(self) -> str: ...

    def find_tenant(self, domain: str) -> str | None:
        """The id of the Entra tenant that owns `domain` (Graph
        findTenantInformationByDomainName); None when no tenant has it. Called at enrollment;
        the result is kept on the onboarding."""
        ...

    def find_customer(self, domain: str, tenant_id: str | None = None) -> CustomerProfile | None:
        """The customer once it accepted the reseller relationship, else None. Live matches
        on `tenant_id` (resolving it from `domain` when None), never on the Partner Center
        company domain, which is usually the *.onmicrosoft.com one."""
        ...

    def create_gdap_relationship(
        self,
        *,
        name: str,
        duration_days: int,
        role_ids: list[str],
        auto_extend: bool,
        customer_tenant_id: str | None,
        customer_name: str,
    ) -> GdapRelationship: ...

    def get_gdap_relationship(self, relationship_id: str) -> GdapRelationship: ...

    def assign_access(
        self, relationship_id: str, group_id: str, role_ids: list[str]
    ) -> AccessAssignment:
        """Give a partner security group these roles in the customer's tenant (one call per
        group); idempotent: asking again for a group that has an assignment on the
        relationship returns the existing one."""
        ...

    def get_access_assignment(
        self, relationship_id: str, assignment_id: str
    ) -> AccessAssignment: ...

    def create_transfer(
        self,
        *,
        customer_tenant_id: str,
        partner_tenant_id: str,
        partner_name: str,
        customer_email: str,
    ) -> Transfer: ...

    def get_transfer(self, customer_tenant_id: str, transfer_id: str) -> Transfer: ...

    def cancel_transfer(self, customer_tenant_id: str, transfer_id: str) -> None: ...


class CustomerSimulator(Protocol):
    """Only the sandbox backend has this: it plays the customer and the current partner."""

    def accept_reseller(self, domain: str, company_name: str, email: str, country: str) -> None: ...

    def approve_gdap(self, relationship_id: str) -> None: ...

    def expire_gdap(self, relationship_id: str) -> None:
        """The relationship ends now, as when the customer (or the partner) terminates it
        or removes auto-extend on its last day: Microsoft reports it expired, not extended."""
        ...

    def accept_transfer(self, transfer_id: str) -> None: ...

    def fail_transfer(self, transfer_id: str, reason: str) -> None: ...


# -- MSP Hub ------------------------------------------------------------------------------


class Hub(Protocol):
    def create_customer(self, customer: HubCustomer) -> str:
        """Create the customer in the hub and return its hub id."""
        ...

    def is_confirmed(self, hub_customer_id: str) -> bool: ...


# -- chat notices ---------------------------------------------------------------------------


class Notifier(Protocol):
    """A chat platform that posts notices to a destination it made (opaque to `bot/`).

    `post` raises `ProviderError` with `retry_after` set when the platform asks us to slow
    down; the ledger retries then.
    """

    platform: str

    def post(self, destination: str, notice: NoticePayload) -> None: ...


# -- the store: one unit of work, with a repository per kind of record ----------------------


class OnboardingRepository(Protocol):
    def get(self, onboarding_id: str, *, for_update: bool = False) -> Onboarding | None: ...

    def get_many(
        self, onboarding_ids: list[str], *, for_update: bool = False
    ) -> dict[str, Onboarding]:
        """`get` for many at once, keyed by id (ids not there are left out); `for_update`
        locks them all, always in the same order, so two callers cannot deadlock."""
        ...

    def find(self, reference: str, *, include_closed: bool = False) -> list[Onboarding]:
        """Open onboardings whose id, domain or name (any case) equals `reference`; with
        `include_closed`, finished and cancelled ones too, after the open ones, newest
        closed first."""
        ...

    def open_by_domains(self, domains: list[str]) -> dict[str, Onboarding]:
        """Open onboardings keyed by domain, for the given domains."""
        ...

    def open_by_microsoft_ids(
        self,
        *,
        tenant_id: str | None = None,
        relationship_id: str | None = None,
        transfer_id: str | None = None,
    ) -> list[Onboarding]:
        """Open onboardings whose customer tenant, GDAP relationship or P2P transfer has one
        of the given ids (ids compare case-insensitively, as Microsoft's GUIDs do), in
        enrollment order: what a Partner Center webhook concerns."""

    def holders(self, domains: list[str]) -> dict[str, str]:
        """The id of the open onboarding holding each domain, for the given domains."""
        ...

    def open_without_tenant(self, limit: int) -> list[Onboarding]:
        """Open onboardings still waiting for the reseller relationship whose customer
        tenant is not known (none owned the domain, or it could not be looked up), newest
        enrollment first."""
        ...

    def add(self, onboarding: Onboarding) -> None: ...

    def add_new(self, onboardings: list[Onboarding]) -> set[str]:
        """Add many at once, leaving out (not failing on) any whose domain an open onboarding
        holds, even one added a moment ago by someone else; returns the ids added."""
        ...

    def save(self, onboarding: Onboarding) -> None:
        """Write the new state; raise `Conflict` if someone saved it since it was read."""
        ...

    def touch_all(self, onboardings: list[Onboarding]) -> None:
        """Moves their version on without writing their state, checked as `save` checks it:
        for a change that only adds to the log (an automatic reminder), so whoever read
        them before it still reloads before saving, at a fraction of a full write."""
        ...

    def page(
        self,
        status: OverallStatus | None,
        search: str | None,
        offset: int,
        limit: int,
        *,
        lifecycle: Lifecycle | None = Lifecycle.OPEN,
        known_total: int | None = None,
    ) -> tuple[list[Onboarding], int]:
        """A page of onboardings and how many match in all. Open ones (the default) newest
        enrollment first; finished or cancelled ones newest closed first; `lifecycle` None
        (a search) all, open ones first. `search` matches part of the name or domain (any
        case) or the whole id. `known_total`: how many match, when the caller has counted
        them already (the dashboard's counts), so they are not counted twice."""
        ...

    def counts(self) -> dict[OverallStatus, int]: ...

    def batch_after(
        self,
        lifecycle: Lifecycle | None,
        status: OverallStatus | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Onboarding]:
        """Onboardings open or closed (`lifecycle` None: all; `status` narrows to an overall
        status), newest enrollment first, from just after the (enrolled_at, id) of the last
        one of the previous batch: an export pages through 100,000 customers this way, each
        batch costing what it returns."""
        ...

    def count_where(self, lifecycle: Lifecycle | None, status: OverallStatus | None) -> int:
        """How many `batch_after` would give in all."""
        ...

    def enrolled_since(self, since: datetime, limit: int) -> tuple[list[Onboarding], int]:
        """Open onboardings enrolled at or after `since`, oldest first, and how many."""
        ...

    def stalled(self, started_before: datetime, limit: int) -> list[Onboarding]:
        """Open onboardings with a waiting step that started before `started_before`."""
        ...

    def expiring(
        self, p2p_sent_before: datetime, gdap_ends_before: datetime, limit: int
    ) -> list[Onboarding]:
        """Open onboardings whose pending transfer was sent before `p2p_sent_before` (or,
        with Partner Center's own expiry, ends within the product's lifetime of it), or whose
        Established GDAP relationship ends before `gdap_ends_before`."""
        ...


class ActivityRepository(Protocol):
    def append(self, activity: Activity) -> None: ...

    def append_all(self, activities: list[Activity]) -> None: ...

    def of(self, onboarding_id: str, limit: int | None = None) -> list[Activity]:
        """Oldest first; with `limit`, the newest `limit` ones (still oldest first)."""
        ...

    def tallies(self, onboarding_ids: list[str], kinds: list[ActivityKind]) -> list[ActivityTally]:
        """For each of these onboardings, kind and step: how many such activities there are
        and when the latest was (none listed where there are none)."""
        ...

    def latest_of(
        self, onboarding_ids: list[str], kinds: list[ActivityKind]
    ) -> dict[str, Activity]:
        """Each onboarding's newest activity of one of these kinds, by onboarding id."""
        ...


class BulkImportRepository(Protocol):
    def add(self, bulk: BulkImport) -> None: ...

    def get(self, import_id: str, *, for_update: bool = False) -> BulkImport | None: ...

    def save(self, bulk: BulkImport) -> None: ...

    def progress(
        self, import_id: str, enrolled: list[str], failed: list[RowError], lease_until: datetime
    ) -> None:
        """Record a chunk's outcome and renew the worker's hold, leaving the rest alone."""
        ...

    def take(self, import_id: str, confirmed_by: Actor, lease_until: datetime) -> None:
        """Mark it running, in the name of who confirmed it, held by this worker until
        `lease_until`; the reviewed rows are left alone (rewriting them costs as the file)."""
        ...

    def settle(
        self, import_id: str, enrolled: list[str], failed: list[RowError], state: BulkState
    ) -> None:
        """Record the import's outcome and its new state, and release the worker's hold."""
        ...

    def interrupted(self, now: datetime, limit: int) -> list[BulkImport]:
        """Running imports whose worker's lease ran out before `now`: to be resumed."""
        ...


class GdapNameRepository(Protocol):
    """Every admin relationship name ever requested: Microsoft needs each one unique."""

    def taken(self, name: str) -> bool: ...

    def claim(self, name: str, onboarding_id: str, at: datetime) -> bool:
        """Take `name` for the onboarding; False if it is held already (any case). Two
        claims of one name at the same instant: exactly one wins."""
        ...

    def release(self, name: str, onboarding_id: str) -> None:
        """Give a name back that Microsoft never took (the request was refused)."""
        ...


class PartnerRepository(Protocol):
    """Current partners a transfer was once requested from, to pick again."""

    def known(self) -> list[KnownPartner]: ...

    def remember(self, partner: KnownPartner) -> None: ...


class DeliveryLedger(Protocol):
    """Everything that goes out (mail, chat notices, digests), each under a unique key."""

    def enqueue(self, delivery: Delivery) -> bool:
        """Add to the ledger; False (and nothing written) when the key is already there.
        The unit of work remembers that it enqueued, so delivery runs after its commit."""
        ...

    def enqueue_all(self, deliveries: list[Delivery]) -> None:
        """`enqueue` for many at once (a key already there adds nothing; `id` is not set)."""
        ...

    def enqueue_new(self, deliveries: list[Delivery]) -> set[str]:
        """`enqueue` for many at once; returns the keys that were not there yet (`id` is not
        set: the sender claims them by key). A key is never in the ledger twice, but the
        answer is only exact if nobody else enqueues these keys at the same time: callers
        hold the lock that serialises them (the scheduler's reminders: their onboardings'
        rows, which every sender of those keys locks first)."""
        ...

    def claim(
        self, now: datetime, limit: int, lease_seconds: int, channels: list[str] | None = None
    ) -> list[Delivery]:
        """Pending deliveries nobody holds (of these channels, if given), leased to the
        caller so no one else sends them."""
        ...

    def mark_sent(self, delivery_id: int, at: datetime) -> None: ...

    def mark_all_sent(self, delivery_ids: list[int], at: datetime) -> None: ...

    def mark_failed(
        self, delivery_id: int, at: datetime, error: str, retry_at: datetime | None
    ) -> None: ...

    def withdraw_mail(self, onboarding_id: str, recipient: str, at: datetime, reason: str) -> int:
        """Gives up the onboarding's mail still pending to `recipient` (its address was
        corrected), recording `reason`; how many. Sent mail is left as it is."""
        ...

    def defer(self, delivery_id: int, until: datetime) -> None:
        """Give a claimed delivery back, untried, to be claimed again from `until` (pacing)."""
        ...


class TimerRepository(Protocol):
    """Due work: each piece a row, written with the change that causes it."""

    def schedule(self, timers: list[Timer]) -> None:
        """Add timers; one whose key exists is left alone, unless it has `replace` set."""
        ...

    def claim(self, now: datetime, limit: int, lease_seconds: int) -> list[Timer]:
        """Pending timers due at `now` that nobody holds, earliest first, leased to the caller.
        Costs in proportion to the timers due, not to all timers."""
        ...

    def of(self, onboarding_id: str, kind: TimerKind) -> list[Timer]:
        """An onboarding's timers of one kind, in any state, earliest first."""
        ...

    def of_many(self, onboarding_ids: list[str], kind: TimerKind) -> dict[str, list[Timer]]:
        """`of` for many onboardings at once, keyed by onboarding id."""
        ...

    def finish(self, timer_id: int, state: TimerState, at: datetime, outcome: str = "") -> None: ...

    def finish_all(self, finished: list[tuple[int, TimerState, str]], at: datetime) -> None:
        """`finish` for many (timer id, state, outcome) at once."""
        ...

    def reschedule(self, timer_id: int, due_at: datetime) -> None:
        """Pending again (and free) from `due_at`: the same work, later (sync back-off)."""
        ...


class SubscriptionRepository(Protocol):
    """Channels and chats that want status-change notices."""

    def all(self) -> list[Subscription]: ...

    def save(self, subscription: Subscription) -> None:
        """Insert, or replace the one for the same (platform, destination)."""
        ...

    def remove(self, platform: str, destination: str) -> bool: ...


class DigestRepository(Protocol):
    def get(self, platform: str, destination: str) -> DigestSubscription | None: ...

    def save(self, digest: DigestSubscription) -> DigestSubscription:
        """Insert, or replace the one for the same (platform, destination); sets `id`."""
        ...

    def remove(self, platform: str, destination: str) -> bool: ...

    def claim_due(self, now: datetime) -> DigestSubscription | None:
        """One digest due at `now`, locked until the transaction ends (others skip it)."""
        ...

    def sent(
        self, digest_id: int, at: datetime, counts: dict[str, int], next_due_at: datetime | None
    ) -> None:
        """Remember what this digest said, and (when given) when the next one is due."""
        ...


class AccessRepository(Protocol):
    """Roles granted with `access grant`, and the bot's own log of who changed them."""

    def get(self, identity: str) -> Grant | None: ...

    def all(self) -> list[Grant]:
        """By identity."""
        ...

    def save(self, grant: Grant) -> None:
        """Insert, or replace the grant of the same identity."""
        ...

    def remove(self, identity: str) -> bool: ...

    def log(self, entry: AccessEntry) -> None: ...

    def entries(self, limit: int) -> list[AccessEntry]:
        """The newest `limit` entries, oldest first."""
        ...


class UnitOfWork(Protocol):
    """One database transaction and the repositories that work in it.

    Changes are committed when the `with` block ends cleanly and rolled back when it raises.
    A unit of work opened while this thread already has one open on the same store JOINS
    the outer one (its writes in a savepoint): it commits only with the outer one, and only
    the outermost commit counts as done.
    """

    onboardings: OnboardingRepository
    activities: ActivityRepository
    bulk_imports: BulkImportRepository
    gdap_names: GdapNameRepository
    partners: PartnerRepository
    ledger: DeliveryLedger
    timers: TimerRepository
    subscriptions: SubscriptionRepository
    digests: DigestRepository
    access: AccessRepository

    def blocks_other_writers(self) -> bool:
        """Whether every other writer now waits for this transaction to end (SQLite's one
        write lock, once taken). Background work pauses for users only when it does not:
        a user being answered may be one of those writers."""
        ...


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[UnitOfWork]: ...

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Run `callback` on the committing thread after every outermost commit that put
        something in the ledger, so what a use case enqueued leaves at once, whichever
        front end ran it. A callback that raises is logged; the commit stands and the
        scheduler's next run sends what is left."""
        ...

    def batched(self) -> AbstractContextManager[None]:
        """A block of many commits (a scheduler run) whose after-commit callbacks run once,
        when it ends: what the batch caused goes out together, so a channel that gets many
        notices at once gets them merged."""
        ...
