"""Following Microsoft: what its answers mean for each step (a pure function), and the use
case that asks it about one onboarding and applies what changed.

Webhooks, the scheduler and the sandbox all end here, so a status only ever changes because
Microsoft said so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from bot.activity import SYSTEM_ACTOR, Activity, ActivityKind
from bot.domain import (
    GDAP_UNAPPROVED_LIFETIME,
    GdapStatus,
    Onboarding,
    P2PStatus,
    ResellerStatus,
    Step,
)
from bot.errors import ProviderError
from bot.group_access import AccessAnswer, apply_access, needs_asking, pending_access
from bot.history import record
from bot.ports import UnitOfWork
from bot.records import (
    AccessAssignment,
    CustomerProfile,
    GdapRelationship,
    GdapState,
    MicrosoftEvent,
    MicrosoftEventKind,
    Transfer,
    TransferState,
)
from bot.schedule import access_poll_interval, access_timer, p2p_expiry_timer
from bot.tenants import resolve_tenant
from bot.wiring import Wiring

log = logging.getLogger(__name__)

UNRESOLVED_PER_EVENT = 20  # onboardings without a tenant refreshed for an unknown customer


def microsoft_transitions(
    ob: Onboarding,
    now: datetime,
    profile: CustomerProfile | None,
    rel: GdapRelationship | None,
    transfer: Transfer | None,
) -> Iterator[Activity]:
    """Applies to `ob` what Microsoft reports, one transition at a time (each yields the
    activity that records it). Pure: the same answers on the same onboarding give the same
    changes, so it is tested beside the domain."""
    if profile and ob.reseller_status is ResellerStatus.IN_PROGRESS:
        yield ob.accept_reseller(now, SYSTEM_ACTOR, profile.tenant_id)
    if rel and ob.gdap and ob.gdap.relationship_id == rel.id:
        if ob.gdap_status is GdapStatus.IN_PROGRESS:
            if rel.state is GdapState.ACTIVE:
                yield ob.approve_gdap(now, SYSTEM_ACTOR, rel.ends_at)
            elif rel.state is GdapState.EXPIRED:
                yield ob.fail_gdap(
                    now,
                    SYSTEM_ACTOR,
                    f"the customer did not approve the request within "
                    f"{GDAP_UNAPPROVED_LIFETIME.days} days, so Microsoft ended it",
                )
            elif rel.state is GdapState.TERMINATED:
                yield ob.fail_gdap(
                    now,
                    SYSTEM_ACTOR,
                    _reason(rel.detail, "the request was rejected or terminated"),
                )
        elif ob.gdap_status is GdapStatus.ESTABLISHED:
            if rel.state is GdapState.EXPIRED:
                yield ob.expire_gdap(now, SYSTEM_ACTOR)
            elif rel.state is GdapState.TERMINATED:
                yield ob.fail_gdap(
                    now,
                    SYSTEM_ACTOR,
                    _reason(rel.detail, "the admin relationship was terminated"),
                )
            elif rel.ends_at and (ob.gdap.ends_at is None or rel.ends_at > ob.gdap.ends_at):
                yield ob.extend_gdap(now, SYSTEM_ACTOR, rel.ends_at)
    if ob.p2p_status is P2PStatus.PENDING:
        if transfer and transfer.state is TransferState.COMPLETED:
            yield ob.complete_p2p(now, SYSTEM_ACTOR)
        elif transfer and transfer.state is TransferState.FAILED:
            yield ob.fail_p2p(
                now, SYSTEM_ACTOR, transfer.detail or "the current partner declined the transfer"
            )
        elif transfer and transfer.state is TransferState.CANCELLED:
            yield ob.cancel_p2p(now, SYSTEM_ACTOR)
        elif ob.p2p and ob.p2p.expires_at and now >= ob.p2p.expires_at:
            yield ob.expire_p2p(now, SYSTEM_ACTOR)


@dataclass
class MicrosoftSync:
    wiring: Wiring

    def refresh(self, onboarding_id: str) -> list[Activity]:
        """Asks Microsoft where each step that depends on it stands and applies what changed;
        returns the activities written. Microsoft is asked outside any transaction, then the
        onboarding is re-read under its lock, so a slow answer holds no lock."""
        w = self.wiring
        with w.store.transaction() as uow:
            ob = uow.onboardings.get(onboarding_id)
        if ob is None or not ob.is_open:
            return []
        now = w.clock.now()
        ms = w.microsoft
        tenant = resolve_tenant(w, ob.domain) if ob.customer_tenant_id is None else None
        tenant_id = ob.customer_tenant_id or (tenant.tenant_id if tenant else None)
        no_tenant = tenant is not None and tenant.tenant_id is None  # none can have accepted
        profile = (
            ms.find_customer(ob.domain, tenant_id)
            if ob.reseller_status is ResellerStatus.IN_PROGRESS and not no_tenant
            else None
        )
        rel = (
            ms.get_gdap_relationship(ob.gdap.relationship_id)
            if ob.gdap
            and ob.gdap.relationship_id
            and ob.gdap_status in (GdapStatus.IN_PROGRESS, GdapStatus.ESTABLISHED)
            else None
        )
        transfer = (
            ms.get_transfer(ob.customer_tenant_id, ob.p2p.transfer_id)
            if ob.p2p
            and ob.p2p.transfer_id
            and ob.customer_tenant_id
            and ob.p2p_status is P2PStatus.PENDING
            else None
        )
        access = (
            self._ask_access(ob, rel.id)
            if rel is not None and rel.state is GdapState.ACTIVE
            else []
        )
        written: list[Activity] = []
        with w.store.transaction() as uow:
            ob = uow.onboardings.get(onboarding_id, for_update=True)
            if ob is None or not ob.is_open:
                return []
            changed = False
            if tenant is not None:
                changed, found = tenant.apply(ob)
                if found is not None:
                    record(uow, ob, found, w.sync_after)
                    written.append(found)
            for activity in microsoft_transitions(ob, now, profile, rel, transfer):
                record(uow, ob, activity, w.sync_after)
                written.append(activity)
                if activity.kind is ActivityKind.P2P_EXPIRED:
                    written += self._withdraw_expired(uow, ob, now)
            for activity in apply_access(ob, now, access):
                record(uow, ob, activity, w.sync_after)
                written.append(activity)
            changed = changed or bool(access)
            if rel is not None and _new_lapse(ob, rel):
                changed = True
            if transfer is not None and _new_expiry(ob, transfer):
                uow.timers.schedule(p2p_expiry_timer(ob))
                changed = True
            still = pending_access(ob)
            if still and ob.gdap and ob.gdap.relationship_id:
                waited = now - min(a.since or now for a in still)
                due = now + access_poll_interval(waited)
                uow.timers.schedule([access_timer(ob.id, ob.gdap.relationship_id, due)])
            if written or changed:
                uow.onboardings.save(ob)
        return written

    def _withdraw_expired(self, uow: UnitOfWork, ob: Onboarding, now: datetime) -> list[Activity]:
        """The product's 30 days ended a transfer Partner Center would keep open: it is
        withdrawn there too, so the current partner cannot accept it after the card says
        Expired. Microsoft's own expiry needs nothing: Partner Center ended it."""
        p2p, tenant_id = ob.p2p, ob.customer_tenant_id
        if p2p is None or p2p.microsoft_expires_at or not p2p.transfer_id or not tenant_id:
            return []
        try:
            self.wiring.microsoft.cancel_transfer(tenant_id, p2p.transfer_id)
        except ProviderError as err:
            failed = ob.note(
                now,
                SYSTEM_ACTOR,
                ActivityKind.P2P_CANCEL_FAILED,
                f"Could not withdraw the expired transfer at Microsoft: {err}. "
                "Cancel it in Partner Center.",
                Step.P2P,
            )
            record(uow, ob, failed, self.wiring.sync_after)
            return [failed]
        return []

    def _ask_access(self, ob: Onboarding, relationship_id: str) -> list[AccessAnswer]:
        """Gives each mapped group its roles, or reads again the assignments still pending;
        a refusal is kept as the answer (permanent: that group failed; else asked again)."""
        ms = self.wiring.microsoft
        known = {a.group_id: a for a in ob.gdap.assignments} if ob.gdap else {}
        answers = []
        for group, roles in needs_asking(ob, self.wiring.role_groups):
            existing = known.get(group)
            reply: AccessAssignment | ProviderError
            try:
                if existing is not None and existing.assignment_id:
                    reply = ms.get_access_assignment(relationship_id, existing.assignment_id)
                else:
                    reply = ms.assign_access(relationship_id, group, roles)
            except ProviderError as err:
                reply = err
            answers.append(AccessAnswer(group, roles, reply))
        return answers

    def on_event(self, event: MicrosoftEvent) -> list[Activity]:
        """A verified webhook: refreshes every open onboarding it concerns, found by the ids
        it names, and returns what changed. Microsoft is asked, never the event believed, so
        an unknown id changes nothing and the same event twice changes nothing the second
        time. One onboarding Microsoft cannot answer for now is left to the fallback sync;
        the others are still refreshed."""
        with self.wiring.store.transaction() as uow:
            concerned = uow.onboardings.open_by_microsoft_ids(
                tenant_id=event.tenant_id,
                relationship_id=event.relationship_id,
                transfer_id=event.transfer_id,
            )
            if not concerned and event.kind is MicrosoftEventKind.CUSTOMER and event.tenant_id:
                # A tenant nobody here knows: perhaps one that did not exist (or could not
                # be looked up) at enrollment, so its onboarding has no tenant yet.
                concerned = uow.onboardings.open_without_tenant(UNRESOLVED_PER_EVENT)
        written: list[Activity] = []
        for ob in concerned:
            try:
                written += self.refresh(ob.id)
            except ProviderError as err:
                log.warning(
                    "%s event for onboarding %s: Microsoft did not answer (%s); "
                    "the fallback sync asks again",
                    event.kind,
                    ob.id,
                    err,
                )
        return written


