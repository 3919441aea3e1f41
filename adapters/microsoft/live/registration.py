"""`python app.py webhooks register URL`: point the partner's one Partner Center webhook
registration at the bot and subscribe it to the bot's events, keeping every event another
tool subscribed to (the registration is shared: one per partner tenant)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapters.microsoft.live.partner_center import PartnerCenter
from adapters.microsoft.live.webhooks import OUR_EVENTS

STATE_KEY = "webhook_registration"


@dataclass
class Plan:
    """What registering changes; `refused` explains why nothing will be sent."""

    url: str
    existing: dict[str, Any] | None
    events: list[str] = field(default_factory=list)  # the whole list to register
    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # other tools' events, left as they were
    not_offered: list[str] = field(default_factory=list)
    refused: str = ""

    @property
    def changes(self) -> bool:
        return not self.refused and (
            self.existing is None or bool(self.added) or self.existing.get("WebhookUrl") != self.url
        )

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"WebhookUrl": self.url, "WebhookEvents": self.events}
        if self.existing and self.existing.get("SignatureTokenToMsSignatureHeader"):
            body["SignatureTokenToMsSignatureHeader"] = True  # another tool's choice, kept
        return body

    def lines(self) -> list[str]:
        if self.refused:
            return [self.refused]
        out = []
        if not self.changes:
            out.append(
                f"Nothing to change: Partner Center already sends the bot's events to {self.url}."
            )
        elif self.existing is None:
            out.append(f"Registered {self.url} for {len(self.events)} events.")
        else:
            previous = self.existing.get("WebhookUrl")
            moved = f" (was {previous})" if previous != self.url else ""
            out.append(f"Updated the registration: events go to {self.url}{moved}.")
        if self.added and self.existing is not None:
            out.append("Added: " + ", ".join(self.added) + ".")
        if self.kept:
            out.append("Kept (another tool's): " + ", ".join(self.kept) + ".")
        if self.not_offered:
            out.append(
                "Not offered by Partner Center today, so not subscribed: "
                + ", ".join(self.not_offered)
                + " (polling covers them)."
            )
        return out


def plan(url: str, offered: list[str], existing: dict[str, Any] | None, replace_url: bool) -> Plan:
    """Merge the bot's events into the registration; refuse to move another tool's URL
    unless `replace_url`, saying which URL is there."""
    result = Plan(url=url, existing=existing)
    if not url.startswith("https://"):
        result.refused = f"{url!r} is not an https:// URL: Partner Center delivers over HTTPS only."
        return result
    offered_lower = {e.lower() for e in offered}
    ours = [e for e in OUR_EVENTS if e.lower() in offered_lower]
    result.not_offered = [e for e in OUR_EVENTS if e.lower() not in offered_lower]
    current = [str(e) for e in (existing or {}).get("WebhookEvents") or []]
    if existing is not None:
        there = str(existing.get("WebhookUrl") or "")
        if there and there != url and not replace_url:
            result.refused = (
                f"Partner Center already sends this partner's webhooks to {there} (another tool, "
                "or an older address of the bot); nothing changed. To send them to "
                f"{url} instead (its events are kept), run again with --replace-url."
            )
            return result
    current_lower = {e.lower() for e in current}
    result.added = [e for e in ours if e.lower() not in current_lower]
    ours_lower = {e.lower() for e in OUR_EVENTS}
    result.kept = [e for e in current if e.lower() not in ours_lower]
    result.events = current + result.added
    return result


def register(partner_center: PartnerCenter, url: str, *, replace_url: bool) -> Plan:
    deadline = partner_center.deadline(60)
    offered = partner_center.webhook_events(deadline)
    existing = partner_center.registration(deadline)
    result = plan(url, offered, existing, replace_url)
    if result.changes:
        partner_center.register(result.body(), replace=existing is not None, deadline=deadline)
    return result
