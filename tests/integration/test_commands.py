"""The command grammar over a real store: parsing, ambiguity, paging and the help text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from adapters.clock import FixedClock
from bot.commands import Context, Dispatcher
from bot.domain import Actor
from bot.records import Place
from bot.views import CustomerCard, HelpView, ListPage, Notice, Pick, Tone
from tests.services import sandboxed_service

ALICE = Actor("U1", "alice", "console")


@pytest.fixture
def dispatcher(engine):
    clock = FixedClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    service = sandboxed_service(
        engine,
        clock,
        page_size=2,
    )
    return Dispatcher(service)


def run(dispatcher, line, place=None):
    return dispatcher.handle(line, Context(ALICE, place=place))


def test_a_name_shared_by_two_customers_gets_a_choice_not_a_guess(dispatcher):
    run(dispatcher, 'enroll "Contoso" it@contoso.com contoso.com US')
    run(dispatcher, 'enroll "Contoso" it@contoso.co.uk contoso.co.uk GB')
    reply = run(dispatcher, "finish contoso")
    assert isinstance(reply, Pick)
    assert "matches 2 customers" in reply.text
    assert sorted(a.label for a in reply.options) == [
        "Contoso (contoso.co.uk)",
        "Contoso (contoso.com)",
    ]
    assert all(a.line.startswith("finish ") for a in reply.options)
    card = run(dispatcher, "show contoso.co.uk")
    assert isinstance(card, CustomerCard) and card.country == "GB"


def test_one_line_enroll_takes_an_unquoted_name_and_curly_quotes(dispatcher):
    card = run(dispatcher, "enroll ABC Technologies Inc. john@abctech.com abctech.com us")
    assert isinstance(card, CustomerCard) and card.row.name == "ABC Technologies Inc."
    card = run(dispatcher, "enroll “Fourth Coffee” it@fourthcoffee.com fourthcoffee.com CA")
    assert isinstance(card, CustomerCard) and card.row.name == "Fourth Coffee"
    reply = run(dispatcher, 'enroll "Broken it@x.com x.com US')
    assert isinstance(reply, Notice) and "quote is not closed" in reply.text


def test_status_pages_and_filters(dispatcher):
    for i in range(5):
        run(dispatcher, f'enroll "Customer {i}" it@c{i}.com c{i}.com US')
    page = run(dispatcher, "status")
    assert isinstance(page, ListPage) and (page.total, len(page.rows)) == (5, 2)
    assert [a.line for a in page.actions if a.label == "Next"] == ["status page 2"]
    last = run(dispatcher, "status page 3")
    assert len(last.rows) == 1
    assert [a.line for a in last.actions if a.label in ("Next", "Previous")] == ["status page 2"]
    failed = run(dispatcher, "status FAILED")
    assert failed.total == 0 and failed.status_filter == "Failed"
    found = run(dispatcher, "search customer 3")
    assert [r.name for r in found.rows] == ["Customer 3"]
    reply = run(dispatcher, "status sideways")
    assert isinstance(reply, Notice)
    assert "status [active|failed|completed|finished|cancelled]" in reply.text


def test_help_lists_every_command_and_sandbox_only_with_the_sandbox(dispatcher):
    reply = run(dispatcher, "help")
    assert isinstance(reply, HelpView)
    words = {c.usage.split()[0] for c in reply.commands}
    assert {
        "help",
        "status",
        "search",
        "show",
        "enroll",
        "bulk",
        "template",
        "gdap",
        "hub",
        "p2p",
        "remind",
        "cancel",
        "finish",
        "log",
        "notify",
        "sandbox",
    } <= words
    assert all(c.summary for c in reply.commands)
    dispatcher.service.sandbox = None
    assert "sandbox" not in {c.usage.split()[0] for c in run(dispatcher, "help").commands}
    reply = run(dispatcher, "sandbox accept-reseller x")
    assert isinstance(reply, Notice) and reply.tone is Tone.FAILURE


def test_unknown_command_and_notify_without_a_channel(dispatcher):
    reply = run(dispatcher, "enrol x")
    assert isinstance(reply, Notice) and 'Unknown command "enrol"' in reply.text
    reply = run(dispatcher, "notify here")
    assert "Slack channel or a Teams chat" in reply.text
    place = Place("slack", "C123", "#onboarding")
    assert "every status change" in run(dispatcher, "notify here", place).text
    assert "failures only" in run(dispatcher, "notify here failures", place).text
    assert "are off" in run(dispatcher, "notify here off", place).text


def test_notices_reach_subscribed_channels_once_per_activity(dispatcher, engine):
    place = Place("slack", "C123", "#onboarding")
    run(dispatcher, "notify here failures", place)
    run(dispatcher, "notify here all", Place("teams", "19:abc", "Onboarding chat"))
    run(dispatcher, 'enroll "ABC" it@abctech.com abctech.com US')
    run(dispatcher, "sandbox accept-reseller abctech.com")
    with dispatcher.service.store.transaction() as uow:
        pending = uow.ledger.claim(
            datetime(2030, 1, 1, tzinfo=UTC), 100, 60, channels=["slack", "teams"]
        )
    by_channel = {}
    for d in pending:
        by_channel.setdefault(d.channel, []).append(d.payload["kind"])
    assert by_channel == {"teams": ["enrolled", "reseller.established"]}


def test_a_granted_users_dashboard_and_card_are_each_read_in_one_transaction(dispatcher, engine):
    """The role that decides which buttons a user sees is read in the transaction that reads
    the customers, not in one of its own: on PostgreSQL each transaction is a pre-ping, a
    BEGIN and a COMMIT, round trips a user waits for."""
    run(dispatcher, 'enroll "Contoso" it@contoso.com contoso.com US')
    run(dispatcher, "access grant teams:tenant-1:aad-bob operator")
    bob = Context(Actor("aad-bob", "Bob", "teams", workspace="tenant-1"))
    begun: list[object] = []

    def began(connection: object) -> None:
        begun.append(connection)

    event.listen(engine, "begin", began)
    try:
        listing = dispatcher.handle("status", bob)
        assert isinstance(listing, ListPage) and len(begun) == 1
        card = dispatcher.handle("show contoso.com", bob)
        assert isinstance(card, CustomerCard) and len(begun) == 2
    finally:
        event.remove(engine, "begin", began)
    # the operator's buttons: a reminder, no cancel (an admin's)
    labels = [a.label for a in card.actions]
    assert "Send reminder email" in labels and "Cancel onboarding" not in labels