def _reason(detail: str, default: str) -> str:
    """Microsoft's detail when it is a sentence; a bare status word ("terminated") is kept
    beside the bot's own words only when they do not say it already."""
    detail = detail.strip()
    if " " in detail:
        return detail
    if detail and detail.lower() not in default:
        return f"{default} (Microsoft: {detail})"
    return default


def _new_lapse(ob: Onboarding, rel: GdapRelationship) -> bool:
    """Microsoft says (or moves) when it ends the request if nobody approves it."""
    gdap = ob.gdap
    if (
        gdap is None
        or ob.gdap_status is not GdapStatus.IN_PROGRESS
        or gdap.relationship_id != rel.id
        or rel.ends_unapproved_at is None
        or rel.ends_unapproved_at == gdap.ends_unapproved_at
    ):
        return False
    gdap.ends_unapproved_at = rel.ends_unapproved_at
    return True


def _new_expiry(ob: Onboarding, transfer: Transfer) -> bool:
    """Partner Center gives (or moves) the expiry of a pending transfer: it replaces the
    one kept, so the expiry timer is set anew."""
    p2p = ob.p2p
    if (
        p2p is None
        or ob.p2p_status is not P2PStatus.PENDING
        or transfer.expires_at is None
        or transfer.expires_at == p2p.microsoft_expires_at
    ):
        return False
    p2p.microsoft_expires_at = transfer.expires_at
    return True
