"""`/onboard export` and the bulk review's customer list in Slack: files uploaded into the
conversation the way Slack takes them (files.getUploadURLExternal, the bytes, then
files.completeUploadExternal), each read back from the fake as the user would open it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from tests.e2e.slack_support import ALICE, TEAM_CHANNEL, Slack, User, slack, text_of
from tests.e2e.test_slack_bulk_upload import upload

__all__ = ["slack"]
VERA = User("U0VERA", "vera")  # not in BOT_ADMINS and granted nothing: a viewer


def rows_of(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def enroll(slack: Slack, name: str, domain: str) -> None:
    await slack.ask(f'enroll "{name}" it@{domain} {domain} US')


@pytest.mark.parametrize("slack", ["sqlite", "postgresql"], indirect=True)
async def test_a_viewer_exports_and_gets_the_file_in_the_channel(slack: Slack):
    await enroll(slack, "=HYPERLINK('http://evil.example','Open')", "evil-corp.com")
    await enroll(slack, "Fourth Coffee", "fourthcoffee.com")
    after = len(slack.api.calls)
    sent = await slack.command("export active", user=VERA)
    assert sent.status == 200
    done = (await slack.api.wait_for("files.completeUploadExternal", after=after))[0]
    assert done.result["ok"] and done["channel_id"] == TEAM_CHANNEL.id
    assert "Active customers: 2 as of" in done["initial_comment"]
    asked = slack.api.of("files.getUploadURLExternal")[-1]
    filename = f"onboardings-active-{datetime.now(UTC):%Y-%m-%d}.csv"
    assert asked["filename"] == filename
    (uploaded,) = [c for c in slack.api.calls[after:] if c.method == "upload"]
    assert "Authorization" not in uploaded.headers  # the bot token stays with the Web API
    assert int(asked["length"]) == len(uploaded["data"])
    name, data = slack.api.files[done.result["files"][0]["id"]]
    assert name == filename and data == uploaded["data"]
    rows = rows_of(data)
    assert [r["Domain Name"] for r in rows] == ["fourthcoffee.com", "evil-corp.com"]
    assert rows[1]["Customer Name"] == "'=HYPERLINK('http://evil.example','Open')"
    assert rows[0]["Enrolled By"] == "alice (slack)" and rows[0]["Status"] == "Active"


async def test_where_the_app_may_not_post_the_file_goes_to_the_users_dm(slack: Slack):
    await enroll(slack, "Fourth Coffee", "fourthcoffee.com")
    slack.api.refuse[("files.completeUploadExternal", TEAM_CHANNEL.id)] = "not_in_channel"
    after = len(slack.api.calls)
    await slack.command("export")
    done = await slack.api.wait_for(
        "files.completeUploadExternal", lambda c: c.result.get("ok"), after=after
    )
    assert done[0]["channel_id"] == "D" + ALICE.id.lstrip("U")
    shared = slack.api.files[done[0].result["files"][0]["id"]]
    assert [r["Customer Name"] for r in rows_of(shared[1])] == ["Fourth Coffee"]


async def test_an_upload_slack_refuses_is_said_not_lost(slack: Slack):
    slack.api.upload_failures = 1  # the file host answers 500 once
    sent = await slack.command("export finished")
    answer = await slack.api.answer_to(sent.response_url)
    assert "Slack's file host did not take onboardings-finished-" in text_of(answer["blocks"])
    assert not [c for c in slack.api.of("files.completeUploadExternal") if c.result.get("ok")]
    # the next try works
    after = len(slack.api.calls)
    await slack.command("export finished")
    done = (await slack.api.wait_for("files.completeUploadExternal", after=after))[0]
    assert done.result["ok"]
    assert rows_of(slack.api.files[done.result["files"][0]["id"]][1]) == []


async def test_an_unknown_status_is_answered_with_the_words_there_are(slack: Slack):
    answer = await slack.ask("export falied")
    assert 'Unknown status "falied": use one of active, failed, completed, finished' in text_of(
        answer["blocks"]
    )


async def test_the_review_shows_the_first_customers_and_posts_the_whole_list(slack: Slack):
    rows = [f"Customer {i:02d},ops@cust{i:02d}.com,cust{i:02d}.com,us" for i in range(25)]
    data = ("Customer Name,Email Address,Domain Name,Country Code\n" + "\n".join(rows)).encode()
    after = len(slack.api.calls)
    review = await upload(slack, data, "customers.csv")
    shown = text_of(review["blocks"])
    assert "Row 2: *Customer 00* · ops@cust00.com · cust00.com · US" in shown
    assert "Row 21: *Customer 19*" in shown and "Customer 20" not in shown
    assert "… and 5 more: every one is in the review CSV posted with this review." in shown
    done = (await slack.api.wait_for("files.completeUploadExternal", after=after))[0]
    assert done["channel_id"] == TEAM_CHANNEL.id
    assert "The 25 customers from customers.csv ready to enroll" in done["initial_comment"]
    name, content = slack.api.files[done.result["files"][0]["id"]]
    assert name == "customers-review.csv"
    listed = rows_of(content)
    assert len(listed) == 25
    assert listed[24] == {
        "Row": "26",
        "Customer Name": "Customer 24",
        "Email Address": "ops@cust24.com",
        "Domain Name": "cust24.com",
        "Country Code": "US",
    }


async def test_a_short_review_needs_no_file(slack: Slack):
    data = b"Customer Name,Email Address,Domain Name,Country Code\nSolo,it@solo.com,solo.com,DE\n"
    review = await upload(slack, data)
    assert "Row 2: *Solo* · it@solo.com · solo.com · DE" in text_of(review["blocks"])
    await slack.api.quiet()
    assert slack.api.of("files.completeUploadExternal") == []
