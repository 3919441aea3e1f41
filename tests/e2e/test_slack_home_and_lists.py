"""The lists and the dashboard: `status` pages and filters in place, `search`, "Share in
channel", an ambiguous name gets a choice, and App Home shows counts, customers that need
attention and the newest enrollments, with Enroll, Bulk enroll and Download template."""

from __future__ import annotations

from tests.e2e.slack_support import ALICE, Slack, button_labels, slack, text_of

__all__ = ["slack"]


async def enroll_many(slack: Slack, n: int) -> None:
    for i in range(n):
        await slack.ask(f'enroll "Customer {i:02d}" it@c{i}.com c{i}.com US')


async def test_status_pages_and_filters_in_place_and_shares(slack: Slack):
    await enroll_many(slack, 11)
    await slack.ask('enroll "Fourth Coffee" it@fourthcoffee.com fourthcoffee.com US')
    await slack.ask("sandbox accept-reseller fourthcoffee.com")
    await slack.command("gdap fourthcoffee.com")
    await slack.submit(await slack.modal())
    await slack.api.quiet()
    await slack.ask("sandbox approve-gdap fourthcoffee.com")
    await slack.ask("sandbox expire-gdap fourthcoffee.com")

    page = await slack.ask("status")
    shown = text_of(page["blocks"])
    assert "*Active* 11   ·   *Failed* 1   ·   *Completed* 0" in shown
    assert "1–10 of 12" in shown
    assert {"Next", "Active", "Failed", "Completed", "Share in channel"} <= set(
        button_labels(page["blocks"])
    )
    assert page["text"].startswith("Active 11 · Failed 1 · Completed 0")

    sent = await slack.click(page, "Next")
    page2 = (await slack.api.answer_to(sent.response_url)).args
    assert page2["replace_original"] is True
    assert "11–12 of 12" in text_of(page2["blocks"])
    assert "Previous" in button_labels(page2["blocks"])

    sent = await slack.click(page2, "Failed")
    failed = (await slack.api.answer_to(sent.response_url)).args
    assert "Showing: Failed" in text_of(failed["blocks"])
    assert "*Fourth Coffee* (fourthcoffee.com) · Failed" in text_of(failed["blocks"])

    sent = await slack.click(failed, "Share in channel")
    shared = (await slack.api.answer_to(sent.response_url)).args
    assert shared["response_type"] == "in_channel"
    assert "Share in channel" not in button_labels(shared["blocks"])
    assert "Fourth Coffee" in text_of(shared["blocks"])

    found = await slack.ask("search COFFEE")
    assert '1 customer matches "COFFEE"' in text_of(found["blocks"])
    assert "*Active*" not in text_of(found["blocks"])  # a search counts what it finds
    assert "1–1 of 1" in text_of(found["blocks"])


async def test_show_shares_and_an_ambiguous_name_gets_a_choice(slack: Slack):
    await slack.ask('enroll "Contoso" it@contoso.com contoso.com US')
    await slack.ask('enroll "Contoso" it@contoso.co.uk contoso.co.uk GB')
    choice = await slack.ask("show contoso")
    assert "matches 2 customers" in choice["text"]
    assert button_labels(choice["blocks"]) == ["Contoso (contoso.com)", "Contoso (contoso.co.uk)"]
    sent = await slack.click(choice, "Contoso (contoso.co.uk)")
    card = (await slack.api.answer_to(sent.response_url)).args
    assert card["replace_original"] is True
    assert "Contoso (contoso.co.uk) — Active" in text_of(card["blocks"])
    sent = await slack.click(card, "Share in channel")
    shared = (await slack.api.answer_to(sent.response_url)).args
    assert shared["response_type"] == "in_channel" and shared["replace_original"] is False
    assert "Contoso (contoso.co.uk) — Active" in text_of(shared["blocks"])


async def test_app_home_dashboard_and_its_buttons(slack: Slack):
    await slack.ask('enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US')
    sent = await slack.open_home()
    assert sent.status == 200
    published = (await slack.api.wait_for("views.publish"))[0]
    assert published["user_id"] == ALICE.id
    home = published["view"]
    assert home["type"] == "home"
    shown = text_of(home["blocks"])
    assert "*Active* 1   ·   *Failed* 0   ·   *Completed* 0" in shown
    assert "Needs attention" in shown and "Nothing failed." in shown
    assert "*ABC Technologies Inc.* (abctech.com) · Active" in shown
    assert button_labels(home["blocks"])[:3] == [
        "Enroll customer",
        "Bulk enroll",
        "Download template",
    ]

    # Enroll from Home: the modal opens; the card goes to the app's DM; Home is refreshed.
    home = {**home, "id": "VHOME"}
    after = len(slack.api.calls)
    await slack.click({}, "Enroll customer", view=home)
    view = await slack.modal(after)
    await slack.submit(
        view,
        {
            "name": "Fourth Coffee",
            "email": "it@fourthcoffee.com",
            "domain": "fourthcoffee.com",
            "country": "GB",
        },
    )
    dm = (await slack.api.wait_for("chat.postMessage", after=after))[0]
    assert dm["channel"] == ALICE.id
    assert "Enrolled Fourth Coffee." in text_of(dm["blocks"])
    refreshed = (await slack.api.wait_for("views.publish", after=after))[0]
    assert "*Active* 2" in text_of(refreshed["view"]["blocks"])

    # Download template from Home: uploaded into the app's DM with the user.
    after = len(slack.api.calls)
    await slack.click({}, "Download template", view=home)
    done = (await slack.api.wait_for("files.completeUploadExternal", after=after))[0]
    opened = next(c for c in slack.api.calls[after:] if c.method == "conversations.open")
    assert opened["users"] == ALICE.id and done["channel_id"] == "D0ALICE"

    # Show from Home: the card in the DM.
    after = len(slack.api.calls)
    await slack.click({}, "Show", view=home)
    dm = (await slack.api.wait_for("chat.postMessage", after=after))[0]
    assert "ABC Technologies Inc. (abctech.com) — Active" in text_of(dm["blocks"])
