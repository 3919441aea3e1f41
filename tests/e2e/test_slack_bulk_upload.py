"""Bulk enrollment from Slack: `/onboard bulk` opens a modal with a file input and the
template; the uploaded CSV is downloaded with the bot token and reviewed (every problem by
row and column); Confirm shows progress in the same message, then the summary; a double
click enrolls nobody twice; a large import does not hold up other users."""

from __future__ import annotations

import time

import pytest

import adapters.slack.app as slack_app
import bot.bulk
from bot.csvio import MAX_BYTES
from tests.e2e.slack_support import (
    BOB,
    TEAM_CHANNEL,
    TOKEN,
    Slack,
    button_labels,
    find_button,
    inputs,
    slack,
    text_of,
)

__all__ = ["slack"]
HEADER = "Customer Name,Email Address,Domain Name,Country Code\n"


def csv_of(rows: list[str]) -> bytes:
    return (HEADER + "\n".join(rows) + "\n").encode()


def many(n: int) -> bytes:
    return csv_of([f"Customer {i},it@c{i}.com,c{i}.com,US" for i in range(n)])


async def upload(slack: Slack, data: bytes, name: str = "customers.csv") -> dict:
    """`/onboard bulk`, a file chosen in the modal, submitted; returns the review message
    (with the `ts` Slack gave it)."""
    after = len(slack.api.calls)
    await slack.command("bulk")
    view = await slack.modal(after)
    file = slack.api.add_file(name, data)
    sent = await slack.submit(view, {"file": [file]})
    assert sent.status == 200 and sent.body == ""
    posted = (
        await slack.api.wait_for("chat.postMessage", lambda c: c.result.get("ok"), after=after)
    )[0]
    return {**posted.args, "ts": posted.result["ts"]}


async def test_bulk_modal_offers_the_template_as_a_file(slack: Slack):
    await slack.command("bulk")
    view = await slack.modal()
    assert view["title"]["text"] == "Bulk enrollment"
    file_input = inputs(view)["file"]["element"]
    assert file_input["type"] == "file_input" and file_input["max_files"] == 1
    assert "Upload the customers' CSV file" in text_of(view["blocks"])
    assert "Download template" in button_labels(view["blocks"])

    await slack.click({}, "Download template", view=view)
    done = (await slack.api.wait_for("files.completeUploadExternal"))[0]
    assert done["channel_id"] == TEAM_CHANNEL.id
    assert "Fill one customer per row" in done["initial_comment"]
    uploaded = slack.api.of("upload")[0]["data"]
    assert uploaded.decode("utf-8-sig").startswith(HEADER.strip())
    assert "Authorization" not in slack.api.of("upload")[0].headers  # the token stays home


async def test_review_then_confirm_with_progress_then_summary(slack: Slack, monkeypatch):
    monkeypatch.setattr(bot.bulk, "BULK_CHUNK", 40)
    monkeypatch.setattr(slack_app, "PROGRESS_EVERY", 0.01)
    rows = [f"Customer {i},it@c{i}.com,c{i}.com,US" for i in range(150)]
    rows += [
        "Bad Mail Inc,not-an-email,badmail.com,US",
        "No Country,it@nc.com,nc.com,USA",
        "Twice Again,it@c1.com,c1.com,US",
    ]
    review = await upload(slack, csv_of(rows))

    download = slack.api.of("download")[0]
    assert download.headers["Authorization"] == f"Bearer {TOKEN}"
    assert slack.api.of("files.info")
    assert review["channel"] == TEAM_CHANNEL.id
    shown = text_of(review["blocks"])
    assert "153 rows: *150 ready to enroll*, 3 problems" in shown
    assert "Row 152, Email Address:" in shown
    assert "Row 153, Country Code:" in shown
    assert "Row 154, Domain Name: c1.com is also on row 3 of this file." in shown
    assert button_labels(review["blocks"]) == ["Enroll 150", "Cancel"]
    assert slack.bot.service.customers.dashboard().total == 0  # nobody until confirmed

    ts = review["ts"]
    after = len(slack.api.calls)
    sent = await slack.click(review, "Enroll 150", ephemeral=False, ts=ts)
    double = await slack.click(review, "Enroll 150", ephemeral=False, ts=ts)
    assert sent.status == double.status == 200

    def summary(call) -> bool:
        return "Bulk enrollment done" in call["text"]

    await slack.api.wait_for("chat.update", summary, after=after, timeout=30)
    updates = [c for c in slack.api.calls[after:] if c.method == "chat.update"]
    assert all(c["channel"] == TEAM_CHANNEL.id and c["ts"] == ts for c in updates)
    assert any(c["text"].startswith("Enrolling…") for c in updates)  # progress in place
    final = next(c for c in updates if summary(c))
    assert "150 enrolled, 3 not enrolled" in final["text"]
    await slack.api.quiet()
    assert (
        slack.bot.service.customers.dashboard().total == 150
    )  # the double click enrolled nobody twice


