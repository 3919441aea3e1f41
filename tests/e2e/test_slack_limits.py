"""Every answer stays within Slack's limits whatever the user typed: a modal's private_metadata
stays under 3,000 characters for the longest customer reference (a modal past it is refused
by Slack: "Something went wrong"), and metadata that cannot fit is kept server-side. (Every
payload of every test is also checked against Slack's limits by `tests/fakes/slack_api.py`.)"""

from __future__ import annotations

import pytest

from adapters.slack import forms
from tests.e2e.slack_support import Slack, slack, text_of

__all__ = ["slack"]
NAME = "\U0001f600" * 250 + " Ltd"  # 254 characters: a customer name near its limit


async def gdap_form_for_a_long_reference(slack: Slack) -> tuple[dict, str]:
    await slack.ask(f'enroll "{NAME}" it@emojico.com emojico.com US')
    await slack.ask("sandbox accept-reseller emojico.com")
    after = len(slack.api.calls)
    sent = await slack.command(f'gdap "{NAME}"')
    view = await slack.modal(after)
    return view, sent.response_url


async def test_a_long_customer_reference_fits_the_modal(slack: Slack):
    view, url = await gdap_form_for_a_long_reference(slack)
    assert len(view["private_metadata"]) <= forms.META_MAX
    assert "name" in {b["block_id"].split(":")[1] for b in view["blocks"] if b["type"] == "input"}
    done = await slack.submit(view, {"name": "Emoji GDAP"})
    assert done.status == 200 and done.body == ""
    answer = (await slack.api.answer_to(url)).args
    assert "GDAP request sent to it@emojico.com" in text_of(answer["blocks"])


async def test_metadata_that_cannot_fit_is_kept_server_side(slack: Slack, monkeypatch):
    monkeypatch.setattr(forms, "META_MAX", 60)
    view, url = await gdap_form_for_a_long_reference(slack)
    assert len(view["private_metadata"]) <= 60 and NAME not in view["private_metadata"]
    done = await slack.submit(view, {"duration": "0"})  # a field error: the modal stays
    assert done.json()["response_action"] == "errors"
    done = await slack.submit(view, {"name": "Emoji GDAP"})
    assert done.status == 200 and done.body == ""
    answer = (await slack.api.answer_to(url)).args  # the answer still finds its way back
    assert "GDAP request sent to it@emojico.com" in text_of(answer["blocks"])


@pytest.mark.parametrize("typed", ["x" * 5000, "\U0001f600" * 3000])
async def test_a_reference_past_any_limit_gets_an_answer_not_a_broken_modal(
    slack: Slack, typed: str
):
    after = len(slack.api.calls)
    sent = await slack.command(f'gdap "{typed}"')
    await slack.api.quiet()
    calls = slack.api.calls[after:]
    shown = "\n".join(
        text_of(c["blocks"]) if c.method == "response_url" else text_of(c["view"]["blocks"])
        for c in calls
        if c.method in ("response_url", "views.update")
    )
    assert "Something went wrong" not in shown and shown
    assert sent.status == 200


@pytest.mark.parametrize("line", ["show {}", "search {}", "remind {} reseller", "status {}"])
async def test_an_answer_that_echoes_a_typed_value_cuts_it(slack: Slack, line: str):
    typed = "contoso" * 700  # 4,900 characters
    answer = await slack.ask(line.format(typed))
    shown = text_of(answer["blocks"])
    assert typed[:200] not in shown and typed[:200] not in answer["text"]
    assert len(shown) < 1500 and len(answer["text"]) < 1500
