"""What went wrong looks wrong in Slack: a card's headline is marked by the tone the bot gives
it (a GDAP request Microsoft refused, a relationship that expired: :x:, never the success
check), and a step that failed or expired is marked beside its status."""

from __future__ import annotations

from typing import Any

from bot.gdap_roles import RECOMMENDED_ROLE_IDS
from tests.e2e.slack_support import Slack, slack, text_of

__all__ = ["slack"]
ENROLL = 'enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US'
SUCCESS, FAILURE = ":white_check_mark:", ":x:"


def headline(card: dict[str, Any], words: str) -> str:
    """The text of the card's section that says `words` (its headline)."""
    texts = [b["text"]["text"] for b in card["blocks"] if b["type"] == "section" and "text" in b]
    return next(t for t in texts if words in t)


async def test_a_gdap_request_microsoft_refuses_is_answered_as_a_failure(slack: Slack):
    await slack.ask(ENROLL)
    await slack.ask("sandbox accept-reseller abctech.com")
    # A relationship of that name already exists at Microsoft (made in Partner Center, not
    # through the bot), so Microsoft answers the bot's request with 409 Conflict.
    slack.bot.service.wiring.microsoft.create_gdap_relationship(
        name="ABC Technologies Inc. GDAP",
        duration_days=730,
        role_ids=list(RECOMMENDED_ROLE_IDS),
        auto_extend=True,
        customer_tenant_id=None,
        customer_name="ABC Technologies Inc.",
    )
    sent = await slack.command("gdap abctech.com")
    view = await slack.modal()
    assert (await slack.submit(view)).status == 200
    card = (await slack.api.answer_to(sent.response_url)).args

    refused = headline(card, "Microsoft refused the GDAP request")
    assert refused.startswith(FAILURE) and "already exists in Partner Center" in refused
    assert SUCCESS not in text_of(card["blocks"]) and SUCCESS not in card["text"]
    assert "GDAP Access*\n:x: Failed" in text_of(card["blocks"])


async def test_an_expired_gdap_relationship_is_answered_as_a_failure(slack: Slack):
    await slack.ask(ENROLL)
    await slack.ask("sandbox accept-reseller abctech.com")
    sent = await slack.command("gdap abctech.com")
    await slack.submit(await slack.modal())
    await slack.api.answer_to(sent.response_url)

    approved = await slack.ask("sandbox approve-gdap abctech.com")
    assert headline(approved, "GDAP access Established").startswith(SUCCESS)  # still a success

    expired = await slack.ask("sandbox expire-gdap abctech.com")
    assert headline(expired, "GDAP access Expired").startswith(FAILURE)
    assert SUCCESS not in text_of(expired["blocks"])
    assert "GDAP Access*\n:x: Expired" in text_of(expired["blocks"])
