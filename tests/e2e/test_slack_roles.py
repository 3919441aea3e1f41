"""Who may do what, through signed Slack requests to the real app: every command and button
against viewer, operator and admin, and a user of another workspace. Allowed ones work;
refused ones change nothing and name the role they need."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.slack_support import (
    ALICE,
    TEAM,
    TEAM_CHANNEL,
    Slack,
    User,
    button_labels,
    slack,
    text_of,
)

__all__ = ["slack"]

CAROL = User("U0CAROL", "carol")  # nobody granted her anything: a viewer
DAVE = User("U0DAVE", "dave")  # made an operator by the admin
MALLORY = User("U0MALLORY", "mallory")  # of another workspace
GDAP_NAME = "ABC GDAP"


def customers(slack: Slack) -> int:
    return slack.bot.service.customers.dashboard().total


def card_of(slack: Slack) -> Any:
    return slack.bot.service.customers.card("abctech.com")


async def answer(slack: Slack, text: str, user: User) -> str:
    return text_of((await slack.ask(text, user=user))["blocks"])


async def other_workspace(slack: Slack, text: str) -> str:
    url = slack.api.response_url()
    body = slack.command_body(text, MALLORY, TEAM_CHANNEL, url).replace(
        f"team_id={TEAM['id']}", "team_id=T0ELSEWHERE"
    )
    sent = await slack.send(body, "application/x-www-form-urlencoded")
    assert sent.status == 200
    return text_of((await slack.api.answer_to(url)).args["blocks"])


async def set_up(slack: Slack) -> None:
    await slack.ask('enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US')
    await slack.ask("sandbox accept-reseller abctech.com")
    granted = await answer(slack, f"access grant <@{DAVE.id}> operator", ALICE)
    assert f"made slack:{TEAM['id']}:{DAVE.id} operator (was viewer)" in granted


# (command, who may run it); each row is tried by everyone below that role and refused.
TABLE = [
    ("status", "viewer"),
    ("search abc", "viewer"),
    ("show abctech.com", "viewer"),
    ("log abctech.com", "viewer"),
    ('enroll "Fourth Coffee" it@fourthcoffee.com fourthcoffee.com US', "operator"),
    ("remind abctech.com reseller", "operator"),
    ("notify here", "operator"),
    ("sandbox approve-gdap abctech.com", "operator"),
    ("cancel abctech.com --yes", "admin"),
    ("access", "admin"),
    (f"access grant <@{CAROL.id}> admin", "admin"),
    ("digest daily 08:30", "admin"),  # in a channel: the channel's digest
]
RANK = {"viewer": 0, "operator": 1, "admin": 2}


@pytest.mark.parametrize(("line", "needed"), TABLE, ids=[line for line, _ in TABLE])
async def test_each_command_needs_its_role_and_a_refusal_changes_nothing(
    slack: Slack, line: str, needed: str
):
    await set_up(slack)
    for user, role in ((CAROL, "viewer"), (DAVE, "operator")):
        before = (customers(slack), card_of(slack).row.overall, len(card_of(slack).events))
        said = await answer(slack, line, user)
        if RANK[role] >= RANK[needed]:
            assert "needs the" not in said, (role, said)
            continue
        assert f"needs the {needed} role; you are a {role}" in said, said
        assert f"slack:{TEAM['id']}:{ALICE.id}" in said  # who to ask
        after = (customers(slack), card_of(slack).row.overall, len(card_of(slack).events))
        assert after == before, line
    said = await answer(slack, line, ALICE)
    assert "needs the" not in said


async def test_global_administrator_needs_an_admin_and_the_form_shows_what_a_role_may_do(
    slack: Slack,
):
    await set_up(slack)
    service = slack.bot.service
    from bot.domain import Actor
    from bot.gdap_roles import GLOBAL_ADMINISTRATOR_ID, RECOMMENDED_ROLE_IDS

    dave = Actor(DAVE.id, DAVE.name, "slack", TEAM["id"])
    values = {"name": GDAP_NAME, "duration": "30", "roles": [*RECOMMENDED_ROLE_IDS]}
    with pytest.raises(Exception, match="Global Administrator needs the admin role"):
        service.gdap.request(
            "abctech.com",
            {**values, "roles": [*RECOMMENDED_ROLE_IDS, GLOBAL_ADMINISTRATOR_ID]},
            dave,
        )
    assert card_of(slack).row.gdap == "Not started"
    assert service.gdap.request("abctech.com", values, dave).row.gdap == "In Progress"


async def test_buttons_a_role_may_not_use_are_not_shown(slack: Slack):
    await set_up(slack)
    viewer = button_labels((await slack.ask("show abctech.com", user=CAROL))["blocks"])
    operator = button_labels((await slack.ask("show abctech.com", user=DAVE))["blocks"])
    admin = button_labels((await slack.ask("show abctech.com", user=ALICE))["blocks"])
    assert "Cancel onboarding" in admin and "Create GDAP request" in admin
    assert "Create GDAP request" in operator and "Cancel onboarding" not in operator
    assert "Create GDAP request" not in viewer and "Cancel onboarding" not in viewer
    assert "Activity log" in viewer


async def test_another_workspace_sees_nothing_and_changes_nothing(slack: Slack):
    await set_up(slack)
    for line in ("status", "show abctech.com", "cancel abctech.com --yes", "access"):
        said = await other_workspace(slack, line)
        assert said == (
            ":x: This bot serves another organisation: nothing here is shown or changed for "
            "your workspace or tenant."
        )
        assert "ABC" not in said
    assert customers(slack) == 1 and card_of(slack).row.overall == "Active"


async def test_granting_and_revoking_is_in_the_bots_log(slack: Slack):
    await set_up(slack)
    revoked = await answer(slack, f"access revoke <@{DAVE.id}>", ALICE)
    assert f"revoked the role of slack:{TEAM['id']}:{DAVE.id}" in revoked
    log = await answer(slack, "access log", ALICE)
    assert "alice (slack) made" in log and "operator (was viewer)" in log
    assert "revoked the role" in log
    said = await answer(slack, 'enroll "X Co" it@xco.com xco.com US', DAVE)
    assert "needs the operator role; you are a viewer" in said


async def test_an_enterprise_grid_organisation_named_in_slack_team_ids_is_served(slack: Slack):
    await set_up(slack)
    slack.bot.service.access.organisations["slack"] = frozenset({"E0GRID"})
    url = slack.api.response_url()
    body = (
        slack.command_body("status", CAROL, TEAM_CHANNEL, url).replace(
            f"team_id={TEAM['id']}", "team_id=T0SISTER"
        )
        + "&enterprise_id=E0GRID"
    )
    assert (await slack.send(body, "application/x-www-form-urlencoded")).status == 200
    assert "*Active* 1" in text_of((await slack.api.answer_to(url)).args["blocks"])
    outside = await other_workspace(slack, "status")  # T0ELSEWHERE, in no grid
    assert outside.startswith(":x: This bot serves another organisation")
