"""`webhooks register URL` merges the bot's events into the partner's one registration:
another tool's events are kept, only events Partner Center offers are asked for, another
tool's URL is never taken silently, and only https is accepted."""

from __future__ import annotations

from adapters.microsoft.live.registration import plan
from adapters.microsoft.live.webhooks import OUR_EVENTS

URL = "https://bot.fabrikam.example/webhooks/partner-center"
OFFERED = [*OUR_EVENTS, "subscription-updated", "invoice-ready"]


def test_a_first_registration_asks_for_the_offered_events_only():
    result = plan(URL, [e for e in OFFERED if e != "fail-transfer"], None, replace_url=False)
    assert result.changes and result.body()["WebhookUrl"] == URL
    assert "fail-transfer" not in result.events and "create-transfer" in result.events
    assert result.not_offered == ["fail-transfer"]
    assert result.lines()[0] == f"Registered {URL} for {len(OUR_EVENTS) - 1} events."


def test_another_tools_events_are_kept_and_ours_added():
    existing = {"WebhookUrl": URL, "WebhookEvents": ["invoice-ready", "create-transfer"]}
    result = plan(URL, OFFERED, existing, replace_url=False)
    assert result.events[:2] == ["invoice-ready", "create-transfer"]
    assert set(result.events) == {"invoice-ready", *OUR_EVENTS}
    assert result.kept == ["invoice-ready"]
    assert "Kept (another tool's): invoice-ready." in result.lines()


def test_another_url_is_refused_unless_replace_url_and_says_which():
    other = "https://cipp.example/api/PublicWebhooks?CIPPID=1"
    existing = {"WebhookUrl": other, "WebhookEvents": ["invoice-ready"]}
    refused = plan(URL, OFFERED, existing, replace_url=False)
    assert refused.refused and other in refused.refused and "--replace-url" in refused.refused
    assert not refused.changes
    taken = plan(URL, OFFERED, existing, replace_url=True)
    assert taken.changes and "invoice-ready" in taken.events
    assert taken.lines()[0] == f"Updated the registration: events go to {URL} (was {other})."


def test_nothing_to_change_when_all_is_there_and_http_is_refused():
    existing = {"WebhookUrl": URL, "WebhookEvents": list(OUR_EVENTS)}
    assert not plan(URL, OFFERED, existing, replace_url=False).changes
    assert "https://" in plan("http://bot.example/x", OFFERED, None, replace_url=False).refused
