"""Who may do what, through card actions posted to the real app as Teams posts them: every
button of a customer card, the confirmation and the forms, against viewer, operator and admin,
and a user of another tenant. Allowed ones work; refused ones change nothing and name the role
they need; another tenant gets the one line. In Teams, `access grant @Person ROLE` names the
person by their @mention."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.teams_support import (
    PERSONAL,
    TENANT,
    TeamsClient,
    TeamsUser,
    World,
    button,
    last_card,
    loopback_only,
    teams_world,
)

__all__ = ["loopback_only"]

ALICE = TeamsUser()  # in BOT_ADMINS
CAROL = TeamsUser("29:1carol", "Carol Viewer", "aad-carol-0003")  # granted nothing: a viewer
DAVE = TeamsUser("29:1dave", "Dave Operator", "aad-dave-0004")  # made an operator by Alice
MALLORY = TeamsUser("29:1mallory", "Mallory", "aad-mallory-0005")  # of another tenant
OTHER_TENANT = "0badc0de-0000-4000-8000-000000000666"
RANK = {"viewer": 0, "operator": 1, "admin": 2}
OTHER_ORGANISATION = (
    "✗ This bot serves another organisation: nothing here is shown or changed for your "
    "workspace or tenant."
)


@pytest.fixture
async def world(tmp_path: Path, loopback_only: list[str]) -> AsyncIterator[World]:
    async with teams_world(tmp_path, teams_tenant_ids=TENANT) as w:
        yield w
    assert loopback_only == []


def as_user(w: World, user: TeamsUser, tenant: str = TENANT) -> TeamsClient:
    client = TeamsClient(w.teams.bot_url, w.connector, w.teams.session, user)
    client.tenant = tenant
    return client


async def grant_by_mention(w: World, user: TeamsUser, role: str) -> str:
    """`access grant @User ROLE` as Teams sends it: the @mention in the text and an entity."""
    before = len(w.connector.sent)
    activity = w.teams.base(PERSONAL, "message")
    tag = f"<at>{user.name}</at>"
    activity["text"] = f"access grant {tag} {role}"
    activity["entities"].append(
        {
            "type": "mention",
            "text": tag,
            "mentioned": {"id": user.id, "name": user.name, "aadObjectId": user.aad_object_id},
        }
    )
    response = await w.teams.post(activity)
    assert response.status in (200, 201)
    return last_card(w.connector.sent[before:]).text


async def set_up(w: World) -> dict[str, tuple[dict, dict[str, Any]]]:
    """ABC enrolled and its reseller relationship accepted, Dave an operator; returns each
    action's button data (and the inputs it is sent with), taken from the admin's cards."""
    await w.teams.say(
        PERSONAL, 'enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US'
    )
    await w.teams.say(PERSONAL, "sandbox accept-reseller abctech.com")
    granted = await grant_by_mention(w, DAVE, "operator")
    assert f"made teams:{TENANT}:{DAVE.aad_object_id} operator (was viewer)" in granted, granted
    shown = last_card(await w.teams.say(PERSONAL, "show abctech.com")).card
    assert shown is not None
    actions: dict[str, tuple[dict, dict[str, Any]]] = {
        title: (button(shown, title), {})
        for title in (
            "Activity log",
            "Create GDAP request",
            "Start MSP Hub access",
            "Initiate P2P transfer",
            "Cancel onboarding",
        )
    }
    line = button(shown, "Cancel onboarding")["onboard"]["line"]
    ask = last_card(await w.teams.say(PERSONAL, line)).card
    assert ask is not None
    actions["Confirm cancel"] = (button(ask, "Cancel onboarding"), {})
    enroll = last_card(await w.teams.say(PERSONAL, "enroll")).card
    assert enroll is not None
    actions["Submit enroll form"] = (
        button(enroll, "Submit"),
        {"name": "Fourth Coffee", "email": "it@fourthcoffee.com"}
        | {"domain": "fourthcoffee.com", "country": "US"},
    )
    gdap = last_card(await w.teams.say(PERSONAL, "gdap abctech.com")).card
    assert gdap is not None
    roles = next(e for e in gdap["body"] if e.get("id") == "roles")["value"]
    actions["Submit GDAP form"] = (
        button(gdap, "Create request"),
        {"name": "ABC GDAP", "duration": "90", "roles": roles, "roles__1": ""},
    )
    return actions


# (action, the role it needs); each is tried by everyone below that role and refused.
TABLE = [
    ("Activity log", "viewer"),
    ("Create GDAP request", "operator"),
    ("Start MSP Hub access", "operator"),
    ("Initiate P2P transfer", "operator"),
    ("Submit enroll form", "operator"),
    ("Submit GDAP form", "operator"),
    ("Cancel onboarding", "admin"),
    ("Confirm cancel", "admin"),
]


def state(w: World) -> tuple[Any, ...]:
    card = w.bot.service.customers.card("abctech.com")
    return (w.customers(), card.row.overall, card.row.gdap, len(card.events))


async def click(client: TeamsClient, data: dict, inputs: dict[str, Any]) -> str:
    sent = await client.click(PERSONAL, "act-1", data, inputs)
    return "\n".join(s.text for s in sent)


@pytest.mark.parametrize(("action", "needed"), TABLE, ids=[a for a, _ in TABLE])
async def test_each_card_action_needs_its_role_and_a_refusal_changes_nothing(
    world: World, action: str, needed: str
):
    w = world
    data, inputs = (await set_up(w))[action]
    for user, role in ((CAROL, "viewer"), (DAVE, "operator"), (ALICE, "admin")):
        before = state(w)
        said = await click(as_user(w, user), data, inputs)
        if RANK[role] >= RANK[needed]:
            assert "needs the" not in said, (role, said)
            continue
        assert f"needs the {needed} role; you are a {role}" in said, (role, said)
        assert f"teams:{TENANT}:{ALICE.aad_object_id}" in said  # who to ask
        assert state(w) == before, (action, role)


async def test_another_tenant_gets_the_one_line_and_changes_nothing(world: World):
    w = world
    actions = await set_up(w)
    mallory = as_user(w, MALLORY, OTHER_TENANT)
    before = state(w)
    for data, inputs in actions.values():
        said = await click(mallory, data, inputs)
        assert said == OTHER_ORGANISATION, said
    for line in ("status", "show abctech.com", "cancel abctech.com --yes", "access"):
        sent = await mallory.say(PERSONAL, line)
        assert [s.text for s in sent] == [OTHER_ORGANISATION]
    assert state(w) == before


async def test_a_mention_names_the_person_and_the_bots_own_mention_is_left_out(world: World):
    w = world
    await set_up(w)
    sent = await as_user(w, DAVE).say(
        PERSONAL, 'enroll "Fourth Coffee" it@fourthcoffee.com fourthcoffee.com US'
    )
    assert "Enrolled Fourth Coffee" in sent[-1].text  # Dave is an operator now
    revoked = last_card(
        await w.teams.say(PERSONAL, f"access revoke teams:{TENANT}:{DAVE.aad_object_id}")
    )
    assert "a viewer now" in revoked.text
    again = await grant_by_mention(w, CAROL, "admin")
    assert f"made teams:{TENANT}:{CAROL.aad_object_id} admin" in again
