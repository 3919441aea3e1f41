"""The onboarding and its state machine, in the seed's words; pure rules, no I/O.

Each transition checks that it applies, changes the onboarding and returns the `Activity`
that records it; a refused transition raises `NotAllowed` with a message a user can act on.
What a user may do now is asked with `Onboarding.allows` / `refusal`, so forms, buttons and
confirmations never keep a copy of the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import guards, ids, labels
from bot.activity import SYSTEM, SYSTEM_ACTOR, Activity, ActivityKind, Actor
from bot.errors import NotAllowed
from bot.rules import (
    DOMAIN_MAX,
    GDAP_AUTO_EXTEND,
    GDAP_AUTO_EXTEND_DAYS,
    GDAP_DEFAULT_DAYS,
    GDAP_ENDING_WARNINGS_DAYS,
    GDAP_MAX_DAYS,
    GDAP_MIN_DAYS,
    GDAP_NAME_MAX,
    GDAP_UNAPPROVED_LIFETIME,
    NAME_MAX,
    P2P_LIFETIME,
    REMINDER_DELAYS,
    AccessState,
    Change,
    CustomerDetails,
    GdapRequest,
    GroupAccess,
    P2PTransfer,
    gdap_ending_warnings,
    ordinal,
    reminder_due_at,
)
from bot.steps import (
    STEP_TITLES,
    GdapStatus,
    HubStatus,
    Lifecycle,
    OverallStatus,
    P2PStatus,
    ResellerStatus,
    Step,
)

__all__ = [
    "DOMAIN_MAX",
    "GDAP_AUTO_EXTEND",
    "GDAP_AUTO_EXTEND_DAYS",
    "GDAP_DEFAULT_DAYS",
    "GDAP_ENDING_WARNINGS_DAYS",
    "GDAP_MAX_DAYS",
    "GDAP_MIN_DAYS",
    "GDAP_NAME_MAX",
    "GDAP_UNAPPROVED_LIFETIME",
    "NAME_MAX",
    "P2P_LIFETIME",
    "REMINDER_DELAYS",
    "STEP_TITLES",
    "SYSTEM",
    "SYSTEM_ACTOR",
    "AccessState",
    "Activity",
    "ActivityKind",
    "Actor",
    "Change",
    "CustomerDetails",
    "GdapRequest",
    "GdapStatus",
    "GroupAccess",
    "HubStatus",
    "Lifecycle",
    "OverallStatus",
    "P2PStatus",
    "P2PTransfer",
    "ResellerStatus",
    "Step",
    "gdap_ending_warnings",
    "ordinal",
    "reminder_due_at",
]


EDITABLE = ("name", "email", "domain", "country")  # what `edit` corrects, in this order
RESENT = {Step.RESELLER: "The invitation", Step.GDAP: "The GDAP approval request"}


@dataclass
class Onboarding:
    id: str
    name: str
    email: str
    domain: str
    country: str
    enrolled_at: datetime
    enrolled_by: str
    reseller_status: ResellerStatus = ResellerStatus.IN_PROGRESS
    reseller_started_at: datetime | None = None
    customer_tenant_id: str | None = None
    # When Microsoft last said which tenant owns the domain (None: not asked successfully
    # yet); with no `customer_tenant_id`, it said no tenant has the domain.
    tenant_checked_at: datetime | None = None
    gdap_status: GdapStatus = GdapStatus.NOT_STARTED
    gdap_started_at: datetime | None = None
    gdap: GdapRequest | None = None
    hub_status: HubStatus = HubStatus.NOT_STARTED
    hub_started_at: datetime | None = None
    hub_customer_id: str | None = None
    p2p_status: P2PStatus = P2PStatus.NOT_STARTED
    p2p_started_at: datetime | None = None
    p2p: P2PTransfer | None = None
    failure_reason: str | None = None
    lifecycle: Lifecycle = Lifecycle.OPEN
    closed_at: datetime | None = None
    bulk_import_id: str | None = None
    # Where the lists put it: newest first by `listed_at` (its enrollment, or for a row of
    # a bulk import the moment the import began enrolling), then by the file's row, so the
    # customers of one import read in the order of their file.
    bulk_row: int | None = None
    listed_at: datetime | None = None  # not given: enrolled_at
    version: int = 0

    def __post_init__(self) -> None:
        if self.listed_at is None:
            self.listed_at = self.enrolled_at

    # -- derived -----------------------------------------------------------------------

    @property
    def overall_status(self) -> OverallStatus:
        if self.gdap_status in (GdapStatus.EXPIRED, GdapStatus.FAILED) or self.p2p_status in (
            P2PStatus.EXPIRED,
            P2PStatus.FAILED,
        ):
            return OverallStatus.FAILED
        if all(self.step_done(step) for step in Step):
            return OverallStatus.COMPLETED
        return OverallStatus.ACTIVE

    @property
    def is_open(self) -> bool:
        return self.lifecycle is Lifecycle.OPEN

    @property
    def gdap_auto_extends(self) -> bool:
        """True only while a relationship is live or asked for and Microsoft will extend it:
        an Expired or Failed one extends nothing any more."""
        return (
            self.gdap is not None
            and self.gdap.auto_extend
            and self.gdap_status in (GdapStatus.IN_PROGRESS, GdapStatus.ESTABLISHED)
        )

    def waiting_steps(self) -> list[Step]:
        """Steps that wait on the customer or the current partner, and so get reminders."""
        waiting = []
        if self.reseller_status is ResellerStatus.IN_PROGRESS:
            waiting.append(Step.RESELLER)
        if self.gdap_status is GdapStatus.IN_PROGRESS and self.microsoft_wait(Step.GDAP) is None:
            waiting.append(Step.GDAP)
        if self.p2p_status is P2PStatus.PENDING and self.microsoft_wait(Step.P2P) is None:
            waiting.append(Step.P2P)
        return waiting

    def microsoft_wait(self, step: Step) -> str | None:
        """Why a request the partner made is not at Microsoft yet (Microsoft did not answer;
        the scheduler sends it again), or None when it is there or was never made. Such a
        step waits on Microsoft, not on the customer: no reminder goes out for it."""
        if step is Step.GDAP and self.gdap_status is GdapStatus.IN_PROGRESS and self.gdap:
            return self.gdap.waiting if self.gdap.relationship_id is None else None
        if step is Step.P2P and self.p2p_status is P2PStatus.PENDING and self.p2p:
            return self.p2p.waiting if self.p2p.transfer_id is None else None
        return None

    def step_started_at(self, step: Step) -> datetime | None:
        return {
            Step.RESELLER: self.reseller_started_at,
            Step.GDAP: self.gdap_started_at,
            Step.HUB: self.hub_started_at,
            Step.P2P: self.p2p_started_at,
        }[step]

    def step_status(self, step: Step) -> str:
        return {
            Step.RESELLER: self.reseller_status,
            Step.GDAP: self.gdap_status,
            Step.HUB: self.hub_status,
            Step.P2P: self.p2p_status,
        }[step].value

    def recovery_hint(self) -> str | None:
        """What the user can do about a Failed onboarding (nothing, once it is closed)."""
        if not self.is_open:
            return None
        if self.gdap_status in (GdapStatus.EXPIRED, GdapStatus.FAILED):
            return f'Create a new GDAP request: gdap "{self.domain}"'
        if self.p2p_status in (P2PStatus.EXPIRED, P2PStatus.FAILED):
            return (
                f'Initiate a new transfer (p2p "{self.domain}") or drop it '
                f'(p2p cancel "{self.domain}")'
            )
        return None

    # -- what a user may do now ------------------------------------------------------------

    def refusal(self, change: Change, step: Step | None = None) -> str | None:
        """Why `change` cannot be made now, in words the user can act on; None if it can
        (see `bot.guards`)."""
        return guards.refusal(self, change, step)

    def allows(self, change: Change, step: Step | None = None) -> bool:
        return self.refusal(change, step) is None

    def require(self, change: Change, step: Step | None = None) -> None:
        """Raises `NotAllowed` with the refusal, if there is one."""
        reason = self.refusal(change, step)
        if reason is not None:
            raise NotAllowed(reason)

    # -- transitions -------------------------------------------------------------------

    def _activity(
        self,
        at: datetime,
        actor: Actor,
        kind: ActivityKind,
        message: str,
        step: Step | None = None,
        **details: Any,
    ) -> Activity:
        return Activity(self.id, at, actor, kind, message, step, details)

    def note(
        self, at: datetime, actor: Actor, kind: ActivityKind, message: str, step: Step | None = None
    ) -> Activity:
        """An activity that records something without changing a status."""
        return self._activity(at, actor, kind, message, step)

    def _require_open(self) -> None:
        if not self.is_open:
            raise NotAllowed(self.refusal(Change.CANCEL) or "")

    def accept_reseller(self, at: datetime, actor: Actor, tenant_id: str | None) -> Activity:
        self._require_open()
        if self.reseller_status is ResellerStatus.ESTABLISHED:
            raise NotAllowed(f"The reseller relationship with {self.name} is already Established.")
        self.reseller_status = ResellerStatus.ESTABLISHED
        self.customer_tenant_id = tenant_id or self.customer_tenant_id
        return self._activity(
            at,
            actor,
            ActivityKind.RESELLER_ESTABLISHED,
            "Reseller relationship Established: the customer accepted.",
            Step.RESELLER,
            tenant_id=tenant_id,
        )

    def request_gdap(self, at: datetime, actor: Actor, request: GdapRequest) -> Activity:
        """Microsoft created the relationship (`request.relationship_id`): it waits for the
        customer's approval."""
        self._start_gdap(at, request)
        return self._gdap_sent(at, actor)

    def keep_gdap_request(
        self, at: datetime, actor: Actor, request: GdapRequest, reason: str, retry_at: datetime
    ) -> Activity:
        """Microsoft did not answer (throttled, down, too slow): the request is kept, In
        Progress, and sent again at `retry_at`; nothing is lost and nobody retypes it."""
        self._start_gdap(at, request)
        request.waiting = reason or "no answer"
        return self._activity(
            at,
            actor,
            ActivityKind.GDAP_WAITING,
            f'GDAP request "{request.relationship_name}" kept: Microsoft did not answer '
            f"({reason}). It is sent again automatically from {retry_at:%H:%M} UTC.",
            Step.GDAP,
            reason=reason,
            retry_at=retry_at.isoformat(),
        )

    def refuse_gdap(
        self, at: datetime, actor: Actor, request: GdapRequest, reason: str
    ) -> Activity:
        """Microsoft refused the request for good (when it was made, or when it was sent
        again): the step is Failed with its reason."""
        if self.gdap is not request:
            self._start_gdap(at, request)
        return self.fail_gdap(
            at, actor, f'Microsoft refused the request "{request.relationship_name}": {reason}'
        )

    def gdap_created(
        self,
        at: datetime,
        relationship_id: str,
        approval_url: str,
        ends_unapproved_at: datetime | None = None,
    ) -> Activity:
        """A request that waited on Microsoft was created at last: from now it waits for the
        customer (so its reminders count from now)."""
        self._require_open()
        gdap = self.gdap
        if self.gdap_status is not GdapStatus.IN_PROGRESS or gdap is None or gdap.relationship_id:
            raise NotAllowed(f"There is no GDAP request of {self.name} waiting for Microsoft.")
        gdap.relationship_id, gdap.approval_url = relationship_id, approval_url
        gdap.ends_unapproved_at = ends_unapproved_at
        gdap.waiting = None
        self.gdap_started_at = at
        return self._gdap_sent(at, SYSTEM_ACTOR)

    def _start_gdap(self, at: datetime, request: GdapRequest) -> None:
        self.require(Change.REQUEST_GDAP)
        self.gdap_status = GdapStatus.IN_PROGRESS
        self.gdap_started_at = at
        self.gdap = request
        self._refresh_failure()

    def _gdap_sent(self, at: datetime, actor: Actor) -> Activity:
        request = self.gdap
        assert request is not None
        extend = (
            f"auto-extends by {GDAP_AUTO_EXTEND_DAYS} days"
            if request.auto_extend
            else "no auto-extend (Global Administrator selected)"
        )
        return self._activity(
            at,
            actor,
            ActivityKind.GDAP_REQUESTED,
            f'GDAP request "{request.relationship_name}" sent: {request.duration_days} days, '
            f"{len(request.role_ids)} roles, {extend}.",
            Step.GDAP,
            relationship_id=request.relationship_id,
        )

    def approve_gdap(self, at: datetime, actor: Actor, ends_at: datetime | None) -> Activity:
        self._require_open()
        if self.gdap_status is not GdapStatus.IN_PROGRESS or self.gdap is None:
            raise NotAllowed(f"There is no GDAP request in progress for {self.name}.")
        self.gdap_status = GdapStatus.ESTABLISHED
        self.gdap.ends_at = ends_at
        return self._activity(
            at,
            actor,
            ActivityKind.GDAP_ESTABLISHED,
            "GDAP access Established: the customer approved the request.",
            Step.GDAP,
        )

    def extend_gdap(self, at: datetime, actor: Actor, ends_at: datetime) -> Activity:
        """Microsoft moved the end of an Established relationship later: auto-extension (or
        the customer's own extension) is recorded, and its new end is the one watched."""
        self._require_open()
        gdap = self.gdap
        if self.gdap_status is not GdapStatus.ESTABLISHED or gdap is None:
            raise NotAllowed(f"GDAP access for {self.name} is {self.gdap_status}, not Established.")
        previous = gdap.ends_at
        if previous is not None and ends_at <= previous:
            raise NotAllowed(
                f"The GDAP relationship of {self.name} already ends {previous:%d %b %Y}."
            )
        gdap.ends_at = ends_at
        days = (ends_at - previous).days if previous else None
        how = (
            f"auto-extended by {days} days" if gdap.auto_extend and days is not None else "extended"
        )
        return self._activity(
            at,
            actor,
            ActivityKind.GDAP_EXTENDED,
            f"GDAP relationship {how}, now ends {ends_at:%d %b %Y}.",
            Step.GDAP,
            ends_at=ends_at.isoformat(),
            previous_end=previous.isoformat() if previous else None,
        )

    def expire_gdap(self, at: datetime, actor: Actor) -> Activity:
        self._require_open()
        if self.gdap_status is not GdapStatus.ESTABLISHED:
            raise NotAllowed(f"GDAP access for {self.name} is {self.gdap_status}, not Established.")
        self.gdap_status = GdapStatus.EXPIRED
        self._refresh_failure()
        return self._activity(
            at,
            actor,
            ActivityKind.GDAP_EXPIRED,
            "GDAP access Expired: the admin relationship has ended.",
            Step.GDAP,
        )

    def fail_gdap(self, at: datetime, actor: Actor, reason: str) -> Activity:
        self._require_open()
        if self.gdap_status not in (GdapStatus.IN_PROGRESS, GdapStatus.ESTABLISHED):
            raise NotAllowed(f"GDAP access for {self.name} is {self.gdap_status}.")
        self.gdap_status = GdapStatus.FAILED
        self._refresh_failure(reason)
        return self._activity(
            at,
            actor,
            ActivityKind.GDAP_FAILED,
            f"GDAP access Failed: {reason}",
            Step.GDAP,
            reason=reason,
        )

    def start_hub(self, at: datetime, actor: Actor) -> Activity:
        self.require(Change.START_HUB)
        self.hub_status = HubStatus.IN_PROGRESS
        self.hub_started_at = at
        return self._activity(
            at,
            actor,
            ActivityKind.HUB_STARTED,
            "MSP Hub access In Progress: customer sent to the hub.",
            Step.HUB,
        )

    def complete_hub(self, at: datetime, actor: Actor, hub_customer_id: str) -> Activity:
        self._require_open()
        if self.hub_status is not HubStatus.IN_PROGRESS:
            raise NotAllowed(
                f"MSP Hub access for {self.name} is {self.hub_status}, not In Progress."
            )
        self.hub_status = HubStatus.COMPLETED
        self.hub_customer_id = hub_customer_id
        return self._activity(
            at,
            actor,
            ActivityKind.HUB_COMPLETED,
            "MSP Hub access Completed: the hub confirmed the customer.",
            Step.HUB,
            hub_customer_id=hub_customer_id,
        )

    def initiate_p2p(self, at: datetime, actor: Actor, transfer: P2PTransfer) -> Activity:
        """Partner Center created the transfer (`transfer.transfer_id`, and its own expiry
        when it gives one): it waits for the current partner."""
        self._start_p2p(at, transfer)
        return self._p2p_sent(at, actor)

    def keep_p2p_request(
        self, at: datetime, actor: Actor, transfer: P2PTransfer, reason: str, retry_at: datetime
    ) -> Activity:
        """Microsoft did not answer: the transfer request is kept, Pending, and sent again at
        `retry_at`."""
        self._start_p2p(at, transfer)
        transfer.waiting = reason or "no answer"
        return self._activity(
            at,
            actor,
            ActivityKind.P2P_WAITING,
            f"P2P transfer request to {transfer.partner_name} kept: Microsoft did not answer "
            f"({reason}). It is sent again automatically from {retry_at:%H:%M} UTC.",
            Step.P2P,
            reason=reason,
            retry_at=retry_at.isoformat(),
        )

    def refuse_p2p(
        self, at: datetime, actor: Actor, transfer: P2PTransfer, reason: str
    ) -> Activity:
        """Partner Center refused the transfer for good (when it was asked, or when it was
        sent again): the step is Failed with its reason."""
        if self.p2p is not transfer:
            self._start_p2p(at, transfer)
        return self.fail_p2p(at, actor, f"Microsoft refused the transfer request: {reason}")

    def p2p_created(self, at: datetime, transfer_id: str, expires_at: datetime | None) -> Activity:
        """A transfer that waited on Microsoft was created at last: its time runs from now."""
        self._require_pending_p2p()
        p2p = self.p2p
        if p2p is None or p2p.transfer_id:
            raise NotAllowed(f"There is no P2P transfer of {self.name} waiting for Microsoft.")
        p2p.transfer_id, p2p.microsoft_expires_at = transfer_id, expires_at
        p2p.waiting = None
        p2p.sent_at = self.p2p_started_at = at
        return self._p2p_sent(at, SYSTEM_ACTOR)

    def _start_p2p(self, at: datetime, transfer: P2PTransfer) -> None:
        self.require(Change.INITIATE_P2P)
        transfer.sent_at = at
        self.p2p = transfer
        self.p2p_status = P2PStatus.PENDING
        self.p2p_started_at = at
        self._refresh_failure()

    def _p2p_sent(self, at: datetime, actor: Actor) -> Activity:
        transfer = self.p2p
        assert transfer is not None
        expires = (
            f"Partner Center ends it on {transfer.microsoft_expires_at:%d %b %Y}"
            if transfer.microsoft_expires_at
            else f"it expires in {P2P_LIFETIME.days} days"
        )
        return self._activity(
            at,
            actor,
            ActivityKind.P2P_PENDING,
            f"P2P transfer Pending: request sent to {transfer.partner_name} "
            f"<{transfer.partner_email}>; {expires}.",
            Step.P2P,
            transfer_id=transfer.transfer_id,
        )

    def cancel_p2p(self, at: datetime, actor: Actor) -> Activity:
        """Cancel a pending transfer, or drop one that expired or failed so the onboarding can
        complete without it."""
        self.require(Change.CANCEL_P2P)
        was = self.p2p_status
        self.p2p_status = P2PStatus.CANCELLED
        self._refresh_failure()
        return self._activity(
            at,
            actor,
            ActivityKind.P2P_CANCELLED,
            f"P2P transfer Cancelled (it was {was}).",
            Step.P2P,
        )

    def _require_pending_p2p(self) -> None:
        self._require_open()
        if self.p2p_status is not P2PStatus.PENDING:
            raise NotAllowed(f"The P2P transfer for {self.name} is {self.p2p_status}, not Pending.")

    def complete_p2p(self, at: datetime, actor: Actor) -> Activity:
        self._require_pending_p2p()
        self.p2p_status = P2PStatus.COMPLETED
        return self._activity(
            at,
            actor,
            ActivityKind.P2P_COMPLETED,
            "P2P transfer Completed: the current partner accepted.",
            Step.P2P,
        )

    def expire_p2p(self, at: datetime, actor: Actor) -> Activity:
        self._require_pending_p2p()
        self.p2p_status = P2PStatus.EXPIRED
        self._refresh_failure()
        by_microsoft = self.p2p is not None and self.p2p.microsoft_expires_at is not None
        return self._activity(
            at,
            actor,
            ActivityKind.P2P_EXPIRED,
            "P2P transfer Expired: no action before Partner Center's expiry."
            if by_microsoft
            else f"P2P transfer Expired: no action within {P2P_LIFETIME.days} days.",
            Step.P2P,
        )

    def fail_p2p(self, at: datetime, actor: Actor, reason: str) -> Activity:
        self._require_pending_p2p()
        self.p2p_status = P2PStatus.FAILED
        self._refresh_failure(reason)
        return self._activity(
            at,
            actor,
            ActivityKind.P2P_FAILED,
            f"P2P transfer Failed: {reason}",
            Step.P2P,
            reason=reason,
        )

    def record_reminder(
        self,
        at: datetime,
        actor: Actor,
        step: Step,
        recipient: str,
        automatic_slot: int | None = None,
    ) -> Activity:
        """A reminder mail for a waiting step; manual ones do not shift the automatic slots."""
        self.require(Change.REMIND, step)
        if automatic_slot is None:
            message = f"Reminder email for {STEP_TITLES[step]} sent to {recipient}."
        else:
            message = (
                f"{ordinal(automatic_slot)} of {len(REMINDER_DELAYS)} reminders sent to "
                f"{recipient} ({STEP_TITLES[step]})."
            )
        return self._activity(
            at,
            actor,
            ActivityKind.REMINDER_SENT,
            message,
            step,
            recipient=recipient,
            slot=automatic_slot,
        )

    def edit(self, at: datetime, actor: Actor, changes: dict[str, str]) -> Activity:
        """Corrects the enrollment (`changes`: field → new value, already validated). The
        name and email may change until the onboarding is closed; the domain and country
        only while the tenant is not bound (reseller In Progress), and a new domain forgets
        the tenant found for the old one. A new email restarts each waiting step whose mail
        goes to the customer: it waits at the new address from now, with fresh reminders."""
        self.require(Change.EDIT)
        if changes.keys() & {"domain", "country"}:
            self.require(Change.EDIT_TENANT)
        old = {f: str(getattr(self, f)) for f in changes}
        for name, value in changes.items():
            setattr(self, name, value)
        if "domain" in changes:
            self.customer_tenant_id = None
            self.tenant_checked_at = None
        restarted: list[Step] = []
        if "email" in changes:
            for step in self.waiting_steps():
                if step is Step.RESELLER:
                    self.reseller_started_at = at
                elif step is Step.GDAP and self.gdap and self.gdap.approval_url:
                    self.gdap_started_at = at
                else:
                    continue  # P2P mail goes to the current partner; a GDAP request not at
                    # Microsoft yet is mailed, to the address of the day, once it is there
                restarted.append(step)
        said = "; ".join(
            f'{labels.ENROLL[f]} "{old[f]}" → "{changes[f]}"' for f in EDITABLE if f in changes
        )
        message = f"Corrected {said}."
        if restarted:
            mails = " and ".join(RESENT[s] for s in restarted)
            message += f" {mails} sent again to {self.email}; reminders start again."
        return self._activity(
            at,
            actor,
            ActivityKind.EDITED,
            message,
            None,
            changes={f: {"old": old[f], "new": changes[f]} for f in changes},
            restarted=[s.value for s in restarted],
        )

    def finish(self, at: datetime, actor: Actor) -> Activity:
        self.require(Change.FINISH)
        self.lifecycle = Lifecycle.FINISHED
        self.closed_at = at
        return self._activity(
            at,
            actor,
            ActivityKind.FINISHED,
            "Onboarding finished: the customer was removed from onboarding.",
        )

    def cancel(self, at: datetime, actor: Actor) -> Activity:
        self.require(Change.CANCEL)
        self.lifecycle = Lifecycle.CANCELLED
        self.closed_at = at
        if self.p2p_status is P2PStatus.PENDING:
            self.p2p_status = P2PStatus.CANCELLED
        return self._activity(
            at,
            actor,
            ActivityKind.CANCELLED,
            "Onboarding cancelled: the customer was removed from onboarding.",
        )

    def step_done(self, step: Step) -> bool:
        return {
            Step.RESELLER: self.reseller_status is ResellerStatus.ESTABLISHED,
            Step.GDAP: self.gdap_status is GdapStatus.ESTABLISHED,
            Step.HUB: self.hub_status is HubStatus.COMPLETED,
            Step.P2P: self.p2p_status
            in (P2PStatus.NOT_STARTED, P2PStatus.COMPLETED, P2PStatus.CANCELLED),
        }[step]

    def _refresh_failure(self, reason: str | None = None) -> None:
        """Keep `failure_reason` true to the steps: set while Failed, cleared when recovered."""
        if self.overall_status is not OverallStatus.FAILED:
            self.failure_reason = None
        elif reason:
            self.failure_reason = reason
        elif self.gdap_status is GdapStatus.EXPIRED:
            self.failure_reason = "GDAP relationship expired."
        elif self.p2p_status is P2PStatus.EXPIRED:
            self.failure_reason = (
                "P2P transfer expired without action before Partner Center's expiry."
                if self.p2p is not None and self.p2p.microsoft_expires_at is not None
                else f"P2P transfer expired after {P2P_LIFETIME.days} days without action."
            )


def new_onboarding(
    details: CustomerDetails,
    at: datetime,
    actor: Actor,
    bulk_import_id: str | None = None,
    *,
    bulk_row: int | None = None,
    listed_at: datetime | None = None,
    onboarding_id: str | None = None,
) -> tuple[Onboarding, Activity]:
    """Enrollment: the reseller invitation goes out, so that step starts In Progress."""
    onboarding = Onboarding(
        id=onboarding_id or ids.onboarding_id(),
        name=details.name,
        email=details.email,
        domain=details.domain,
        country=details.country,
        enrolled_at=at,
        enrolled_by=actor.label,
        reseller_started_at=at,
        bulk_import_id=bulk_import_id,
        bulk_row=bulk_row,
        listed_at=listed_at,
    )
    activity = onboarding._activity(
        at,
        actor,
        ActivityKind.ENROLLED,
        f"Enrolled {details.name} ({details.domain}); reseller invitation sent to "
        f"{details.email}. Reseller Relationship In Progress.",
        Step.RESELLER,
    )
    return onboarding, activity