async def test_cancel_discards_and_a_bad_file_is_explained(slack: Slack):
    review = await upload(slack, csv_of(["Contoso,it@contoso.com,contoso.com,US"]))
    block_id, _ = find_button(review["blocks"], "Cancel")
    assert block_id.startswith("review:")
    sent = await slack.click(review, "Cancel", ephemeral=False, ts=review["ts"])
    update = (await slack.api.wait_for("chat.update"))[0]
    assert "discarded: nobody was enrolled" in update["text"]
    assert sent.status == 200

    after = len(slack.api.calls)
    await slack.command("bulk")
    view = await slack.modal(after)
    file = slack.api.add_file("customers.xlsx", b"PK\x03\x04" + b"\x00" * 200)
    await slack.submit(view, {"file": [file]})
    answer = (await slack.api.wait_for("response_url", after=after))[0].args
    assert answer["response_type"] == "ephemeral"
    assert "xlsx" in answer["text"].lower() or "csv" in answer["text"].lower()


@pytest.mark.parametrize("rows", [1000])
async def test_a_large_import_does_not_hold_up_other_users(slack: Slack, rows: int):
    review = await upload(slack, many(rows))
    assert f"*{rows} ready to enroll*" in text_of(review["blocks"])
    after = len(slack.api.calls)
    await slack.click(review, f"Enroll {rows}", ephemeral=False, ts=review["ts"])
    started = time.monotonic()
    answer = await slack.ask("status", user=BOB)
    waited = time.monotonic() - started
    finished = [
        c
        for c in slack.api.calls[after:]
        if c.method == "chat.update" and "Bulk enrollment done" in c["text"]
    ]
    assert "Active" in answer["text"]
    assert not finished, f"status waited {waited:.1f}s for the whole import"
    await slack.api.wait_for(
        "chat.update", lambda c: "Bulk enrollment done" in c["text"], after=after, timeout=60
    )


async def test_every_problem_of_a_big_file_is_in_a_file_beside_the_review(slack: Slack):
    slack.api.refuse[("chat.postMessage", TEAM_CHANNEL.id)] = "not_in_channel"
    rows = [f"Customer {i},not-an-email,c{i}.com,US" for i in range(150)]
    review = await upload(slack, csv_of(rows), "october.csv")
    assert review["channel"] == "U0ALICE"  # the app is not in the channel: the user's DM
    shown = text_of(review["blocks"])
    assert "Row 101, Email Address:" in shown and "Row 102, Email Address:" not in shown
    assert "… and 50 more: every problem is in the file posted with this review." in shown
    done = (await slack.api.wait_for("files.completeUploadExternal"))[0]
    assert done["channel_id"] == "D0ALICE"
    (upload_call,) = slack.api.of("upload")
    assert upload_call["name"] == "october-problems.csv"
    lines = upload_call["data"].decode("utf-8-sig").splitlines()
    assert lines[0] == "Row,Column,Problem" and len(lines) == 151
    assert lines[1].startswith("2,Email Address,")


