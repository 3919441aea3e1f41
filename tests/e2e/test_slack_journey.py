"""One customer from the enroll modal to Finish, all from Slack: the card's buttons open the
GDAP, MSP Hub and P2P modals, answers refresh the card in place, reminders are sent once, a
stale button gets a clear answer, and Finish is refused until the onboarding is Completed."""

from __future__ import annotations

import pytest

from bot.gdap_roles import GLOBAL_ADMINISTRATOR_ID, RECOMMENDED_ROLE_IDS
from tests.e2e.slack_support import Slack, button_labels, inputs, slack, text_of

__all__ = ["slack"]
ENROLL = 'enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US'


async def click_in_modal(slack: Slack, message: dict, label: str) -> tuple[dict, str]:
    """Clicks a card button that opens a modal; returns the filled modal and the click's
    response_url (where the card is answered)."""
    after = len(slack.api.calls)
    sent = await slack.click(message, label)
    assert sent.status == 200
    return await slack.modal(after), sent.response_url


@pytest.mark.parametrize(
    "slack", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_the_whole_onboarding_from_slack(slack: Slack):
    sent = await slack.command("enroll")
    await slack.submit(
        await slack.modal(),
        {
            "name": "ABC Technologies Inc.",
            "email": "john.doe@abctech.com",
            "domain": "abctech.com",
            "country": "US",
        },
    )
    card = (await slack.api.answer_to(sent.response_url)).args
    assert "ABC Technologies Inc. (abctech.com) — Active" in text_of(card["blocks"])
    assert "Create GDAP request" not in button_labels(card["blocks"])  # reseller first

    # Send reminder email: the card is answered in place, and a double click sends once.
    sent = await slack.click(card, "Send reminder email")
    card = (await slack.api.answer_to(sent.response_url)).args
    assert card["replace_original"] is True
    assert "Reminder sent: reseller → john.doe@abctech.com." in text_of(card["blocks"])
    double = await slack.click(card, "Send reminder email")
    refusal = (await slack.api.answer_to(double.response_url)).args
    assert refusal["replace_original"] is False
    assert "was sent to ABC Technologies Inc. less than a minute ago" in text_of(refusal["blocks"])
    refreshed = (await slack.api.answer_to(double.response_url, 2)).args
    assert refreshed["replace_original"] is True and "Send reminder email" in button_labels(
        refreshed["blocks"]
    )
    mails = (await slack.ask("outbox abctech.com"))["text"]
    assert mails.startswith("2 mails")  # the invitation and one reminder, not two

    # Finish too early is refused, naming what is left.
    early = await slack.ask("finish abctech.com")
    assert "cannot be finished yet" in text_of(early["blocks"])

    await slack.ask("sandbox accept-reseller abctech.com")
    card = await slack.ask("show abctech.com")
    assert {
        "Create GDAP request",
        "Start MSP Hub access",
        "Initiate P2P transfer",
        "Cancel onboarding",
        "Share in channel",
    } <= set(button_labels(card["blocks"]))
    stale_card = card

    # GDAP: name, 1–730 days, recommended roles pre-selected, more roles in the same menu.
    view, card_url = await click_in_modal(slack, card, "Create GDAP request")
    fields = inputs(view)
    assert fields["name"]["element"]["initial_value"] == "ABC Technologies Inc. GDAP"
    assert fields["duration"]["element"]["initial_value"] == "730"
    assert fields["duration"]["element"]["min_value"] == "1"
    assert fields["duration"]["element"]["max_value"] == "730"
    roles = fields["roles"]["element"]
    assert [g["label"]["text"] for g in roles["option_groups"]] == [
        "Recommended roles",
        "Additional roles",
    ]
    assert [o["value"] for o in roles["initial_options"]] == list(RECOMMENDED_ROLE_IDS)
    assert "auto-extends by 180 days" in text_of(view["blocks"])
    assert view["submit"]["text"] == "Create request"

    refused = (await slack.submit(view, {"duration": "800"})).json()
    assert refused["response_action"] == "errors"
    assert list(refused["errors"]) == [fields["duration"]["block_id"]]

    done = await slack.submit(
        view, {"duration": "400", "roles": [*RECOMMENDED_ROLE_IDS, GLOBAL_ADMINISTRATOR_ID]}
    )
    assert done.status == 200 and done.body == ""
    card = (await slack.api.answer_to(card_url)).args
    assert card["replace_original"] is True  # the card the button was on, refreshed
    shown = text_of(card["blocks"])
    assert "GDAP request sent to john.doe@abctech.com for approval." in shown
    assert "It will not auto-extend" in shown
    assert "GDAP Access*\nIn Progress" in shown

    # A stale button: GDAP was requested since that card was shown.
    stale_view, stale_url = await click_in_modal(slack, stale_card, "Create GDAP request")
    assert "GDAP access for ABC Technologies Inc. is already In Progress" in text_of(
        stale_view["blocks"]
    )
    refreshed = (await slack.api.answer_to(stale_url)).args
    assert refreshed["replace_original"] is True
    assert "Create GDAP request" not in button_labels(refreshed["blocks"])

    await slack.ask("sandbox approve-gdap abctech.com")

    # MSP Hub: pre-filled from Partner Center.
    card = await slack.ask("show abctech.com")
    view, card_url = await click_in_modal(slack, card, "Start MSP Hub access")
    fields = inputs(view)
    assert fields["company_name"]["element"]["initial_value"] == "ABC Technologies Inc."
    assert fields["first_name"]["element"]["initial_value"] == "John"
    assert fields["last_name"]["element"]["initial_value"] == "Doe"
    assert fields["country"]["element"]["initial_option"]["value"] == "US"
    assert "Pre-filled from Partner Center" in text_of(view["blocks"])
    await slack.submit(view, {"phone": "+1 555 0100"})
    card = (await slack.api.answer_to(card_url)).args
    assert "MSP Hub Access*\nCompleted" in text_of(card["blocks"])

    # P2P: the current partner is "Other" the first time, typed in.
    view, card_url = await click_in_modal(slack, card, "Initiate P2P transfer")
    fields = inputs(view)
    assert fields["partner"]["element"]["initial_option"]["value"] == "other"
    assert "expires in 30 days" in text_of(view["blocks"])
    refused = (
        await slack.submit(
            view,
            {
                "partner_name": "Old Partner LLC",
                "partner_tenant_id": "not-a-guid",
                "partner_email": "billing@oldpartner.com",
            },
        )
    ).json()
    assert list(refused["errors"]) == [fields["partner_tenant_id"]["block_id"]]
    await slack.submit(
        view,
        {
            "partner_name": "Old Partner LLC",
            "partner_tenant_id": "0f0e0d0c-0b0a-4000-8000-000000000042",
            "partner_email": "billing@oldpartner.com",
        },
    )
    card = (await slack.api.answer_to(card_url)).args
    shown = text_of(card["blocks"])
    assert "P2P transfer request sent to Old Partner LLC." in shown
    assert {"Send reminder email (P2P)", "Cancel transfer"} <= set(button_labels(card["blocks"]))
    assert "Finish" not in button_labels(card["blocks"])

    await slack.ask("sandbox accept-p2p abctech.com")
    card = await slack.ask("show abctech.com")
    assert "ABC Technologies Inc. (abctech.com) — Completed" in text_of(card["blocks"])

    # Finish asks first (Slack's confirm dialog), then runs: no second question.
    finish = next(
        e
        for b in card["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == "Finish"
    )
    assert "will be removed from the onboarding system" in finish["confirm"]["text"]["text"]
    sent = await slack.click(card, "Finish")
    card = (await slack.api.answer_to(sent.response_url)).args
    assert "finished onboarding and was removed" in text_of(card["blocks"])
    assert "— Finished" in text_of(card["blocks"])
    assert button_labels(card["blocks"]) == ["Activity log"]
    listing = await slack.ask("status")
    assert "*Completed* 0" in text_of(listing["blocks"])


async def test_p2p_known_partner_fills_the_form(slack: Slack):
    for domain in ("abctech.com", "fourthcoffee.com"):
        await slack.ask(f'enroll "{domain}" it@{domain} {domain} US')
        await slack.ask(f"sandbox accept-reseller {domain}")
    await slack.command("p2p abctech.com")
    view = await slack.modal()
    await slack.submit(
        view,
        {
            "partner_name": "Old Partner LLC",
            "partner_tenant_id": "0f0e0d0c-0b0a-4000-8000-000000000042",
            "partner_email": "billing@oldpartner.com",
        },
    )
    await slack.api.wait_for("response_url")

    after = len(slack.api.calls)
    await slack.command("p2p fourthcoffee.com")
    view = await slack.modal(after)
    partner = inputs(view)["partner"]
    assert partner["dispatch_action"] is True
    assert [o["text"]["text"] for o in partner["element"]["options"]] == [
        "Old Partner LLC",
        "Other (enter the partner's details)",
    ]
    assert inputs(view)["partner_name"]["element"]["initial_value"] == "Old Partner LLC"

    after = len(slack.api.calls)
    await slack.pick(view, "partner", "other")  # Other empties the partner's fields
    update = (await slack.api.wait_for("views.update", after=after))[0]
    view = slack.api.views[update["view_id"]]
    assert "initial_value" not in inputs(view)["partner_name"]["element"]
    after = len(slack.api.calls)
    await slack.pick(view, "partner", "0f0e0d0c-0b0a-4000-8000-000000000042")
    update = (await slack.api.wait_for("views.update", after=after))[0]
    view = slack.api.views[update["view_id"]]
    assert inputs(view)["partner_email"]["element"]["initial_value"] == "billing@oldpartner.com"


async def test_cancel_typed_as_a_command_asks_first(slack: Slack):
    await slack.ask(ENROLL)
    question = await slack.ask("cancel abctech.com")
    assert "Cancel the onboarding of ABC Technologies Inc. (abctech.com)?" in question["text"]
    assert button_labels(question["blocks"]) == ["Cancel onboarding", "Cancel"]

    sent = await slack.click(question, "Cancel")
    dismissed = (await slack.api.answer_to(sent.response_url)).args
    assert dismissed["delete_original"] is True
    assert slack.bot.service.customers.dashboard().total == 1

    question = await slack.ask("cancel abctech.com")
    sent = await slack.click(question, "Cancel onboarding")
    card = (await slack.api.answer_to(sent.response_url)).args
    assert card["replace_original"] is True  # the question is replaced by its answer
    assert "Onboarding of ABC Technologies Inc. cancelled." in text_of(card["blocks"])
    assert slack.bot.service.customers.dashboard().total == 0

    stale = await slack.click(question, "Cancel onboarding")  # the same button once more
    refusal = (await slack.api.answer_to(stale.response_url)).args
    assert "The onboarding of ABC Technologies Inc. was cancelled. Its card and activity log: " in (
        text_of(refusal["blocks"])
    )
    # the cancelled customer keeps its card: found by its domain, marked, only its log
    kept = await slack.ask("show abctech.com")
    shown = text_of(kept["blocks"])
    assert "ABC Technologies Inc. (abctech.com) — Cancelled just now by " in shown
    assert button_labels(kept["blocks"]) == ["Activity log"]
    listed = text_of((await slack.ask("status cancelled"))["blocks"])
    assert "*ABC Technologies Inc.* (abctech.com) · Cancelled just now by " in listed
