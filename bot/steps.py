"""The four steps of an onboarding and their statuses, in the seed's words."""

from __future__ import annotations

from enum import StrEnum


class Step(StrEnum):
    RESELLER = "reseller"
    GDAP = "gdap"
    HUB = "hub"
    P2P = "p2p"


STEP_TITLES: dict[Step, str] = {
    Step.RESELLER: "Reseller Relationship",
    Step.GDAP: "GDAP Access",
    Step.HUB: "MSP Hub Access",
    Step.P2P: "P2P Transfer",
}


class ResellerStatus(StrEnum):
    IN_PROGRESS = "In Progress"
    ESTABLISHED = "Established"


class GdapStatus(StrEnum):
    NOT_STARTED = "Not started"
    IN_PROGRESS = "In Progress"
    ESTABLISHED = "Established"
    EXPIRED = "Expired"
    FAILED = "Failed"


class HubStatus(StrEnum):
    NOT_STARTED = "Not started"
    IN_PROGRESS = "In Progress"
    COMPLETED = "Completed"


class P2PStatus(StrEnum):
    NOT_STARTED = "Not started"
    PENDING = "Pending"
    COMPLETED = "Completed"
    CANCELLED = "Cancelled"
    EXPIRED = "Expired"
    FAILED = "Failed"


class OverallStatus(StrEnum):
    ACTIVE = "Active"
    FAILED = "Failed"
    COMPLETED = "Completed"


class Lifecycle(StrEnum):
    """Whether the customer is still on the onboarding lists; history is kept either way."""

    OPEN = "open"
    FINISHED = "finished"
    CANCELLED = "cancelled"
