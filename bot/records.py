"""The plain records that cross the ports: what the store, Microsoft, mail and chat hand the
bot and take from it. Data only; the Protocols that move them are in `bot.ports`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.activity import ActivityKind, Actor
from bot.steps import Step


@dataclass(frozen=True)
class Mail:
    """One mail as `bot.mails` writes it; `body` is the plain-text part, `html` the HTML one
    (empty for mail queued before there was one). `key` is its ledger key, set by the
    delivery ledger when it sends: a mailer derives the Message-ID from it, so a mail sent
    again after a crash is recognisably the same message."""

    to: str
    subject: str
    body: str
    link: str | None = None
    onboarding_id: str | None = None
    kind: str = ""  # the step it is about: "reseller", "gdap" or "p2p"
    html: str = ""
    reminder: str = ""  # "" (the first mail), "Reminder N of 3" or "Reminder" (manual)
    key: str = ""


@dataclass(frozen=True)
class SentMail:
    """A mail as the outbox backend kept it."""

    at: datetime
    mail: Mail


@dataclass(frozen=True)
class ActivityTally:
    """How many activities of one kind (and step) an onboarding has, and the latest's time:
    what an export says of each step without reading every line of every log."""

    onboarding_id: str
    kind: ActivityKind
    step: Step | None
    count: int
    last_at: datetime


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
    # Microsoft ends a request nobody approved 90 days after it was created; while PENDING,
    # when that happens (live: createdDateTime + 90 days), if the backend knows.
    ends_unapproved_at: datetime | None = None


class AssignmentState(StrEnum):
    """Graph's delegatedAdminAccessAssignment status, reduced to what the bot acts on."""

    PENDING = "pending"  # pending
    ACTIVE = "active"  # active
    FAILED = "failed"  # error, deleting, deleted


@dataclass(frozen=True)
class AccessAssignment:
    """One partner security group given roles in the customer's tenant through a GDAP
    relationship: nobody in the partner tenant can use the relationship without one."""

    id: str
    group_id: str
    role_ids: tuple[str, ...]
    state: AssignmentState
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
    expires_at: datetime | None = None  # Partner Center's expirationTime, when it gives one


class MicrosoftEventKind(StrEnum):
    CUSTOMER = "customer"  # a reseller relationship was accepted
    GDAP = "gdap"  # an admin relationship changed
    ACCESS = "access"  # an access assignment changed
    TRANSFER = "transfer"  # a transfer was created, completed or failed


@dataclass(frozen=True)
class MicrosoftEvent:
    """What a verified Partner Center webhook tells the bot to re-read (never what it claims):
    the ids say which onboardings to refresh, Microsoft is then asked where they stand."""

    kind: MicrosoftEventKind
    tenant_id: str | None = None
    relationship_id: str | None = None
    transfer_id: str | None = None


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
    confirmed_by: Actor | None = None  # who confirmed it: an interrupted run resumes as them
    lease_until: datetime | None = None  # while running: the worker's hold on it

    @property
    def done_rows(self) -> int:
        return len(self.enrolled) + len(self.failed)


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


class TimerKind(StrEnum):
    REMINDER = "reminder"  # automatic reminder `slot` of a waiting `step`
    P2P_EXPIRY = "p2p.expiry"  # 30 days after a transfer request was sent
    GDAP_END = "gdap.end"  # the day a GDAP relationship ends (expires or extends)
    GDAP_ENDING = "gdap.ending"  # `slot` days before a relationship without auto-extend ends
    SYNC = "sync"  # fallback poll of Microsoft for a waiting onboarding
    MICROSOFT_RETRY = "microsoft.retry"  # send again a `step` request Microsoft did not answer
    GDAP_ACCESS = "gdap.access"  # poll the access assignments of a relationship until settled


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


# -- who may do what ----------------------------------------------------------------------


class Role(StrEnum):
    VIEWER = "viewer"  # status, search, show, log, template, export, digests for themselves
    OPERATOR = "operator"  # enroll, bulk, GDAP without Global Administrator, hub, p2p, remind
    ADMIN = "admin"  # cancel, finish, p2p cancel, Global Administrator, access, channel digests

    @property
    def rank(self) -> int:
        return (Role.VIEWER, Role.OPERATOR, Role.ADMIN).index(self)

    def covers(self, needed: Role) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True)
class Grant:
    """A role an admin gave to someone (everyone else in an allowed organisation is a
    viewer; the admins of `BOT_ADMINS` are admins without a grant)."""

    identity: str
    role: Role
    granted_by: str
    granted_at: datetime


@dataclass(frozen=True)
class AccessEntry:
    """One line of the bot's own activity log: who changed whose access, and when."""

    at: datetime
    actor: str
    identity: str
    message: str