def sized(rows: int, size: int) -> bytes:
    """A valid CSV of `rows` customers, exactly `size` bytes long (spaces after the country
    code, which the reader strips, pad each row)."""
    lines = [f"Customer {i},it@c{i}.com,c{i}.com,US" for i in range(rows)]
    bare = len(csv_of(lines))
    assert bare <= size, "too many rows for that size"
    pad, extra = divmod(size - bare, rows)
    lines = [line + " " * (pad + (i < extra)) for i, line in enumerate(lines)]
    data = csv_of(lines)
    assert len(data) == size
    return data


@pytest.mark.parametrize("pause", [0.001, 0.03], ids=["host", "slow host"])
async def test_a_300_kb_file_is_read_whole(slack: Slack, pause: float):
    """The file host sends the file chunked, in many writes: every row reaches the review."""
    slack.api.download_pause = pause
    data = sized(5_000, 300 * 1024)
    review = await upload(slack, data)
    assert "5000 rows: *5000 ready to enroll*, 0 problems" in text_of(review["blocks"])
    assert button_labels(review["blocks"]) == ["Enroll 5000", "Cancel"]


async def test_a_file_just_under_the_size_cap_is_read_whole(slack: Slack):
    slack.api.download_piece = 256 * 1024
    review = await upload(slack, sized(9_500, MAX_BYTES))
    assert "9500 rows: *9500 ready to enroll*, 0 problems" in text_of(review["blocks"])


@pytest.mark.parametrize("said", [None, 300 * 1024], ids=["size told", "size understated"])
async def test_a_file_just_over_the_size_cap_is_refused_with_the_limit(
    slack: Slack, said: int | None
):
    """Refused by the size Slack gives, or, when that is wrong, while it streams in: never a
    review of the part that fit."""
    slack.api.download_piece = 256 * 1024
    after = len(slack.api.calls)
    await slack.command("bulk")
    view = await slack.modal(after)
    file = slack.api.add_file("big.csv", sized(9_500, MAX_BYTES + 1), size=said)
    await slack.submit(view, {"file": [file]})
    answer = (await slack.api.wait_for("response_url", after=after))[0].args
    assert "big.csv is over 5 MB, the limit per file" in answer["text"]
    assert len(slack.api.of("download")) == (0 if said is None else 1)
    await slack.api.quiet()
    assert not slack.api.of("chat.postMessage")  # no review of a cut file


async def test_a_typed_bulk_confirm_shows_progress_in_one_message(slack: Slack, monkeypatch):
    """`/onboard bulk confirm ID` typed: one message posted, then updated with the progress
    and the summary; the command's response_url (5 posts, as Slack allows) is not used up."""
    monkeypatch.setattr(bot.bulk, "BULK_CHUNK", 100)
    monkeypatch.setattr(slack_app, "PROGRESS_EVERY", 0.01)
    review = await upload(slack, many(1_200))
    block_id, _ = find_button(review["blocks"], "Enroll 1200")
    import_id = block_id.split(":")[1]
    after = len(slack.api.calls)
    sent = await slack.command(f"bulk confirm {import_id}")
    assert sent.status == 200

    def summary(call) -> bool:
        return "Bulk enrollment done" in call["text"]

    await slack.api.wait_for("chat.update", summary, after=after, timeout=60)
    await slack.api.quiet()
    calls = slack.api.calls[after:]
    (posted,) = [c for c in calls if c.method == "chat.postMessage"]
    assert posted["text"].startswith("Enrolling…") and posted["channel"] == TEAM_CHANNEL.id
    updates = [c for c in calls if c.method == "chat.update"]
    assert len(updates) >= 5 and all(c["ts"] == posted.result["ts"] for c in updates)
    assert "1200 enrolled" in updates[-1]["text"] or "1,200 enrolled" in updates[-1]["text"]
    assert len(slack.api.posts_to(sent.response_url)) <= 1
    assert slack.bot.service.customers.dashboard().total == 1_200
