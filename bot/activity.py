"""Who did what: the actor of a change and the append-only activity line that records it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.ids import activity_id
from bot.steps import Step

SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who did something: a person on a platform, or the system itself."""

    id: str
    name: str
    platform: str = "console"
    workspace: str = ""  # the Slack workspace (team id) or Teams tenant the person is in
    enterprise: str = ""  # the Slack Enterprise Grid organisation (E…), when there is one

    @property
    def label(self) -> str:
        return self.name if self.id == SYSTEM else f"{self.name} ({self.platform})"

    @property
    def identity(self) -> str:
        """Who this is, across the bot: `slack:TEAM:USER`, `teams:TENANT:OBJECTID`, or the
        console's own user (`console:NAME`), as `BOT_ADMINS` and `access` write them."""
        if self.platform in ("slack", "teams"):
            return f"{self.platform}:{self.workspace}:{self.id}"
        return self.id if ":" in self.id else f"{self.platform}:{self.id}"


SYSTEM_ACTOR = Actor(SYSTEM, "system", "system")


class ActivityKind(StrEnum):
    """Every kind of line the activity log holds; the values are stored, never change them."""

    ENROLLED = "enrolled"
    RESELLER_ESTABLISHED = "reseller.established"
    TENANT_MISSING = "reseller.no_tenant"  # no Microsoft tenant owns the domain (yet)
    TENANT_FOUND = "reseller.tenant_found"  # a tenant owns it now
    GDAP_REQUESTED = "gdap.requested"
    GDAP_ESTABLISHED = "gdap.established"
    GDAP_EXTENDED = "gdap.extended"
    GDAP_ENDING = "gdap.ending"
    GDAP_EXPIRED = "gdap.expired"
    GDAP_FAILED = "gdap.failed"
    GDAP_WAITING = "gdap.waiting"  # Microsoft did not answer the request; tried again later
    ACCESS_ACTIVE = "gdap.access_active"  # a partner group holds its roles in the tenant
    ACCESS_FAILED = "gdap.access_failed"  # Microsoft refused or dropped a group's roles
    HUB_STARTED = "hub.started"
    HUB_COMPLETED = "hub.completed"
    P2P_PENDING = "p2p.pending"
    P2P_COMPLETED = "p2p.completed"
    P2P_CANCELLED = "p2p.cancelled"
    P2P_CANCEL_FAILED = "p2p.cancel_failed"
    P2P_EXPIRED = "p2p.expired"
    P2P_FAILED = "p2p.failed"
    P2P_WAITING = "p2p.waiting"  # Microsoft did not answer the request; tried again later
    REMINDER_SENT = "reminder.sent"
    MAIL_BOUNCED = "mail.bounced"  # the mail server refused a mail for good (5xx)
    MAIL_UNDELIVERED = "mail.undelivered"  # temporary failures until the ledger gave up
    EDITED = "customer.edited"  # name, email, domain or country corrected
    FINISHED = "onboarding.finished"
    CANCELLED = "onboarding.cancelled"
    BULK_ENROLLED = "bulk.enrolled"  # one line for a whole import, in no customer's log


@dataclass(frozen=True)
class Activity:
    """One append-only line of the activity log."""

    onboarding_id: str
    at: datetime
    actor: Actor
    kind: ActivityKind
    message: str
    step: Step | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=activity_id)
