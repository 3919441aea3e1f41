"""A channel that asked for notices gets every status change and reminder, one thread per
customer: the thread's head is the customer's card kept up to date, the notices are its
replies, failures are also shown in the channel, and `notify here failures|off` work."""

from __future__ import annotations

from tests.e2e.slack_support import ALERTS, TEAM_CHANNEL, Slack, button_labels, slack, text_of

__all__ = ["slack"]


def posts_in(slack: Slack, channel: str) -> list:
    return [c for c in slack.api.of("chat.postMessage") if c["channel"] == channel]


async def test_notices_go_in_one_thread_per_customer(slack: Slack):
    answer = await slack.ask("notify here")
    assert "Notices to #onboarding: every status change and reminder." in answer["text"]

    await slack.ask('enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US')
    await slack.ask('enroll "Fourth Coffee" it@fourthcoffee.com fourthcoffee.com US')
    await slack.ask("remind abctech.com")
    await slack.ask("sandbox accept-reseller abctech.com")
    await slack.api.quiet()

    posts = posts_in(slack, TEAM_CHANNEL.id)
    heads = [c for c in posts if not c.get("thread_ts")]
    assert len(heads) == 2  # one card per customer in the channel
    abc_head = next(c for c in heads if "ABC Technologies" in c["text"])
    assert "ABC Technologies Inc. (abctech.com) — Active" in text_of(abc_head["blocks"])
    assert "Send reminder email" in button_labels(abc_head["blocks"])
    head_ts = abc_head.result["ts"]
    replies = [c for c in posts if c.get("thread_ts") == head_ts]
    assert [r["text"].split(": ", 1)[1][:24] for r in replies] == [
        "Enrolled ABC Technologie",
        "Reminder email for Resel",
        "Reseller relationship Es",
    ]
    assert all(r["text"] and r["blocks"] for r in replies)
    # Under a notice about a waiting step, why it waits, as the card says it; none once
    # the step no longer waits.
    waiting = ":hourglass_flowing_sand: Reseller Relationship: Waiting for the customer to accept"
    enrolled, reminded, accepted = (text_of(r["blocks"]) for r in replies)
    assert f"{waiting} since now · next reminder in a day" in enrolled
    assert f"{waiting} since now · next reminder in a day" in reminded
    assert "Waiting for" not in accepted
    # The head is kept current: after the last notice it shows reseller Established.
    updates = [c for c in slack.api.of("chat.update") if c["ts"] == head_ts]
    assert "Reseller Relationship*\nEstablished" in text_of(updates[-1]["blocks"])

    # A button on the channel's card works for anyone and refreshes that card in place.
    sent = await slack.click(updates[-1], "Cancel onboarding", ephemeral=False, ts=head_ts)
    assert sent.status == 200
    await slack.api.wait_for(
        "chat.update", lambda c: "cancelled" in c["text"] and c["ts"] == head_ts
    )


async def test_failures_only_and_off(slack: Slack):
    assert "failures only" in (await slack.ask("notify here failures", channel=ALERTS))["text"]
    await slack.ask('enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US')
    await slack.ask("sandbox accept-reseller abctech.com")
    await slack.command("gdap abctech.com")
    await slack.submit(await slack.modal())
    await slack.api.wait_for("response_url", count=3)
    await slack.ask("sandbox approve-gdap abctech.com")
    await slack.ask("sandbox expire-gdap abctech.com")
    await slack.api.quiet()
    posts = posts_in(slack, ALERTS.id)
    replies = [c for c in posts if c.get("thread_ts")]
    assert [r["text"] for r in replies] == [
        "ABC Technologies Inc.: GDAP access Expired: the admin relationship has ended."
    ]
    assert replies[0]["reply_broadcast"] is True  # a failure is shown in the channel too
    head = text_of(next(c for c in posts if not c.get("thread_ts"))["blocks"])
    assert "GDAP Access*\n:x: Expired" in head  # the step that went wrong is marked
    assert "Reseller Relationship*\nEstablished" in head

    assert "are off" in (await slack.ask("notify here off", channel=ALERTS))["text"]
    before = len(slack.api.of("chat.postMessage"))
    await slack.ask("cancel abctech.com --yes")
    await slack.api.quiet()
    assert len(slack.api.of("chat.postMessage")) == before


async def test_a_rate_limited_notice_is_retried_not_lost(slack: Slack):
    await slack.ask("notify here")
    slack.api.rate_limited["chat.postMessage"] = 1
    await slack.ask('enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US')
    await slack.api.quiet()
    posts = posts_in(slack, TEAM_CHANNEL.id)
    # slack_sdk's rate-limit handler waited Retry-After and sent it again: nothing lost.
    assert [c.result.get("ok") for c in posts] == [None, True, True]
