"""Who may do what: three roles (viewer, operator, admin), the organisations the bot serves,
and the `access` command. Use cases ask here before they change anything, so every front end
obeys the same rules; the console is its operator's own machine and acts as a local admin."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from bot.activity import SYSTEM, Actor
from bot.errors import NotAllowed, ValidationError
from bot.ports import Clock, Store
from bot.records import AccessEntry, Grant, Role

OTHER_ORGANISATION = (
    "This bot serves another organisation: nothing here is shown or changed for your "
    "workspace or tenant."
)


MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")


def identity_named(who: str, actor: Actor) -> str:
    """A Slack mention (`<@U123>` or `<@U123|name>`) names a person of the actor's own
    workspace; anyone else is written out as slack:TEAM:USER or teams:TENANT:OBJECTID."""
    mention = MENTION.fullmatch(who.strip())
    if mention and actor.platform == "slack":
        return f"slack:{actor.workspace}:{mention.group(1)}"
    return who


def parse_identity(text: str) -> str:
    """`slack:TEAM:USER` or `teams:TENANT:OBJECTID` as typed (any case for the platform)."""
    parts = text.strip().split(":")
    if len(parts) != 3 or parts[0].lower() not in ("slack", "teams") or not all(parts[1:]):
        raise ValidationError(
            f'"{text[:80]}" is not someone the bot knows how to name: use a Slack mention '
            "(@name), slack:TEAM:USER or teams:TENANT:OBJECTID."
        )
    platform, workspace, user = parts
    if platform.lower() == "slack":
        return f"slack:{workspace.upper()}:{user.upper()}"
    return f"teams:{workspace.lower()}:{user.lower()}"


@dataclass
class AccessControl:
    store: Store
    clock: Clock
    bootstrap_admins: frozenset[str] = frozenset()  # identities from BOT_ADMINS
    organisations: dict[str, frozenset[str]] = field(default_factory=dict)  # platform → ids

    # -- who is who --------------------------------------------------------------------

    def serves(self, actor: Actor) -> bool:
        """Whether the bot serves the actor's workspace or tenant; a platform without a
        configured list (local clients, the console) is served."""
        allowed = self.organisations.get(actor.platform)
        if not allowed or actor.platform not in ("slack", "teams"):
            return True
        served = {a.lower() for a in allowed}
        return actor.workspace.lower() in served or (
            bool(actor.enterprise) and actor.enterprise.lower() in served
        )

    def role_of(self, actor: Actor) -> Role:
        if actor.id == SYSTEM or actor.platform == "console":
            return Role.ADMIN
        if not self.serves(actor):
            return Role.VIEWER  # and `require` refuses even viewing work
        if actor.identity in self.bootstrap_admins:
            return Role.ADMIN
        with self.store.transaction() as uow:
            grant = uow.access.get(actor.identity)
        return grant.role if grant else Role.VIEWER

    def require(self, actor: Actor, needed: Role, doing: str) -> Role:
        """The actor's role, or `NotAllowed` naming the role needed and who the admins are."""
        if not self.serves(actor):
            raise NotAllowed(OTHER_ORGANISATION)
        role = self.role_of(actor)
        if not role.covers(needed):
            raise NotAllowed(
                f"{doing[0].upper()}{doing[1:]} needs the {needed} role; you are a {role}. "
                f"Ask an admin: {self.admins_text()}."
            )
        return role

    def admins_text(self) -> str:
        with self.store.transaction() as uow:
            granted = [g.identity for g in uow.access.all() if g.role is Role.ADMIN]
        names = sorted({*self.bootstrap_admins, *granted})
        if not names:
            return "the person who runs the bot (BOT_ADMINS)"
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        return ", ".join(names[:5]) + more

    # -- the access command -------------------------------------------------------------

    def command(self, args: list[str], actor: Actor) -> tuple[str, bool] | None:
        """`access`, `access grant WHO ROLE`, `access revoke WHO`, `access log`: the answer,
        and whether it changed something; None when the words fit none of them."""
        word = args[0].lower() if args else ""
        if not args:
            lines = [f"{g.identity}: {g.role} (by {g.granted_by})" for g in self.grants(actor)]
            listed = "\n".join(lines) if lines else "none granted yet"
            return f"Roles (everyone else in this organisation is a viewer):\n{listed}", False
        if word == "grant" and len(args) == 3:
            return self.grant(actor, identity_named(args[1], actor), args[2]), True
        if word == "revoke" and len(args) == 2:
            return self.revoke(actor, identity_named(args[1], actor)), True
        if word == "log" and len(args) == 1:
            entries = self.log(actor)
            lines = [f"{e.at:%Y-%m-%d %H:%M} UTC  {e.message}" for e in entries]
            return "Access log:\n" + ("\n".join(lines) or "nothing yet"), False
        return None

    def grants(self, actor: Actor) -> list[Grant]:
        self.require(actor, Role.ADMIN, "seeing who has which role")
        with self.store.transaction() as uow:
            stored = uow.access.all()
        boot = [
            Grant(i, Role.ADMIN, "BOT_ADMINS", datetime.min)
            for i in sorted(self.bootstrap_admins)
            if i not in {g.identity for g in stored}
        ]
        return [*boot, *stored]

    def grant(self, actor: Actor, who: str, role_word: str) -> str:
        self.require(actor, Role.ADMIN, "granting roles")
        identity = parse_identity(who)
        try:
            role = Role(role_word.strip().lower())
        except ValueError:
            raise ValidationError(
                f'"{role_word[:40]}" is not a role: use viewer, operator or admin.'
            ) from None
        now = self.clock.now()
        with self.store.transaction() as uow:
            before = uow.access.get(identity)
            uow.access.save(Grant(identity, role, actor.label, now))
            was = before.role if before else Role.VIEWER
            message = f"{actor.label} made {identity} {role} (was {was})."
            uow.access.log(AccessEntry(now, actor.label, identity, message))
        return message

    def revoke(self, actor: Actor, who: str) -> str:
        self.require(actor, Role.ADMIN, "revoking roles")
        identity = parse_identity(who)
        if identity in self.bootstrap_admins:
            raise NotAllowed(
                f"{identity} is an admin through BOT_ADMINS; remove it there and restart the bot."
            )
        now = self.clock.now()
        with self.store.transaction() as uow:
            removed = uow.access.remove(identity)
            if not removed:
                return f"{identity} had no role granted: a viewer already."
            message = f"{actor.label} revoked the role of {identity}: a viewer now."
            uow.access.log(AccessEntry(now, actor.label, identity, message))
        return message

    def log(self, actor: Actor, limit: int = 50) -> list[AccessEntry]:
        self.require(actor, Role.ADMIN, "reading the access log")
        with self.store.transaction() as uow:
            return uow.access.entries(limit)
