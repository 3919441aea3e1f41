"""A partner engineer enrolls a customer from Slack: `/onboard enroll` opens the modal, a bad
field is shown on that field with what was typed kept, the country is found by typing, and
the one-line form works for mobile."""

from __future__ import annotations

from tests.e2e.slack_support import ALICE, Slack, button_labels, inputs, slack, text_of

__all__ = ["slack"]


async def test_help_lists_every_command_ephemerally(slack: Slack):
    for text in ("", "help"):
        answer = await slack.ask(text)
        assert answer["response_type"] == "ephemeral"
        shown = text_of(answer["blocks"])
        for usage in (
            "status [active|failed|completed|finished|cancelled]",
            "enroll",
            "bulk",
            "gdap CUSTOMER",
            "notify here [all|failures|off]",
            "remind CUSTOMER",
        ):
            assert usage in shown
        assert answer["text"].startswith("Onboarding bot commands")


async def test_enroll_by_modal_with_a_field_error_then_success(slack: Slack):
    sent = await slack.command("enroll")
    assert sent.status == 200 and sent.body == ""  # acknowledged at once, nothing shown yet
    view = await slack.modal()
    opened = slack.api.of("views.open")[0]
    assert opened["trigger_id"] == sent.trigger_id
    assert view["title"]["text"] == "Enroll customer"
    assert view["submit"]["text"] == "Submit" and view["close"]["text"] == "Cancel"
    fields = inputs(view)
    assert [b["label"]["text"] for b in fields.values()] == [
        "Customer Name",
        "Email Address",
        "Domain Name",
        "Country",
    ]
    assert fields["country"]["element"]["type"] == "external_select"

    # The country is found by typing; Slack caps a static menu at 100 options.
    offered = await slack.suggest(view, "country", "germ")
    assert [o["value"] for o in offered] == ["DE"]
    assert len(await slack.suggest(view, "country", "")) == 100
    assert (await slack.suggest(view, "country", "us"))[0]["value"] == "US"

    typed = {
        "name": "ABC Technologies Inc.",
        "email": "john.doe@abctech.com",
        "domain": "https://abctech",
        "country": "US",
    }
    refused = await slack.submit(view, typed)
    assert refused.status == 200
    answer = refused.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [fields["domain"]["block_id"]]
    assert "domain" in answer["errors"][fields["domain"]["block_id"]].lower()
    assert slack.api.of("response_url") == []  # nothing enrolled, the modal stays open

    done = await slack.submit(view, {**typed, "domain": "abctech.com"})
    assert done.status == 200 and done.body == ""  # the modal closes
    card = (await slack.api.answer_to(sent.response_url)).args  # where /onboard was typed
    assert card["response_type"] == "ephemeral"
    shown = text_of(card["blocks"])
    assert "Enrolled ABC Technologies Inc." in shown
    assert "ABC Technologies Inc. (abctech.com) — Active" in shown
    assert "Reseller Relationship*\nIn Progress" in shown
    assert "GDAP Access*\nNot started" in shown
    assert "Enrolled just now" in shown or "Enrolled now" in shown
    assert {
        "Send reminder email",
        "Start MSP Hub access",
        "Cancel onboarding",
        "Share in channel",
    } <= set(button_labels(card["blocks"]))
    assert card["text"]  # plain text beside the blocks


async def test_a_duplicate_domain_is_refused_on_the_domain_field(slack: Slack):
    await slack.ask('enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US')
    await slack.command("enroll", user=ALICE)
    view = await slack.modal()
    answer = (
        await slack.submit(
            view,
            {
                "name": "ABC Again",
                "email": "it@abctech.com",
                "domain": "ABCTECH.COM",
                "country": "US",
            },
        )
    ).json()
    assert answer["response_action"] == "errors"
    (message,) = answer["errors"].values()
    assert "abctech.com is already in onboarding as ABC Technologies Inc." in message


async def test_one_line_enroll_for_mobile(slack: Slack):
    card = await slack.ask('enroll "Fourth Coffee" it@fourthcoffee.com fourthcoffee.com gb')
    assert "Fourth Coffee (fourthcoffee.com) — Active" in text_of(card["blocks"])
    named = await slack.ask('enroll "Sixth Coffee" it@sixth.com sixth.com "Côte d\'Ivoire"')
    assert "Country CI" in text_of(named["blocks"])
    refused = await slack.ask('enroll "Fifth Coffee" it@fifth.com fifth.com Nigr')
    assert (
        ':x: Country: "Nigr" is not a country we know. Did you mean: Niger (NE), Nigeria (NG)?'
    ) in text_of(refused["blocks"])
