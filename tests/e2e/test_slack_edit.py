"""Correcting a mistake from Slack: the card's *Correct details* opens a modal pre-filled
with what is recorded, a wrong field is shown on that field (Bolt checks every request's
signature), a saved correction refreshes the card; one line works too (SQLite and
PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.e2e.slack_support import Slack, inputs, slack, text_of

__all__ = ["slack"]


@pytest.mark.parametrize(
    "slack", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_correct_a_customer_in_a_modal_and_in_one_line(slack: Slack):
    card = await slack.ask('enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US')
    await slack.ask('enroll "Fourth Coffee" it@fourthcoffee.com fourthcoffee.com US')
    after = len(slack.api.calls)
    sent = await slack.click(card, "Correct details")
    view = await slack.modal(after)
    assert view["title"]["text"] == "Correct ABC Technologie…"  # Slack's 24 characters
    assert "Correct ABC Technologies Inc." in text_of(view["blocks"])  # whole, above
    assert view["submit"]["text"] == "Save"
    fields = inputs(view)
    assert fields["name"]["element"]["initial_value"] == "ABC Technologies Inc."
    assert fields["email"]["element"]["initial_value"] == "john.doe@abctech.com"
    assert fields["domain"]["element"]["initial_value"] == "abctech.com"
    assert fields["country"]["element"]["initial_option"]["value"] == "US"
    assert "its reminders start again" in text_of(view["blocks"])

    refused = (await slack.submit(view, {"domain": "fourthcoffee.com"})).json()
    assert refused["response_action"] == "errors"
    assert list(refused["errors"]) == [fields["domain"]["block_id"]]
    assert (
        "already in onboarding as Fourth Coffee" in refused["errors"][fields["domain"]["block_id"]]
    )

    done = await slack.submit(view, {"email": "jo.doe@abctech.com"})
    assert done.status == 200 and done.body == ""
    answer = (await slack.api.answer_to(sent.response_url)).args
    assert answer["replace_original"] is True  # the card the button was on, refreshed
    shown = text_of(answer["blocks"])
    assert (
        'Corrected Email Address "john.doe@abctech.com" → "jo.doe@abctech.com". The '
        "invitation sent again to jo.doe@abctech.com; reminders start again."
    ) in shown
    assert "jo.doe@abctech.com · Country US" in shown
    mails = (await slack.ask("outbox abctech.com"))["text"]
    assert mails.startswith("2 mails")  # the invitation, then again at the new address

    one_line = text_of((await slack.ask('edit abctech.com country "Côte d\'Ivoire"'))["blocks"])
    assert 'Corrected Country "US" → "CI".' in one_line
    await slack.ask("sandbox accept-reseller abctech.com")
    bound = text_of((await slack.ask("edit abctech.com domain abc.com"))["blocks"])
    assert "can no longer change: the reseller relationship is Established" in bound
    log = text_of((await slack.ask("log abctech.com"))["blocks"])
    assert 'Corrected Email Address "john.doe@abctech.com" → "jo.doe@abctech.com"' in log
