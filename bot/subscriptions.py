"""Where notices and digests go: `notify here` for a channel's status-change notices, and
the managers' digest schedule of a person or channel (`digest ...`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from bot import digest as digests
from bot import keys
from bot.activity import Actor
from bot.errors import NotAllowed, ValidationError
from bot.records import DigestFrequency, DigestSubscription, NoticeLevel, Place, Role, Subscription
from bot.views import Digest
from bot.wiring import Wiring


@dataclass
class Subscriptions:
    wiring: Wiring

    def notify(self, place: Place | None, level: str | None, actor: Actor) -> str:
        """`notify here [all|failures|off]` for the channel or chat it is typed in."""
        self.wiring.access.require(actor, Role.OPERATOR, "channel notices")
        if place is None:
            raise NotAllowed(
                "notify here works in a Slack channel or a Teams chat or channel: "
                "that is where the notices are posted."
            )
        word = (level or "all").lower()
        where = place.label or "this conversation"
        with self.wiring.store.transaction() as uow:
            if word == "off":
                removed = uow.subscriptions.remove(place.platform, place.destination)
                return (
                    f"Notices to {where} are off."
                    if removed
                    else f"{where} had no notices switched on."
                )
            if word not in (NoticeLevel.ALL.value, NoticeLevel.FAILURES.value):
                raise ValidationError("Use: notify here [all|failures|off]")
            uow.subscriptions.save(
                Subscription(
                    place.platform,
                    place.destination,
                    NoticeLevel(word),
                    where,
                    actor.label,
                    self.wiring.clock.now(),
                )
            )
        what = (
            "every status change and reminder"
            if word == "all"
            else "failures only (expired or failed GDAP and P2P, undeliverable mail)"
        )
        return f"Notices to {where}: {what}. Stop them with: notify here off"

    # -- managers' digests -----------------------------------------------------------------

    def digest(self, place: Place | None, words: list[str], actor: Actor) -> Digest | str:
        """`digest daily HH:MM [TZ]`, `digest weekly DAY HH:MM [TZ]`, `digest now`, `digest
        off`, or `digest` alone for the current schedule. A digest goes to where the command
        was typed: a person's direct message or a channel."""
        word = words[0].lower() if words else ""
        if words and place is not None and not place.direct:
            self.wiring.access.require(actor, Role.ADMIN, "a channel's digest")
        else:
            self.wiring.access.require(actor, Role.VIEWER, "digests")
        if word == "now" and len(words) == 1:
            return self.digest_now(place)
        if place is None:
            raise NotAllowed(
                "Digests are posted in Slack or Teams: type this command in the "
                "channel or direct message that should get them. Here, digest "
                "now shows one."
            )
        where = place.label or "this conversation"
        now = self.wiring.clock.now()
        if not words:
            with self.wiring.store.transaction() as uow:
                current = uow.digests.get(place.platform, place.destination)
            if current is None:
                return f"No digest for {where}. {digests.USAGE}"
            return (
                f"Digest for {where}: {digests.describe(current)}. "
                f"Next: {digests.when(current.next_due_at, current.timezone)}."
            )
        if word == "off" and len(words) == 1:
            with self.wiring.store.transaction() as uow:
                removed = uow.digests.remove(place.platform, place.destination)
            return f"Digest for {where} is off." if removed else f"{where} had no digest."
        frequency, weekday, at, tz = digests.parse_schedule(words, place.timezone)
        sub = DigestSubscription(
            place.platform,
            place.destination,
            where,
            place.direct,
            frequency,
            f"{at:%H:%M}",
            tz,
            now,
            actor.label,
            now,
            weekday,
        )
        sub.next_due_at = digests.next_due(sub, now)
        with self.wiring.store.transaction() as uow:
            uow.digests.save(sub)
        typed_zone = len(words) > (2 if frequency is DigestFrequency.DAILY else 3)
        source = (
            f" That is your time zone in {place.platform.capitalize()}; to choose another, "
            f"add it: digest {' '.join(words)} Europe/Paris"
            if not typed_zone and digests.known_zone(place.timezone)
            else ""
        )
        return (
            f"Digest for {where}: {digests.describe(sub)}. First one: "
            f"{digests.when(sub.next_due_at, tz)}. Stop it with: digest off.{source}"
        )

    def digest_now(self, place: Place | None) -> Digest | str:
        """At the console (no place to post to) the digest is the answer; in a chat it is
        posted there through the ledger, like a scheduled one."""
        now = self.wiring.clock.now()
        with self.wiring.store.transaction() as uow:
            if place is None:
                return digests.console_digest(uow, now)
            sub = uow.digests.get(place.platform, place.destination)
            if sub is None:
                sub = DigestSubscription(
                    place.platform,
                    place.destination,
                    place.label or "this conversation",
                    place.direct,
                    DigestFrequency.DAILY,
                    "00:00",
                    digests.known_zone(place.timezone) or "UTC",
                    now,
                    "",
                    now,
                )
            digests.send_digest(
                uow,
                sub,
                now,
                keys.digest_now(place.platform, place.destination, uuid.uuid4().hex),
                None,
            )
        return f"Digest sent to {sub.label}."
