"""The bot's only ways to the world: small Protocols that `storage/` and `adapters/` implement.

Everything here is synchronous on purpose: use cases are plain functions over a database
transaction, and async front ends run them in a worker thread (`asyncio.to_thread`), so a
slow call never blocks the event loop and `bot/` needs no async machinery.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from bot.domain import Activity, Onboarding, OverallStatus

# -- time -------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC. Tests move it."""
        ...


# -- mail -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    link: str | None = None
    onboarding_id: str | None = None
    kind: str = ""


class Mailer(Protocol):
    def send(self, mail: Mail) -> None:
        """Deliver one mail or raise `ProviderError`; called only from the delivery ledger."""
        ...


@dataclass(frozen=True)
class SentMail:
    """A mail as the outbox backend kept it."""

    at: datetime
    mail: Mail


class MailOutbox(Protocol):
    """The outbox mail backend also lets users read what was "sent"."""

    def list(self, onboarding_id: str | None = None, limit: int = 50) -> list[SentMail]: ...


# -- Microsoft partner side ---------------------------------------------------------------


@dataclass(frozen=True)
class CustomerProfile:
    """What Partner Center knows of a customer once the reseller relationship exists."""

    tenant_id: str
    company_name: str
    domain: str
    email: str = ""
    country: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    address_line1: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""


class GdapState(StrEnum):
    """Graph's delegatedAdminRelationship status, reduced to what the bot acts on."""

    PENDING = "pending"  # created, approvalPending, approved, activating
    ACTIVE = "active"  # active, expiring
    EXPIRED = "expired"  # expired
    TERMINATED = "terminated"  # terminated, terminating, terminationRequested


@dataclass(frozen=True)
class GdapRelationship:
    id: str
    state: GdapState
    approval_url: str
    ends_at: datetime | None = None
    detail: str = ""


