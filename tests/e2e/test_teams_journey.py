"""A partner team onboards a customer from Microsoft Teams, end to end: messages with an
@mention, card buttons (Action.Submit and Action.Execute), forms with their errors, updates in
place, bulk from a file and from pasted text, and notices posted to a channel."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from app import Bot, build, make_web_app
from settings import Settings
from tests.e2e.teams_support import (
    CHANNEL,
    GROUP,
    PERSONAL,
    TENANT,
    FakeConnector,
    TeamsClient,
    TeamsUser,
    assert_valid_card,
    assert_within_message_size,
    button,
    card_text,
    last_card,
    loopback_only,
    serving,
)

ROOT = Path(__file__).resolve().parents[2]
__all__ = ["loopback_only"]  # the fixture, used by name


@dataclass
class World:
    bot: Bot
    connector: FakeConnector
    teams: TeamsClient
    database_url: str


def settings_for(database_url: str, **extra: str) -> Settings:
    extra.setdefault("bot_admins", f"teams:{TENANT}:{TeamsUser().aad_object_id}")
    return Settings(_env_file=None, database_url=database_url, microsoft_app_id="", **extra)


@pytest.fixture
async def world(tmp_path: Path, loopback_only: list[str]) -> AsyncIterator[World]:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    bot = build(settings_for(url))
    connector = FakeConnector()
    async with (
        serving(connector.app()) as connector_url,
        serving(make_web_app(bot)) as bot_url,
        aiohttp.ClientSession() as session,
    ):
        connector.url = connector_url
        yield World(bot, connector, TeamsClient(bot_url, connector, session), url)
    for card in connector.cards():  # every card the bot sent or updated, whatever the test
        assert_valid_card(card)
    assert_within_message_size(connector.sent)
    assert not loopback_only, f"tried to reach {loopback_only}"
    bot.engine.dispose()


async def enroll_abc(w: World) -> str:
    sent = await w.teams.say(
        PERSONAL, 'enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US'
    )
    card = last_card(sent)
    assert "✓ Enrolled ABC Technologies Inc." in card.text
    return card.activity_id


async def test_help_lists_every_command_in_a_card(world: World):
    sent = await world.teams.say(PERSONAL, "help")
    assert len(sent) == 1 and sent[0].kind == "reply"
    text = sent[0].text
    for usage in (
        "status [active|failed|completed|finished|cancelled] [page N]",
        "notify here [all|failures|off]",
        "gdap CUSTOMER",
        "bulk FILE | bulk confirm ID | bulk discard ID",
    ):
        assert usage in text


async def test_channel_message_with_mention_and_dashboard(world: World):
    await enroll_abc(world)
    sent = await world.teams.say(CHANNEL, "status")
    card = last_card(sent)
    assert sent[0].conversation.startswith(CHANNEL.id)  # answered in the thread
    assert "Customer onboarding" in card.text
    assert "1\nActive" in card.text and "0\nFailed" in card.text
    assert "**ABC Technologies Inc.** (abctech.com)" in card.text
    assert (
        "Reseller In Progress · GDAP Not started · MSP Hub Not started · P2P Not started"
        in card.text
    )


async def test_full_journey_with_forms_updates_in_place_and_finish(world: World):
    w, chat = world, PERSONAL
    # the enroll form: country is a type-ahead choice of every ISO country
    form = last_card(await w.teams.say(chat, "enroll"))
    country = next(e for e in form.card["body"] if e.get("id") == "country")
    assert country["style"] == "filtered" and len(country["choices"]) >= 249
    # a bad field comes back on the same form, with what was typed kept
    sent = await w.teams.click(
        chat,
        form.activity_id,
        button(form.card, "Submit"),
        {
            "name": "ABC Technologies Inc.",
            "email": "john.doe@abctech",
            "domain": "abctech.com",
            "country": "US",
        },
    )
    again = last_card(sent)
    assert again.kind == "update" and again.activity_id == form.activity_id
    email = next(e for e in again.card["body"] if e.get("id") == "email")
    assert email["value"] == "john.doe@abctech"
    assert "Please fix the fields marked below." in again.text
    sent = await w.teams.click(
        chat,
        form.activity_id,
        button(again.card, "Submit"),
        {
            "name": "ABC Technologies Inc.",
            "email": "john.doe@abctech.com",
            "domain": "abctech.com",
            "country": "US",
        },
    )
    card = last_card(sent)
    assert card.kind == "update" and "✓ Enrolled ABC Technologies Inc." in card.text
    assert "Enrolled: now" in card.text or "Enrolled: just now" in card.text
    for step, status in (
        ("Reseller Relationship", "In Progress"),
        ("GDAP Access", "Not started"),
        ("MSP Hub Access", "Not started"),
        ("P2P Transfer", "Not started"),
    ):
        assert f"{step}\n{status}" in card.text
    card_id = form.activity_id

    # the customer accepts; GDAP through the form with recommended roles pre-selected
    await w.teams.say(chat, "sandbox accept-reseller abctech.com")
    shown = last_card(await w.teams.say(chat, "show abctech.com"))
    card_id = shown.activity_id
    gdap = last_card(await w.teams.click(chat, card_id, button(shown.card, "Create GDAP request")))
    assert gdap.kind == "update" and "GDAP request for ABC Technologies Inc." in gdap.text
    assert "auto-extends by 180 days" in gdap.text
    roles = next(e for e in gdap.card["body"] if e.get("id") == "roles")
    recommended = roles["value"].split(",")
    assert len(recommended) == 11
    toggles = [a for a in w.teams and _actions(gdap.card) if a["type"] == "Action.ToggleVisibility"]
    assert toggles and toggles[0]["title"] == "Show additional roles"
    submit = button(gdap.card, "Create request")
    # duration out of range: the error is shown under the field, input kept
    bad = last_card(
        await w.teams.click(
            chat,
            card_id,
            submit,
            {
                "name": "ABC Technologies Inc. GDAP",
                "duration": "999",
                "roles": roles["value"],
                "roles__1": "",
            },
        )
    )
    assert bad.kind == "update" and "730" in bad.text
    assert next(e for e in bad.card["body"] if e.get("id") == "duration")["value"] == 999
    done = last_card(
        await w.teams.click(
            chat,
            card_id,
            button(bad.card, "Create request"),
            {
                "name": "ABC Technologies Inc. GDAP",
                "duration": "400",
                "roles": roles["value"],
                "roles__1": "62e90394-69f5-4237-9190-012177145e10",
            },
        )
    )
    assert done.kind == "update" and "GDAP request sent to john.doe@abctech.com" in done.text
    assert "It will not auto-extend: Global Administrator is among the roles." in done.text
    assert "GDAP Access\nIn Progress" in done.text

    # a stale card: the form submitted again is refused with a clear answer, card kept
    stale = await w.teams.click(
        chat,
        card_id,
        button(bad.card, "Create request"),
        {"name": "Other name", "duration": "400", "roles": roles["value"]},
    )
    assert [s.kind for s in stale] == ["reply"]
    assert "already In Progress" in stale[0].text

    await w.teams.say(chat, "sandbox approve-gdap abctech.com")
    shown = last_card(await w.teams.say(chat, "show abctech.com"))
    card_id = shown.activity_id
    hub = last_card(await w.teams.click(chat, card_id, button(shown.card, "Start MSP Hub access")))
    values = {e["id"]: e.get("value", "") for e in hub.card["body"] if "id" in e}
    assert values["company_name"] == "ABC Technologies Inc." and values["domain"] == "abctech.com"
    assert "Pre-filled from Partner Center" in hub.text
    values.update(first_name="John", last_name="Doe")
    hubbed = last_card(
        await w.teams.click(chat, card_id, button(hub.card, "Create customer"), values)
    )
    assert "MSP Hub Access\nCompleted" in hubbed.text

    # P2P: current partner "Other", details typed
    p2p = last_card(
        await w.teams.click(chat, card_id, button(hubbed.card, "Initiate P2P transfer"))
    )
    assert "Other (enter the partner's details)" in str(p2p.card)
    transferred = last_card(
        await w.teams.click(
            chat,
            card_id,
            button(p2p.card, "Submit"),
            {
                "partner": "other",
                "partner_name": "Northwind Reseller",
                "partner_tenant_id": "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
                "partner_email": "billing@northwind.example.com",
            },
        )
    )
    assert "P2P Transfer\nPending" in transferred.text
    await w.teams.say(chat, "sandbox accept-p2p abctech.com")

    # finish asks first; confirming updates the card in place
    shown = last_card(await w.teams.say(chat, "show abctech.com"))
    assert shown.text.startswith("ABC Technologies Inc. (abctech.com)\nCompleted")
    ask = last_card(await w.teams.click(chat, shown.activity_id, button(shown.card, "Finish")))
    assert ask.kind == "update" and "The onboarding process is complete." in ask.text
    finished = last_card(await w.teams.click(chat, shown.activity_id, button(ask.card, "Finish")))
    assert finished.kind == "update" and "finished onboarding" in finished.text
    # the confirmation clicked again (a stale card) gets a clear answer
    again = await w.teams.click(chat, shown.activity_id, button(ask.card, "Finish"))
    assert [s.kind for s in again] == ["reply"]
    assert "ABC Technologies Inc. was already finished and is no longer in onboarding." in (
        again[0].text
    )
    # the finished customer keeps its card, marked, with its log as its only button
    kept = last_card(await w.teams.say(chat, "show abctech.com"))
    assert kept.text.startswith("ABC Technologies Inc. (abctech.com)\nFinished just now by ")
    assert [a["title"] for a in _actions(kept.card)] == ["Activity log"]
    listed = last_card(await w.teams.say(chat, "status finished"))
    assert "ABC Technologies Inc." in listed.text and "Finished just now by " in listed.text


def _actions(card: dict) -> list[dict]:
    from tests.e2e.teams_support import find_actions

    return find_actions(card)


async def test_cancel_asks_first_and_not_now_changes_nothing(world: World):
    card_id = await enroll_abc(world)
    enrolled = world.connector.sent[-1].card
    ask = last_card(
        await world.teams.click(PERSONAL, card_id, button(enrolled, "Cancel onboarding"))
    )
    assert ask.kind == "update" and "Cancel the onboarding of ABC Technologies Inc." in ask.text
    kept = last_card(await world.teams.click(PERSONAL, card_id, button(ask.card, "Not now")))
    assert "Not confirmed; nothing was changed." in kept.text
    listing = last_card(await world.teams.say(PERSONAL, "status active"))
    assert "ABC Technologies Inc." in listing.text
    # the destructive button is styled as such
    assert any(
        a.get("style") == "destructive" and a["title"] == "Cancel onboarding"
        for a in _actions(enrolled)
    )


async def test_action_execute_invoke_answers_with_the_card(world: World):
    card_id = await enroll_abc(world)
    status, body = await world.teams.execute(
        PERSONAL,
        card_id,
        {"onboard": {"v": 1, "card": "customer", "line": "remind abctech.com reseller"}},
    )
    assert status == 200
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    assert_valid_card(body["value"])
    assert "Reminder sent: reseller → john.doe@abctech.com." in "\n".join(_texts(body["value"]))


def _texts(card: dict) -> list[str]:
    from tests.e2e.teams_support import card_text

    return card_text(card)


async def test_refusals_are_clear_and_change_nothing(world: World):
    w = world
    unknown = last_card(await w.teams.say(PERSONAL, "frobnicate"))
    assert 'Unknown command "frobnicate"' in unknown.text
    bad = last_card(
        await w.teams.say(
            PERSONAL, 'enroll "Fourth Coffee" it@fourthcoffee.com fourthcoffee.com Korea'
        )
    )
    assert (
        '"Korea" names more than one country. Did you mean: Korea, Democratic People\'s '
        "Republic of (KP), Korea, Republic of (KR)?"
    ) in bad.text
    assert any(b.get("color") == "attention" for b in bad.card["body"])
    missing = last_card(await w.teams.say(PERSONAL, "show nobody.example.com"))
    assert "nobody.example.com" in missing.text
    await enroll_abc(w)
    early = last_card(await w.teams.say(PERSONAL, "finish abctech.com"))
    assert "cannot be finished yet" in early.text
    gdap = last_card(await w.teams.say(PERSONAL, "gdap abctech.com"))
    assert "needs the reseller relationship" in gdap.text
    old = await w.teams.click(PERSONAL, "act-1", {"onboard": {"line": "status"}})
    assert "earlier version of the bot" in old[-1].text
    twice = last_card(await w.teams.say(PERSONAL, "remind abctech.com reseller"))
    assert "Reminder sent" in twice.text
    again = last_card(await w.teams.say(PERSONAL, "remind abctech.com reseller"))
    assert "less than a minute ago" in again.text
    listing = last_card(await w.teams.say(PERSONAL, "status"))
    assert "1\nActive" in listing.text


async def test_ambiguous_customer_gets_a_choice(world: World):
    w = world
    for domain in ("contoso.com", "contoso.co.uk"):
        await w.teams.say(PERSONAL, f'enroll "Contoso" it@{domain} {domain} GB')
    pick = last_card(await w.teams.say(PERSONAL, "show contoso"))
    assert "matches 2 customers" in pick.text
    chosen = last_card(
        await w.teams.click(
            PERSONAL, pick.activity_id, button(pick.card, "Contoso (contoso.co.uk)")
        )
    )
    assert chosen.kind == "update" and "Contoso (contoso.co.uk)" in chosen.text


CSV = (
    "Customer Name,Email Address,Domain Name,Country Code\r\n"
    "Fabrikam Inc,it@fabrikam.com,fabrikam.com,US\r\n"
    "Tailspin Toys,ops@tailspin.com,tailspin.com,GB\r\n"
    "Bad Row,not-an-email,badrow.com,US\r\n"
)


async def test_bulk_from_a_file_in_personal_chat(world: World):
    w = world
    w.connector.files["customers.csv"] = CSV.encode("utf-8-sig")
    sent = await w.teams.say(
        PERSONAL,
        "",
        attachments=[
            {
                "contentType": "application/vnd.microsoft.teams.file.download.info",
                "contentUrl": "https://contoso.sharepoint.com/personal/alice/customers.csv",
                "name": "customers.csv",
                "content": {
                    "downloadUrl": f"{w.connector.url}/files/customers.csv",
                    "uniqueId": "1150D938-8870-4044-9F2C-5BBDEBA70C9D",
                    "fileType": "csv",
                },
            }
        ],
    )
    review = last_card(sent)
    assert "Review of customers.csv" in review.text
    assert "Ready to enroll: 2" in review.text and "Problems: 1" in review.text
    assert "Row 4, Email Address" in review.text
    before = len(w.connector.sent)
    confirm = await w.teams.click(PERSONAL, review.activity_id, button(review.card, "Enroll 2"))
    assert confirm and confirm[0].kind == "update"
    await w.bot.teams.bot.drain()
    updates = [s for s in w.connector.sent[before:] if s.activity_id == review.activity_id]
    assert all(s.kind == "update" for s in updates)
    assert any("Enrolling… 2 of 2" in s.text for s in updates)
    assert "Bulk enrollment done: 2 enrolled, 1 not enrolled." in updates[-1].text
    # the same confirm clicked again enrolls nobody twice
    await w.teams.click(PERSONAL, review.activity_id, button(review.card, "Enroll 2"))
    await w.bot.teams.bot.drain()
    listing = last_card(await w.teams.say(PERSONAL, "status"))
    assert "2\nActive" in listing.text


async def test_bulk_pasted_into_the_form_in_a_channel(world: World):
    w = world
    form = last_card(await w.teams.say(CHANNEL, "bulk"))
    assert any(e.get("id") == "csv" and e.get("isMultiline") for e in form.card["body"])
    review = last_card(
        await w.teams.click(CHANNEL, form.activity_id, button(form.card, "Review"), {"csv": CSV})
    )
    assert review.kind == "update" and "Review of pasted.csv" in review.text
    discard = last_card(
        await w.teams.click(CHANNEL, form.activity_id, button(review.card, "Not now"))
    )
    assert "discarded: nobody was enrolled" in discard.text


async def test_notices_go_to_the_channel_and_survive_a_restart(world: World, tmp_path: Path):
    w = world
    ok = last_card(await w.teams.say(CHANNEL, "notify here"))
    assert "Notices to Partner Team > General: every status change and reminder." in ok.text
    group_ok = last_card(await w.teams.say(GROUP, "notify here failures"))
    assert "group chat Onboarding ops" in group_ok.text
    await enroll_abc(w)
    notices = [s for s in w.connector.sent if s.conversation == CHANNEL.id]
    assert notices  # to the channel itself, a new post, not into the thread it was typed in
    assert "ABC Technologies Inc.: Enrolled ABC Technologies Inc." in notices[-1].text
    assert button(notices[-1].card, "Show customer")["onboard"]["line"].startswith("show ")
    # under the notice, why the step waits, as the customer's card says it
    assert (
        "Reseller Relationship: Waiting for the customer to accept since now · next reminder "
        "in a day"
    ) in notices[-1].text
    assert_valid_card(notices[-1].card)
    assert not [s for s in w.connector.sent if s.conversation == GROUP.id and "Enrolled" in s.text]

    # another process (the console), started after this one, still reaches the channel
    count = len(w.connector.sent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICROSOFT_APP", "SLACK_"))}
    env["DATABASE_URL"] = w.database_url
    result = await asyncio.to_thread(  # the connector answers on this loop meanwhile
        subprocess.run,
        [sys.executable, str(ROOT / "app.py"), "console"],
        cwd=tmp_path,
        env=env,
        input="sandbox accept-reseller abctech.com\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    posted = await w.connector.wait(count + 1)
    assert [s.conversation for s in posted] == [CHANNEL.id], [s.text for s in posted]
    assert "accepted" in posted[0].text.lower() or "Established" in posted[0].text
    assert "Waiting for" not in posted[0].text  # the step no longer waits


async def test_throttled_notice_is_retried_later(world: World):
    w = world
    await w.teams.say(CHANNEL, "notify here")
    w.connector.throttle = 1
    await enroll_abc(w)
    with w.bot.engine.connect() as conn:
        from sqlalchemy import text

        rows = conn.execute(
            text("SELECT state, last_error FROM deliveries WHERE channel = 'teams'")
        ).all()
    assert rows and rows[0][0] == "pending" and "429" in rows[0][1]


async def test_bot_added_to_a_team_says_hello_and_uninstall_forgets(world: World):
    w = world
    response = await w.teams.event(
        CHANNEL,
        "conversationUpdate",
        membersAdded=[{"id": "28:bot-onboarding", "name": "Onboarding"}],
    )
    assert response.status in (200, 201)
    hello = w.connector.sent[-1]
    assert "Type help for the commands" in hello.text
    response = await w.teams.event(PERSONAL, "installationUpdate", action="add")
    assert response.status in (200, 201)
    assert w.bot.teams.references.get(PERSONAL.id) is not None
    response = await w.teams.event(PERSONAL, "installationUpdate", action="remove")
    assert response.status in (200, 201)
    assert w.bot.teams.references.get(PERSONAL.id) is None


def test_teams_package_is_built_from_settings(tmp_path: Path):
    import json
    import zipfile

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICROSOFT_APP", "TEAMS_"))}
    env.update(
        MICROSOFT_APP_ID="11111111-2222-3333-4444-555555555555",
        MICROSOFT_APP_PASSWORD="secret",
        TEAMS_BOT_NAME="Fabrikam Onboarding",
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
    )
    out = tmp_path / "pkg" / "app.zip"
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "teams-package", "--output", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "secret" not in result.stdout + result.stderr
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
    assert manifest["name"]["short"] == "Fabrikam Onboarding"
    assert manifest["bots"][0]["botId"] == "11111111-2222-3333-4444-555555555555"
    del env["MICROSOFT_APP_ID"], env["MICROSOFT_APP_PASSWORD"]
    refused = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "teams-package"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "MICROSOFT_APP_ID" in refused.stderr


def _file_attachment(url: str, name: str = "customers.csv") -> dict:
    return {
        "contentType": "application/vnd.microsoft.teams.file.download.info",
        "contentUrl": f"https://contoso.sharepoint.com/personal/alice/{name}",
        "name": name,
        "content": {"downloadUrl": url, "uniqueId": "1150D938", "fileType": "csv"},
    }


async def test_typed_bulk_confirm_shows_progress_then_the_summary(world: World):
    w = world
    w.connector.files["customers.csv"] = CSV.encode("utf-8")
    review = last_card(
        await w.teams.say(
            PERSONAL, "", attachments=[_file_attachment(f"{w.connector.url}/files/customers.csv")]
        )
    )
    line = button(review.card, "Enroll 2")["onboard"]["line"]
    assert line.startswith("bulk confirm ")
    sent = await w.teams.say(PERSONAL, line)
    assert [s.kind for s in sent] == ["reply"] and "Enrolling the reviewed" in sent[0].text
    card_id = sent[0].activity_id
    await w.bot.teams.bot.drain()
    updates = [s for s in w.connector.sent if s.activity_id == card_id and s.kind == "update"]
    assert any("Enrolling… 2 of 2" in s.text for s in updates)
    assert "Bulk enrollment done: 2 enrolled, 1 not enrolled." in updates[-1].text
    # a slow line that the bot refuses says why in the same card
    before = len(w.connector.sent)
    sent = await w.teams.say(PERSONAL, "bulk confirm nosuchimport")
    await w.bot.teams.bot.drain()
    refused = [s for s in w.connector.sent[before:] if s.activity_id == sent[0].activity_id]
    assert refused[-1].kind == "update" and "nosuchimport" in refused[-1].text


async def test_bulk_with_a_file_name_but_no_file_says_how_to_send_one(world: World):
    answer = last_card(await world.teams.say(GROUP, "bulk customers.csv"))
    assert (
        "Send the CSV file to the bot as an attachment in a personal chat, or type bulk and "
        "paste it." in answer.text
    )


async def test_a_file_link_off_sharepoint_or_redirected_is_not_followed(world: World):
    w = world
    elsewhere = last_card(
        await w.teams.say(
            PERSONAL, "", attachments=[_file_attachment("https://files.example.net/customers.csv")]
        )
    )
    assert "Could not download customers.csv" in elsewhere.text  # and nothing was reached
    w.connector.files["customers.csv"] = CSV.encode("utf-8")
    w.connector.redirects["moved.csv"] = f"{w.connector.url}/files/customers.csv"
    moved = last_card(
        await w.teams.say(
            PERSONAL,
            "",
            attachments=[_file_attachment(f"{w.connector.url}/files/moved.csv", "moved.csv")],
        )
    )
    assert "Could not download moved.csv" in moved.text and "302" in moved.text
    assert "Review of" not in moved.text


async def test_a_gdap_request_microsoft_refuses_is_shown_as_a_failure(world: World):
    w = world
    await enroll_abc(w)
    await w.teams.say(PERSONAL, "sandbox accept-reseller abctech.com")
    # a relationship of that name was made in Partner Center by hand: the bot's store does
    # not know it, and Microsoft refuses the duplicate name (409)
    w.bot.service.sandbox.simulator.create_gdap_relationship(
        name="ABC GDAP",
        duration_days=30,
        role_ids=[],
        auto_extend=True,
        customer_tenant_id=None,
        customer_name="someone else",
    )
    shown = last_card(await w.teams.say(PERSONAL, "show abctech.com"))
    form = last_card(
        await w.teams.click(PERSONAL, shown.activity_id, button(shown.card, "Create GDAP request"))
    )
    roles = next(e for e in form.card["body"] if e.get("id") == "roles")
    answer = last_card(
        await w.teams.click(
            PERSONAL,
            shown.activity_id,
            button(form.card, "Create request"),
            {"name": "ABC GDAP", "duration": "400", "roles": roles["value"], "roles__1": ""},
        )
    )
    headline = next(
        b for b in answer.card["body"] if "Microsoft refused the GDAP request" in b.get("text", "")
    )
    assert headline["color"] == "attention" and headline["text"].startswith("✗ ")
    assert "already exists in Partner Center" in headline["text"]
    gdap = next(
        b
        for b in _blocks(answer.card)
        if b.get("type") == "ColumnSet" and card_text(b)[0] == "GDAP Access"
    )
    step = gdap["columns"][1]["items"][0]
    assert step["text"] == "Failed" and step["color"] == "attention"
    reseller = next(
        b
        for b in _blocks(answer.card)
        if b.get("type") == "ColumnSet" and card_text(b)[0] == "Reseller Relationship"
    )
    assert reseller["columns"][1]["items"][0]["color"] == "good"  # that step did succeed


def _blocks(node: object) -> list[dict]:
    """Every element of a card, nested ones too."""
    found: list[dict] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found += _blocks(value)
    elif isinstance(node, list):
        for item in node:
            found += _blocks(item)
    return found


async def test_correct_a_customer_with_the_card_form(world: World):
    w = world
    await enroll_abc(w)
    await w.teams.say(PERSONAL, 'enroll "Fourth Coffee" it@fourthcoffee.com fourthcoffee.com US')
    shown = last_card(await w.teams.say(PERSONAL, "show abctech.com"))
    form = last_card(
        await w.teams.click(PERSONAL, shown.activity_id, button(shown.card, "Correct details"))
    )
    assert form.kind == "update" and "Correct ABC Technologies Inc." in form.text
    by_id = {e["id"]: e for e in form.card["body"] if "id" in e}
    assert by_id["name"]["value"] == "ABC Technologies Inc."
    assert by_id["email"]["value"] == "john.doe@abctech.com"
    assert by_id["domain"]["value"] == "abctech.com"
    assert by_id["country"]["value"] == "US"
    typed = {"name": "ABC Technologies Inc.", "email": "jo.doe@abctech.com", "country": "US"}
    save = button(form.card, "Save")
    # a domain another customer holds: the error under the field, what was typed kept
    bad = last_card(
        await w.teams.click(
            PERSONAL, shown.activity_id, save, typed | {"domain": "fourthcoffee.com"}
        )
    )
    assert "already in onboarding as Fourth Coffee" in bad.text
    again = {e["id"]: e for e in bad.card["body"] if "id" in e}
    assert again["email"]["value"] == "jo.doe@abctech.com"
    saved = last_card(
        await w.teams.click(PERSONAL, shown.activity_id, save, typed | {"domain": "abctech.com"})
    )
    assert saved.kind == "update"
    assert (
        'Corrected Email Address "john.doe@abctech.com" → "jo.doe@abctech.com". The '
        "invitation sent again to jo.doe@abctech.com; reminders start again."
    ) in saved.text
    outbox = last_card(await w.teams.say(PERSONAL, "outbox abctech.com"))
    assert "jo.doe@abctech.com" in outbox.text
    one_line = last_card(await w.teams.say(PERSONAL, "edit abctech.com country germany"))
    assert 'Corrected Country "US" → "DE".' in one_line.text
