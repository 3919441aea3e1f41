"""Rows to the dataclasses of `bot/` and back: the only place that knows both shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row

from bot.domain import (
    AccessState,
    Activity,
    ActivityKind,
    Actor,
    GdapRequest,
    GdapStatus,
    GroupAccess,
    HubStatus,
    Lifecycle,
    Onboarding,
    P2PStatus,
    P2PTransfer,
    ResellerStatus,
    Step,
)
from bot.records import (
    BulkImport,
    BulkRow,
    BulkState,
    Delivery,
    DeliveryState,
    DigestFrequency,
    DigestSubscription,
    KnownPartner,
    NoticeLevel,
    RowError,
    Subscription,
    Timer,
    TimerKind,
    TimerState,
)


def onboarding_values(ob: Onboarding) -> dict[str, Any]:
    """Every column but `version`, which only the repository moves."""
    gdap, p2p = ob.gdap, ob.p2p
    return {
        "id": ob.id,
        "name": ob.name,
        "email": ob.email,
        "domain": ob.domain,
        "country": ob.country,
        "enrolled_at": ob.enrolled_at,
        "enrolled_by": ob.enrolled_by,
        "reseller_status": ob.reseller_status.value,
        "reseller_started_at": ob.reseller_started_at,
        "customer_tenant_id": ob.customer_tenant_id,
        "tenant_checked_at": ob.tenant_checked_at,
        "gdap_status": ob.gdap_status.value,
        "gdap_started_at": ob.gdap_started_at,
        "gdap_relationship_name": gdap.relationship_name if gdap else None,
        "gdap_duration_days": gdap.duration_days if gdap else None,
        "gdap_role_ids": list(gdap.role_ids) if gdap else None,
        "gdap_relationship_id": gdap.relationship_id if gdap else None,
        "gdap_approval_url": gdap.approval_url if gdap else None,
        "gdap_ends_at": gdap.ends_at if gdap else None,
        "gdap_waiting": gdap.waiting if gdap else None,
        "gdap_ends_unapproved_at": gdap.ends_unapproved_at if gdap else None,
        "gdap_assignments": [_group_access_values(a) for a in gdap.assignments] if gdap else None,
        "hub_status": ob.hub_status.value,
        "hub_started_at": ob.hub_started_at,
        "hub_customer_id": ob.hub_customer_id,
        "p2p_status": ob.p2p_status.value,
        "p2p_started_at": ob.p2p_started_at,
        "p2p_partner_name": p2p.partner_name if p2p else None,
        "p2p_partner_tenant_id": p2p.partner_tenant_id if p2p else None,
        "p2p_partner_email": p2p.partner_email if p2p else None,
        "p2p_transfer_id": p2p.transfer_id if p2p else None,
        "p2p_sent_at": p2p.sent_at if p2p else None,
        "p2p_expires_at": p2p.microsoft_expires_at if p2p else None,
        "p2p_waiting": p2p.waiting if p2p else None,
        "failure_reason": ob.failure_reason,
        "overall_status": ob.overall_status.value,
        "lifecycle": ob.lifecycle.value,
        "closed_at": ob.closed_at,
        "bulk_import_id": ob.bulk_import_id,
        "bulk_row": ob.bulk_row,
        "listed_at": ob.listed_at or ob.enrolled_at,
    }


def to_onboarding(row: Row[Any]) -> Onboarding:
    gdap = None
    if row.gdap_relationship_name is not None:
        gdap = GdapRequest(
            row.gdap_relationship_name,
            row.gdap_duration_days,
            list(row.gdap_role_ids or []),
            row.gdap_relationship_id,
            row.gdap_approval_url,
            row.gdap_ends_at,
            row.gdap_waiting,
            row.gdap_ends_unapproved_at,
            [_group_access(a) for a in row.gdap_assignments or []],
        )
    p2p = None
    if row.p2p_partner_name is not None:
        p2p = P2PTransfer(
            row.p2p_partner_name,
            row.p2p_partner_tenant_id,
            row.p2p_partner_email,
            row.p2p_transfer_id,
            row.p2p_sent_at,
            row.p2p_expires_at,
            row.p2p_waiting,
        )
    return Onboarding(
        id=row.id,
        name=row.name,
        email=row.email,
        domain=row.domain,
        country=row.country,
        enrolled_at=row.enrolled_at,
        enrolled_by=row.enrolled_by,
        reseller_status=ResellerStatus(row.reseller_status),
        reseller_started_at=row.reseller_started_at,
        customer_tenant_id=row.customer_tenant_id,
        tenant_checked_at=row.tenant_checked_at,
        gdap_status=GdapStatus(row.gdap_status),
        gdap_started_at=row.gdap_started_at,
        gdap=gdap,
        hub_status=HubStatus(row.hub_status),
        hub_started_at=row.hub_started_at,
        hub_customer_id=row.hub_customer_id,
        p2p_status=P2PStatus(row.p2p_status),
        p2p_started_at=row.p2p_started_at,
        p2p=p2p,
        failure_reason=row.failure_reason,
        lifecycle=Lifecycle(row.lifecycle),
        closed_at=row.closed_at,
        bulk_import_id=row.bulk_import_id,
        bulk_row=row.bulk_row,
        listed_at=row.listed_at,
        version=row.version,
    )


def _group_access_values(access: GroupAccess) -> dict[str, Any]:
    return {
        "group_id": access.group_id,
        "role_ids": list(access.role_ids),
        "state": access.state.value,
        "assignment_id": access.assignment_id,
        "detail": access.detail,
        "since": access.since.isoformat() if access.since else None,
    }


def _group_access(data: dict[str, Any]) -> GroupAccess:
    return GroupAccess(
        data["group_id"],
        list(data.get("role_ids") or []),
        AccessState(data.get("state") or AccessState.WAITING.value),
        data.get("assignment_id"),
        data.get("detail") or "",
        datetime.fromisoformat(data["since"]) if data.get("since") else None,
    )


def activity_values(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.id,
        "onboarding_id": activity.onboarding_id,
        "at": activity.at,
        "actor_id": activity.actor.id,
        "actor_name": activity.actor.name,
        "actor_platform": activity.actor.platform,
        "kind": activity.kind,
        "step": activity.step.value if activity.step else None,
        "message": activity.message,
        "details": dict(activity.details),
    }


def to_activity(row: Row[Any]) -> Activity:
    return Activity(
        row.onboarding_id,
        row.at,
        Actor(row.actor_id, row.actor_name, row.actor_platform),
        ActivityKind(row.kind),
        row.message,
        Step(row.step) if row.step else None,
        dict(row.details or {}),
        id=row.id,
    )


def _row_error(data: dict[str, Any]) -> RowError:
    return RowError(data["row"], data["column"], data["reason"])


def row_error_values(error: RowError) -> dict[str, Any]:
    return {"row": error.row, "column": error.column, "reason": error.reason}


def bulk_values(bulk: BulkImport) -> dict[str, Any]:
    return {
        "id": bulk.id,
        "created_at": bulk.created_at,
        "created_by": bulk.created_by,
        "filename": bulk.filename,
        "total_rows": bulk.total_rows,
        "state": bulk.state.value,
        "valid_rows": [
            {
                "row": r.row,
                "name": r.name,
                "email": r.email,
                "domain": r.domain,
                "country": r.country,
            }
            for r in bulk.valid_rows
        ],
        "errors": [row_error_values(e) for e in bulk.errors],
        "enrolled": list(bulk.enrolled),
        "failed": [row_error_values(e) for e in bulk.failed],
        "confirmed_by": actor_values(bulk.confirmed_by) if bulk.confirmed_by else None,
        "lease_until": bulk.lease_until,
    }


def to_bulk(row: Row[Any]) -> BulkImport:
    return BulkImport(
        id=row.id,
        created_at=row.created_at,
        created_by=row.created_by,
        filename=row.filename,
        total_rows=row.total_rows,
        valid_rows=[
            BulkRow(r["row"], r["name"], r["email"], r["domain"], r["country"])
            for r in row.valid_rows
        ],
        errors=[_row_error(e) for e in row.errors],
        state=BulkState(row.state),
        enrolled=list(row.enrolled),
        failed=[_row_error(e) for e in row.failed],
        confirmed_by=_actor(row.confirmed_by) if row.confirmed_by else None,
        lease_until=row.lease_until,
    )


def actor_values(actor: Actor) -> dict[str, str]:
    return {"id": actor.id, "name": actor.name, "platform": actor.platform}


def _actor(data: dict[str, Any]) -> Actor:
    return Actor(str(data["id"]), str(data["name"]), str(data.get("platform", "console")))


def to_delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        key=row.key,
        channel=row.channel,
        payload=dict(row.payload),
        created_at=row.created_at,
        onboarding_id=row.onboarding_id,
        id=row.id,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        last_error=row.last_error,
    )


def to_partner(row: Row[Any]) -> KnownPartner:
    return KnownPartner(row.tenant_id, row.name, row.email)


def subscription_values(subscription: Subscription) -> dict[str, Any]:
    return {
        "platform": subscription.platform,
        "destination": subscription.destination,
        "level": subscription.level.value,
        "label": subscription.label,
        "created_by": subscription.created_by,
        "created_at": subscription.created_at,
    }


def to_subscription(row: Row[Any]) -> Subscription:
    return Subscription(
        row.platform,
        row.destination,
        NoticeLevel(row.level),
        row.label,
        row.created_by,
        row.created_at,
    )


def timer_values(timer: Timer) -> dict[str, Any]:
    return {
        "key": timer.key,
        "kind": timer.kind.value,
        "onboarding_id": timer.onboarding_id,
        "step": timer.step,
        "slot": timer.slot,
        "due_at": timer.due_at,
        "state": timer.state.value,
        "attempts": timer.attempts,
    }


def to_timer(row: Row[Any]) -> Timer:
    return Timer(
        key=row.key,
        kind=TimerKind(row.kind),
        due_at=row.due_at,
        onboarding_id=row.onboarding_id,
        step=row.step,
        slot=row.slot,
        id=row.id,
        state=TimerState(row.state),
        attempts=row.attempts,
    )


def digest_values(digest: DigestSubscription) -> dict[str, Any]:
    return {
        "platform": digest.platform,
        "destination": digest.destination,
        "label": digest.label,
        "direct": digest.direct,
        "frequency": digest.frequency.value,
        "weekday": digest.weekday,
        "time": digest.time,
        "timezone": digest.timezone,
        "next_due_at": digest.next_due_at,
        "last_sent_at": digest.last_sent_at,
        "last_counts": dict(digest.last_counts) if digest.last_counts is not None else None,
        "created_by": digest.created_by,
        "created_at": digest.created_at,
    }


def to_digest(row: Row[Any]) -> DigestSubscription:
    return DigestSubscription(
        platform=row.platform,
        destination=row.destination,
        label=row.label,
        direct=bool(row.direct),
        frequency=DigestFrequency(row.frequency),
        time=row.time,
        timezone=row.timezone,
        next_due_at=row.next_due_at,
        created_by=row.created_by,
        created_at=row.created_at,
        weekday=row.weekday,
        last_sent_at=row.last_sent_at,
        last_counts=dict(row.last_counts) if row.last_counts is not None else None,
        id=row.id,
    )
