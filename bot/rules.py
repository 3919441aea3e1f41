"""The seed's numbers and the small values an onboarding is made of: what enrollment asks,
a GDAP request, a P2P transfer, and what a user can ask of an onboarding. Pure; `bot.domain`
builds the state machine on them and re-exports them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bot.gdap_roles import GLOBAL_ADMINISTRATOR_ID

# -- the numbers of the seed, each kept once ---------------------------------------------------

REMINDER_DELAYS: tuple[timedelta, ...] = (
    timedelta(hours=24),
    timedelta(hours=48),
    timedelta(hours=168),
)
P2P_LIFETIME = timedelta(days=30)  # a transfer request expires after this without action
GDAP_UNAPPROVED_LIFETIME = timedelta(days=90)  # Microsoft ends a request nobody approved
GDAP_AUTO_EXTEND_DAYS = 180  # Microsoft extends a relationship by this much when it ends
GDAP_AUTO_EXTEND = timedelta(days=GDAP_AUTO_EXTEND_DAYS)
GDAP_MIN_DAYS = 1
GDAP_MAX_DAYS = 730
GDAP_DEFAULT_DAYS = GDAP_MAX_DAYS
GDAP_ENDING_WARNINGS_DAYS = (30, 7)  # warned before a relationship without auto-extend ends
NAME_MAX = 256  # customer and company names
GDAP_NAME_MAX = 50  # Microsoft's limit for an admin relationship's display name
DOMAIN_MAX = 253


class Change(StrEnum):
    """What a user can ask of an onboarding; the value is the command word."""

    REQUEST_GDAP = "gdap"
    START_HUB = "hub"
    INITIATE_P2P = "p2p"
    CANCEL_P2P = "p2p cancel"
    REMIND = "remind"
    FINISH = "finish"
    CANCEL = "cancel"
    EDIT = "edit"  # correct the name or the email, until the onboarding is closed
    EDIT_TENANT = "edit domain"  # correct the domain or the country: the tenant is not bound yet


@dataclass(frozen=True)
class CustomerDetails:
    """What enrollment asks for, already validated and normalised."""

    name: str
    email: str
    domain: str
    country: str


class AccessState(StrEnum):
    """Where one group's access assignment stands, as the card says it."""

    WAITING = "waiting"  # not created yet: Microsoft did not answer, tried again later
    PENDING = "pending"  # created, Microsoft is provisioning it
    ACTIVE = "active"
    FAILED = "failed"


@dataclass
class GroupAccess:
    """The roles one partner security group is given through the GDAP relationship."""

    group_id: str
    role_ids: list[str]
    state: AccessState = AccessState.WAITING
    assignment_id: str | None = None
    detail: str = ""  # Microsoft's reason, for a failed (or still waiting) assignment
    since: datetime | None = None  # when it was first asked for

    @property
    def settled(self) -> bool:
        return self.state in (AccessState.ACTIVE, AccessState.FAILED)


@dataclass
class GdapRequest:
    relationship_name: str
    duration_days: int
    role_ids: list[str]
    relationship_id: str | None = None
    approval_url: str | None = None
    ends_at: datetime | None = None
    # Not created at Microsoft yet: why (its transient failure); the scheduler tries again.
    waiting: str | None = None
    ends_unapproved_at: datetime | None = None  # when Microsoft ends it if nobody approves
    assignments: list[GroupAccess] = field(default_factory=list)

    @property
    def auto_extend(self) -> bool:
        """Microsoft refuses auto-extend when Global Administrator is among the roles."""
        return GLOBAL_ADMINISTRATOR_ID not in self.role_ids


@dataclass
class P2PTransfer:
    partner_name: str
    partner_tenant_id: str
    partner_email: str
    transfer_id: str | None = None
    sent_at: datetime | None = None
    microsoft_expires_at: datetime | None = None  # Partner Center's expirationTime, if given
    # Not created at Microsoft yet: why (its transient failure); the scheduler tries again.
    waiting: str | None = None

    @property
    def expires_at(self) -> datetime | None:
        """Partner Center's own expiry when it gives one, else the product's 30 days."""
        if self.microsoft_expires_at is not None:
            return self.microsoft_expires_at
        return self.sent_at + P2P_LIFETIME if self.sent_at else None


def gdap_name_key(name: str) -> str:
    """An admin relationship name as Microsoft compares names: spaces collapsed, any case."""
    return " ".join(name.split()).casefold()


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 22nd…"""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def reminder_due_at(started_at: datetime, slot: int) -> datetime:
    """When automatic reminder `slot` (1-based) of a step that started at `started_at` is due."""
    return started_at + REMINDER_DELAYS[slot - 1]


def gdap_ending_warnings(ends_at: datetime, approved_at: datetime) -> list[tuple[int, datetime]]:
    """The warnings (days before, when) a relationship without auto-extend gets before it
    ends. A warning whose moment had already passed when the relationship was approved is
    not given; of several that would fall at once, only the nearest to the end is kept, so a
    short relationship is not warned twice in one breath."""
    due = [
        (days, ends_at - timedelta(days=days))
        for days in GDAP_ENDING_WARNINGS_DAYS
        if ends_at - timedelta(days=days) > approved_at
    ]
    return due
