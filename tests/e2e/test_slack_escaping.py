"""User text is escaped exactly once, where it becomes mrkdwn: the Loading modal's emoji is
whole, a refusal in a modal reads "AT&T" (not "AT&amp;T"), a file's name cannot ping the
channel from the comment of the file posted beside a review, and an email address copied
from Slack is the address (a mailto link, no zero-width space inside)."""

from __future__ import annotations

import json

from adapters.slack.escape import ZWSP
from tests.e2e.slack_support import Slack, slack, text_of
from tests.e2e.test_slack_bulk_upload import csv_of, upload

__all__ = ["slack"]


async def test_the_loading_modal_shows_its_emoji(slack: Slack):
    await slack.ask('enroll "Contoso" it@contoso.com contoso.com US')
    await slack.command("gdap contoso.com")
    (opened,) = await slack.api.wait_for("views.open")
    shown = text_of(opened["view"]["blocks"])
    assert ":hourglass_flowing_sand: Loading…" in shown and ZWSP not in shown


async def test_a_refusal_in_a_modal_is_escaped_once(slack: Slack):
    await slack.ask('enroll "AT&T <Labs>" it@att.com att.com US')
    after = len(slack.api.calls)
    await slack.command("gdap att.com")
    shown = text_of((await slack.modal(after))["blocks"])
    assert "AT&amp;T &lt;Labs&gt;" in shown, shown
    assert "&amp;amp;" not in shown and "&amp;lt;" not in shown


async def test_a_file_name_cannot_mention_the_channel(slack: Slack):
    rows = [f"Customer {i},not-an-email,c{i}.com,US" for i in range(101)]
    await upload(slack, csv_of(rows), "<!here> & co.csv")
    done = (await slack.api.wait_for("files.completeUploadExternal"))[0]
    comment = done["initial_comment"]
    assert "<!here>" not in comment
    assert "&lt;!here&gt; &amp; co.csv" in comment


async def test_an_email_address_is_a_mailto_link_without_zero_width_spaces(slack: Slack):
    card = await slack.ask('enroll "Fourth_Coffee" john_doe@fourth-coffee.com fourthcoffee.com US')
    shown = json.dumps(card["blocks"], ensure_ascii=False)  # the mrkdwn as sent
    address = "john_doe@fourth-coffee.com"
    assert f"<mailto:{address}|{address}>" in shown
    for piece in shown.split(address)[1:]:  # nothing glued inside the address
        assert not piece.startswith(ZWSP)
    assert f"john_{ZWSP}doe" not in shown
    assert f"Fourth_{ZWSP}Coffee" in shown  # other user text still cannot format
