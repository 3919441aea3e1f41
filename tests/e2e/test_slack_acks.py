"""Slack is answered within its 3 seconds whatever the work costs: slow work runs after the
ack, a modal is opened while the click's trigger is fresh and filled after, and a slow form
submission says "Working…" and then answers (or shows the form again with the problem)."""

from __future__ import annotations

import time

import adapters.slack.app as slack_app
from bot.customers import Customers
from bot.enrollment import Enrollment
from bot.hub_access import HubAccess
from tests.e2e.slack_support import Slack, inputs, slack, text_of

__all__ = ["slack"]
SLOW = 1.5  # seconds of work; the ack must not wait for it


def slowed(monkeypatch, use_case: type, name: str) -> None:
    real = getattr(use_case, name)

    def slow(self, *args, **kwargs):
        time.sleep(SLOW)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(use_case, name, slow)


async def test_a_slow_command_is_acknowledged_at_once_and_answered_after(slack: Slack, monkeypatch):
    slowed(monkeypatch, Customers, "dashboard")
    started = time.monotonic()
    sent = await slack.command("status")
    assert sent.status == 200 and time.monotonic() - started < 1.0
    answer = await slack.api.answer_to(sent.response_url)
    assert "Active 0" in answer["text"]


async def test_a_modal_opens_before_slow_work_and_is_filled_after(slack: Slack, monkeypatch):
    await slack.ask('enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US')
    await slack.ask("sandbox accept-reseller abctech.com")
    slowed(monkeypatch, HubAccess, "form")
    started = time.monotonic()
    sent = await slack.command("hub abctech.com")
    assert sent.status == 200
    (opened,) = await slack.api.wait_for("views.open")
    assert time.monotonic() - started < 1.0  # the trigger_id was still fresh
    assert opened["trigger_id"] == sent.trigger_id
    assert "Loading" in text_of(opened["view"]["blocks"])
    view = await slack.modal()
    assert inputs(view)["company_name"]["element"]["initial_value"] == "ABC Technologies Inc."


async def test_a_slow_submission_says_working_then_answers(slack: Slack, monkeypatch):
    monkeypatch.setattr(slack_app, "SUBMIT_WAIT", 0.05)
    slowed(monkeypatch, Enrollment, "enroll")
    sent = await slack.command("enroll")
    view = await slack.modal()
    typed = {
        "name": "Fourth Coffee",
        "email": "it@fourthcoffee.com",
        "domain": "fourthcoffee.com",
        "country": "GB",
    }
    answer = (await slack.submit(view, typed)).json()
    assert answer["response_action"] == "update"
    assert "Working on it" in text_of(answer["view"]["blocks"])
    card = await slack.api.answer_to(sent.response_url, timeout=15)
    assert "Enrolled Fourth Coffee." in text_of(card["blocks"])
    done = slack.api.of("views.update")[-1]
    assert done["view"]["title"]["text"] == "Done"

    # Too slow for field errors: the form comes back with the problem and what was typed.
    after = len(slack.api.calls)
    await slack.command("enroll")
    view = await slack.modal(after)
    answer = (await slack.submit(view, {**typed, "email": "it@fourth.com"})).json()
    assert answer["response_action"] == "update"
    again = await slack.api.wait_for(
        "views.update",
        lambda c: c["view"]["title"]["text"] == "Enroll customer",
        after=after + 2,
        timeout=15,
    )
    shown = again[0]["view"]
    assert "fourthcoffee.com is already in onboarding" in text_of(shown["blocks"])
    assert inputs(shown)["email"]["element"]["initial_value"] == "it@fourth.com"
    assert inputs(shown)["country"]["element"]["initial_option"]["value"] == "GB"
