"""Hostile input through Teams, over HTTP to the real app: what users type is shown as
typed and never as Teams markdown (links, bold, lists, headings, {{DATE()}}) in the card, the
list, the activity log and channel notices; every reply, whole, stays within Microsoft's
message size; a form keeps an invalid value visible; a file link is followed only to Teams'
file hosts and a body that is not a customer CSV is never shown."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.e2e.teams_support import (
    CHANNEL,
    PERSONAL,
    World,
    button,
    card_text,
    last_card,
    loopback_only,
    serving,
    teams_world,
    unescaped,
)

__all__ = ["loopback_only"]

HOSTILE = [
    "[Verify your account](https://evil.example/login)",
    "**URGENT** pay now",
    "*bold* _it_ ~~gone~~ `code`",
    "<!channel> <@U123> <http://x|y>",
    "{{DATE(2026-01-01T00:00:00Z, SHORT)}} Ltd",
    "# Heading Inc",
    "1. First Corp",
    "AT&amp;T &lt;b&gt;",
]
# What Teams would act on if it were left unescaped in a TextBlock.
LIVE = [
    re.compile(r"(?<!\\)\]\("),  # a link: [text](url)
    re.compile(r"(?<!\\)\{(?<!\\)\{"),  # {{DATE(...)}}
    re.compile(r"(?<![\\])&[a-z]+;"),  # an HTML entity
    re.compile(r"(?m)^(#|\d+\.\s|-\s)"),  # a heading or a list
]


@pytest.fixture
async def world(tmp_path: Path, loopback_only: list[str]) -> AsyncIterator[World]:
    async with teams_world(tmp_path, page_size=50) as w:
        yield w
    assert loopback_only == []


def _texts(world: World) -> list[str]:
    """Every TextBlock and fact the bot sent, as markdown (escapes kept)."""
    return [t for card in world.connector.cards() for t in card_text(card, raw=True)]


@pytest.mark.parametrize("name", HOSTILE)
async def test_user_text_is_shown_as_typed_never_as_markdown(world: World, name: str):
    w = world
    await w.teams.say(CHANNEL, "notify here")
    domain = "hostilecorp.com"
    typed = html.escape(f'enroll "{name}" it@{domain} {domain} US', quote=False)  # as Teams sends
    enrolled = last_card(await w.teams.say(PERSONAL, typed))
    assert f"Enrolled {name}" in enrolled.text, enrolled.text  # the reader sees it as typed
    await w.teams.say(PERSONAL, "status")
    await w.teams.say(PERSONAL, f"search {domain}")
    await w.teams.say(PERSONAL, f"log {domain}")
    notices = [s for s in w.connector.sent if s.conversation == CHANNEL.id]
    assert any(name in s.text for s in notices)  # the channel notice too
    shown = [t for t in _texts(w) if name in unescaped(t)]
    assert len(shown) >= 5  # card, list row, search row, log, notice
    for raw in shown:
        assert name in unescaped(raw), raw
        if re.search(r"[\\`*_~\[\]<>{}&]", name):  # markdown anywhere in a line
            assert name not in raw, raw  # only its escaped form is in the card
        for live in LIVE:
            assert not live.search(raw), (live.pattern, raw)


def test_direction_controls_are_removed_and_zero_width_characters_are_no_way_around():
    from adapters.teams.elements import md

    assert md("moc.evil\u202e.example") == "moc.evil.example"
    assert md("\u2067abc\u2069") == "abc"
    assert md("[x\u200b](http://evil)") == "\\[x\u200b\\](http://evil)"
    assert md("*\u200b*b**") == "\\*\u200b\\*b\\*\\*"
    assert md("{\u200b{DATE()}}") == "\\{\u200b\\{DATE()\\}\\}"


async def test_a_reply_stays_within_microsofts_message_size_as_a_whole(world: World):
    w = world
    rows = "".join(
        f"{'Ünïcödé Ωmega Customer ' * 3}{i:03d},it@c{i}corp.com,c{i}corp.com,US\r\n"
        for i in range(50)
    )
    csv = "Customer Name,Email Address,Domain Name,Country Code\r\n" + rows
    form = last_card(await w.teams.say(PERSONAL, "bulk"))
    review = last_card(
        await w.teams.click(PERSONAL, form.activity_id, button(form.card, "Review"), {"csv": csv})
    )
    await w.teams.click(PERSONAL, review.activity_id, button(review.card, "Enroll 50"))
    await w.bot.teams.bot.drain()
    assert w.customers() == 50
    listing = last_card(await w.teams.say(PERSONAL, "status"))
    assert "Tap a customer for its card and actions." in listing.text or (
        "Only the first" in listing.text
    )
    # the teardown checks every activity, whole, against 40 KB as Teams counts it (UTF-16)


def test_the_last_line_of_defence_never_fails_and_says_what_it_left_out():
    from adapters.teams.elements import card, fit, fits, text

    huge = card([text(f"Line {i}: " + "ü" * 200) for i in range(400)])
    assert not fits(huge)
    small = fit(huge, envelope=2048)
    assert fits(small, 2048)
    assert re.fullmatch(r"… and \d+ more not shown here\.", unescaped(small["body"][-1]["text"]))
    one = fit(card([text("x" * 200_000)]), envelope=2048)
    assert fits(one, 2048)


async def test_a_form_shown_again_keeps_an_invalid_country_visible(world: World):
    w = world
    form = last_card(await w.teams.say(PERSONAL, "enroll"))
    again = last_card(
        await w.teams.click(
            PERSONAL,
            form.activity_id,
            button(form.card, "Submit"),
            {"name": "Fourth Coffee", "email": "it@fourthcoffee.com", "domain": "4c.com"}
            | {"country": "Atlantis"},
        )
    )
    country = next(e for e in again.card["body"] if e.get("id") == "country")
    assert country["value"] == "Atlantis"
    # Teams shows a choice set's value only when it is one of the choices
    assert "Atlantis" in [c["value"] for c in country["choices"]]
    assert "country" in again.text.lower() and w.customers() == 0


# -- files -------------------------------------------------------------------------------------


def _attachment(url: str, name: str = "customers.csv") -> dict:
    return {
        "contentType": "application/vnd.microsoft.teams.file.download.info",
        "contentUrl": f"https://contoso.sharepoint.com/personal/alice/{name}",
        "name": name,
        "content": {"downloadUrl": url, "uniqueId": "1150D938", "fileType": "csv"},
    }


SECRET = "internal-secret-7f3a9c"


async def test_a_link_to_another_service_on_this_machine_is_refused(world: World):
    w = world
    reached: list[str] = []

    async def internal(request: web.Request) -> web.Response:
        reached.append(request.path)
        return web.Response(text=f"Customer Name\n{SECRET}\n")

    app = web.Application()
    app.router.add_get("/internal", internal)
    async with serving(app) as internal_url:  # 127.0.0.1, not the connector's port
        sent = await w.teams.say(
            PERSONAL, "", attachments=[_attachment(f"{internal_url}/internal")]
        )
    assert "Could not download customers.csv" in last_card(sent).text
    assert reached == []
    assert all(SECRET not in str(s.body) for s in w.connector.sent)


@pytest.mark.parametrize(
    "body",
    [
        f"<html><body>token={SECRET}</body></html>".encode(),
        f'{{"access_token": "{SECRET}"}}'.encode(),
        f"SECRET={SECRET}\nOTHER=1\n".encode(),
        b"\x89PNG\r\n\x1a\n\x00\x00" + SECRET.encode(),
    ],
    ids=["html", "json", "env", "binary"],
)
async def test_a_body_that_is_not_a_customer_csv_is_never_shown(world: World, body: bytes):
    w = world
    w.connector.files["leak.csv"] = body
    sent = await w.teams.say(
        PERSONAL, "", attachments=[_attachment(f"{w.connector.url}/files/leak.csv", "leak.csv")]
    )
    answer = last_card(sent)
    assert "not a customer CSV" in answer.text, answer.text
    assert all(SECRET not in str(s.body) for s in w.connector.sent)


async def test_file_hosts_are_a_setting(tmp_path: Path, loopback_only: list[str]):
    async with teams_world(tmp_path, teams_file_hosts="files.fabrikam.example") as w:
        sent = await w.teams.say(
            PERSONAL,
            "",
            attachments=[_attachment("https://contoso.sharepoint.com/personal/a/customers.csv")],
        )
        assert "Could not download customers.csv" in last_card(sent).text
    assert loopback_only == []  # SharePoint was not even looked up: not an allowed host now
    from adapters.teams.files import allowed, file_hosts

    hosts = file_hosts(" Files.Fabrikam.example, *.sharepoint.com ,")
    assert hosts == ("files.fabrikam.example", "sharepoint.com")
    assert allowed("https://files.fabrikam.example/a.csv", hosts=hosts)
    assert allowed("https://tenant-my.sharepoint.com/a.csv", hosts=hosts)
    assert not allowed("http://tenant-my.sharepoint.com/a.csv", hosts=hosts)
    assert not allowed("https://evilsharepoint.com/a.csv", hosts=hosts)
    assert not allowed("https://sharepoint.com.evil.example/a.csv", hosts=hosts)
