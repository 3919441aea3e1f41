"""Access assignments: which partner security groups get which of a GDAP relationship's
roles, and what Microsoft's answers about them mean. Pure, tested beside the domain.

Microsoft gives nobody in the partner tenant access through a relationship until its roles
are assigned to security groups (one assignment per group). `GDAP_ROLE_GROUPS` maps role
template ids to group object ids; once the customer approves, each group is given the
approved roles mapped to it, and followed until Microsoft says active or failed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.activity import SYSTEM_ACTOR, Activity, ActivityKind
from bot.domain import AccessState, GdapStatus, GroupAccess, Onboarding, Step
from bot.errors import ProviderError
from bot.gdap_roles import role_names
from bot.records import AccessAssignment, AssignmentState

ROLE_GROUPS_SETTING = "GDAP_ROLE_GROUPS"

STATE_OF: dict[AssignmentState, AccessState] = {
    AssignmentState.PENDING: AccessState.PENDING,
    AssignmentState.ACTIVE: AccessState.ACTIVE,
    AssignmentState.FAILED: AccessState.FAILED,
}


def access_plan(role_ids: list[str], role_groups: Mapping[str, str]) -> dict[str, list[str]]:
    """Group object id -> the approved roles mapped to it, in the order they were approved.
    Role ids compare in any case, as Microsoft's GUIDs do."""
    by_role = {role.lower(): group for role, group in role_groups.items()}
    plan: dict[str, list[str]] = {}
    for role in role_ids:
        group = by_role.get(role.lower())
        if group:
            plan.setdefault(group, []).append(role)
    return plan


def unmapped_roles(role_ids: list[str], role_groups: Mapping[str, str]) -> list[str]:
    """Approved roles no group is given: nobody in the partner tenant can use them."""
    mapped = {role.lower() for role in role_groups}
    return [role for role in role_ids if role.lower() not in mapped]


@dataclass(frozen=True)
class AccessAnswer:
    """What Microsoft said about one group: the assignment, or its refusal."""

    group_id: str
    role_ids: list[str]
    answer: AccessAssignment | ProviderError


def needs_asking(ob: Onboarding, role_groups: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    """Groups to give their roles now (never asked, or Microsoft did not answer last time),
    and the groups whose pending assignment to read again, as (group id, roles)."""
    if ob.gdap is None or ob.gdap_status not in (GdapStatus.IN_PROGRESS, GdapStatus.ESTABLISHED):
        return []
    known = {a.group_id: a for a in ob.gdap.assignments}
    asks = []
    for group, roles in access_plan(ob.gdap.role_ids, role_groups).items():
        existing = known.get(group)
        if existing is None or not existing.settled or _remapped(existing, roles):
            asks.append((group, roles))
    return asks


def _remapped(access: GroupAccess, roles: list[str]) -> bool:
    """A group Microsoft refused whose roles the mapping has changed since: asked again."""
    wanted = sorted(r.lower() for r in roles)
    return (
        access.state is AccessState.FAILED and sorted(r.lower() for r in access.role_ids) != wanted
    )


def apply_access(ob: Onboarding, now: datetime, answers: list[AccessAnswer]) -> Iterator[Activity]:
    """Keeps Microsoft's answers on the relationship's assignments; yields an activity the
    first time a group holds its roles or fails. The same answers again change nothing."""
    gdap = ob.gdap
    if gdap is None or ob.gdap_status is not GdapStatus.ESTABLISHED:
        return
    known = {a.group_id: a for a in gdap.assignments}
    for answer in answers:
        access = known.get(answer.group_id)
        if access is None:
            access = GroupAccess(answer.group_id, list(answer.role_ids), since=now)
            gdap.assignments.append(access)
            known[answer.group_id] = access
        if _remapped(access, answer.role_ids):
            access.role_ids, access.state, access.detail = (
                list(answer.role_ids),
                AccessState.WAITING,
                "",
            )
        if access.settled:
            continue
        reply = answer.answer
        if isinstance(reply, ProviderError):
            if reply.permanent:
                access.state, access.detail = AccessState.FAILED, str(reply)
            else:  # asked again at the next poll
                access.detail = str(reply)
                continue
        else:
            access.assignment_id = reply.id
            access.state, access.detail = STATE_OF[reply.state], reply.detail
            if reply.role_ids:
                access.role_ids = list(reply.role_ids)
        roles = ", ".join(role_names(access.role_ids))
        if access.state is AccessState.ACTIVE:
            yield ob.note(
                now,
                SYSTEM_ACTOR,
                ActivityKind.ACCESS_ACTIVE,
                f"GDAP roles assigned: group {access.group_id} now holds {roles}.",
                Step.GDAP,
            )
        elif access.state is AccessState.FAILED:
            why = f": {access.detail.rstrip('.')}" if access.detail else ""
            yield ob.note(
                now,
                SYSTEM_ACTOR,
                ActivityKind.ACCESS_FAILED,
                f"GDAP roles not assigned to group {access.group_id} ({roles}){why}. "
                f"Check the group in {ROLE_GROUPS_SETTING}.",
                Step.GDAP,
            )


def pending_access(ob: Onboarding) -> list[GroupAccess]:
    """Assignments Microsoft has not settled yet, on an Established relationship."""
    if ob.gdap is None or ob.gdap_status is not GdapStatus.ESTABLISHED:
        return []
    return [a for a in ob.gdap.assignments if not a.settled]