class TransferState(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Transfer:
    id: str
    state: TransferState
    detail: str = ""


class MicrosoftPartner(Protocol):
    """Partner Center and Graph as the bot needs them; raise `ProviderError` on refusal."""

    def reseller_invitation_url(self) -> str: ...

    def find_customer(self, domain: str) -> CustomerProfile | None:
        """The customer once it accepted the reseller relationship, else None."""
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

    def expire_gdap(self, relationship_id: str) -> None: ...

    def accept_transfer(self, transfer_id: str) -> None: ...

    def fail_transfer(self, transfer_id: str, reason: str) -> None: ...


# -- MSP Hub ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HubCustomer:
    company_name: str
    domain: str
    email: str
    country: str
    first_name: str
    last_name: str
    phone: str = ""
    address_line1: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    tenant_id: str | None = None


class Hub(Protocol):
    def create_customer(self, customer: HubCustomer) -> str:
        """Create the customer in the hub and return its hub id."""
        ...

    def is_confirmed(self, hub_customer_id: str) -> bool: ...


# -- chat notices ---------------------------------------------------------------------------


class Notifier(Protocol):
    """A chat platform that posts notices to a destination it made (opaque to `bot/`).

    `payload` is built by `bot.notices.notice_payload`. `post` raises `ProviderError` with
    `retry_after` set when the platform asks us to slow down; the ledger retries then.
    """

    platform: str

    def post(self, destination: str, payload: dict[str, Any]) -> None: ...


# -- the store ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownPartner:
    tenant_id: str
    name: str
    email: str


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str


@dataclass
class BulkRow:
    row: int
    name: str
    email: str
    domain: str
    country: str


class BulkState(StrEnum):
    REVIEW = "review"
    RUNNING = "running"
    DONE = "done"
    DISCARDED = "discarded"


@dataclass
class BulkImport:
    id: str
    created_at: datetime
    created_by: str
    filename: str
    total_rows: int
    valid_rows: list[BulkRow]
    errors: list[RowError]
    state: BulkState = BulkState.REVIEW
    enrolled: list[str] = field(default_factory=list)  # onboarding ids
    failed: list[RowError] = field(default_factory=list)  # rows refused at confirm time


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass
class Delivery:
    """One outgoing message in the ledger; its `key` is unique, so it is sent at most once."""

    key: str
    channel: str  # "mail" or a chat platform name
    payload: dict[str, Any]
    created_at: datetime
    onboarding_id: str | None = None
    id: int | None = None
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0
    last_error: str | None = None


class NoticeLevel(StrEnum):
    ALL = "all"
    FAILURES = "failures"


@dataclass(frozen=True)
class Place:
    """Where a command was typed: a chat adapter's opaque destination, to answer or notify."""

    platform: str
    destination: str
    label: str = ""
    direct: bool = False  # a person's direct message rather than a shared channel
    timezone: str = ""  # the person's IANA time zone, when the platform tells us


@dataclass(frozen=True)
class Subscription:
    """A channel (or chat) that wants status-change and reminder notices."""

    platform: str
    destination: str
    level: NoticeLevel
    label: str
    created_by: str
    created_at: datetime


# -- due work: timers and digests ------------------------------------------------------------


class TimerKind(StrEnum):
    REMINDER = "reminder"  # automatic reminder `slot` of a waiting `step`
    P2P_EXPIRY = "p2p.expiry"  # 30 days after a transfer request was sent
    GDAP_END = "gdap.end"  # the day a GDAP relationship ends (expires or extends)
    GDAP_ENDING = "gdap.ending"  # `slot` days before a relationship without auto-extend ends
    SYNC = "sync"  # fallback poll of Microsoft for a waiting onboarding


class TimerState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"  # not needed any more when it came due (step left waiting, superseded)


@dataclass
class Timer:
    """One piece of due work, written with the state change that causes it; its unique `key`
    means the work exists once however often the change is replayed."""

    key: str
    kind: TimerKind
    due_at: datetime
    onboarding_id: str | None = None
    step: str | None = None
    slot: int | None = None
    replace: bool = False  # scheduling again moves a pending or finished one to `due_at`
    id: int | None = None
    state: TimerState = TimerState.PENDING
    attempts: int = 0


class DigestFrequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass
class DigestSubscription:
    """A person (direct message) or a channel that gets the managers' digest."""

    platform: str
    destination: str
    label: str
    direct: bool
    frequency: DigestFrequency
    time: str  # "HH:MM", wall-clock time in `timezone`
    timezone: str  # IANA name
    next_due_at: datetime
    created_by: str
    created_at: datetime
    weekday: int | None = None  # 0 = Monday, for weekly digests
    last_sent_at: datetime | None = None
    last_counts: dict[str, int] | None = None
    id: int | None = None


class Transaction(Protocol):
    """One database transaction; changes are committed when the `with` block ends cleanly."""

    def get(self, onboarding_id: str, *, for_update: bool = False) -> Onboarding | None: ...

    def find(self, reference: str) -> list[Onboarding]:
        """Open onboardings whose id, domain or name (any case) equals `reference`."""
        ...

    def open_by_domains(self, domains: list[str]) -> dict[str, Onboarding]:
        """Open onboardings keyed by domain, for the given domains."""
        ...

    def add(self, onboarding: Onboarding) -> None: ...

    def save(self, onboarding: Onboarding) -> None:
        """Write the new state; raise `Conflict` if someone saved it since it was read."""
        ...

    def append(self, activity: Activity) -> None: ...

    def activities(self, onboarding_id: str, limit: int | None = None) -> list[Activity]:
        """Oldest first; with `limit`, the newest `limit` ones (still oldest first)."""
        ...

    def page(
        self, status: OverallStatus | None, search: str | None, offset: int, limit: int
    ) -> tuple[list[Onboarding], int]:
        """Open onboardings, newest enrollment first, and how many match in all."""
        ...

    def counts(self) -> dict[OverallStatus, int]: ...

    def gdap_name_taken(self, name: str) -> bool: ...

    def known_partners(self) -> list[KnownPartner]: ...

    def remember_partner(self, partner: KnownPartner) -> None: ...

    def add_bulk_import(self, bulk: BulkImport) -> None: ...

    def get_bulk_import(self, import_id: str, *, for_update: bool = False) -> BulkImport | None: ...

    def save_bulk_import(self, bulk: BulkImport) -> None: ...

    def subscriptions(self) -> list[Subscription]: ...

    def save_subscription(self, subscription: Subscription) -> None:
        """Insert, or replace the one for the same (platform, destination)."""
        ...

    def remove_subscription(self, platform: str, destination: str) -> bool: ...

    def enqueue(self, delivery: Delivery) -> bool:
        """Add to the ledger; False (and nothing written) when the key is already there."""
        ...

    def claim_deliveries(
        self, now: datetime, limit: int, lease_seconds: int, channels: list[str] | None = None
    ) -> list[Delivery]:
        """Pending deliveries nobody holds (of these channels, if given), leased to the
        caller so no one else sends them."""
        ...

    def mark_delivered(self, delivery_id: int, at: datetime) -> None: ...

    def mark_delivery_failed(
        self, delivery_id: int, at: datetime, error: str, retry_at: datetime | None
    ) -> None: ...

    def defer_delivery(self, delivery_id: int, until: datetime) -> None:
        """Give a claimed delivery back, untried, to be claimed again from `until` (pacing)."""
        ...

    # -- due work --

    def schedule(self, timers: list[Timer]) -> None:
        """Add timers; one whose key exists is left alone, unless it has `replace` set."""
        ...

    def claim_timers(self, now: datetime, limit: int, lease_seconds: int) -> list[Timer]:
        """Pending timers due at `now` that nobody holds, earliest first, leased to the caller.
        Costs in proportion to the timers due, not to all timers."""
        ...

    def timers_of(self, onboarding_id: str, kind: TimerKind) -> list[Timer]:
        """An onboarding's timers of one kind, in any state, earliest first."""
        ...

    def finish_timer(
        self, timer_id: int, state: TimerState, at: datetime, outcome: str = ""
    ) -> None: ...

    def reschedule_timer(self, timer_id: int, due_at: datetime) -> None:
        """Pending again (and free) from `due_at`: the same work, later (sync back-off)."""
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
        """Open onboardings whose pending transfer was sent before `p2p_sent_before`, or
        whose Established GDAP relationship ends before `gdap_ends_before`."""
        ...

    def get_digest(self, platform: str, destination: str) -> DigestSubscription | None: ...

    def save_digest(self, digest: DigestSubscription) -> DigestSubscription:
        """Insert, or replace the one for the same (platform, destination); sets `id`."""
        ...

    def remove_digest(self, platform: str, destination: str) -> bool: ...

    def claim_due_digest(self, now: datetime) -> DigestSubscription | None:
        """One digest due at `now`, locked until the transaction ends (others skip it)."""
        ...

    def digest_sent(
        self, digest_id: int, at: datetime, counts: dict[str, int], next_due_at: datetime | None
    ) -> None:
        """Remember what this digest said, and (when given) when the next one is due."""
        ...


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[Transaction]: ...
