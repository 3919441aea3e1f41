"""Finished and cancelled customers keep their card and log: show, log and search find them
by name, domain or id, marked with what became of them, when and by whom; `status finished`
and `status cancelled` list them newest first; commands that act prefer the open customer
of a shared name. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.clock import FixedClock
from bot.commands import Context, Dispatcher
from bot.domain import Actor
from bot.jobs import run_due
from bot.views import ActionRole, ActivityLog, CustomerCard, Form, ListPage, Notice, Pick
from tests.services import sandboxed_service

ALICE = Actor("console:alice", "alice", "console")
BOB = Actor("console:bob", "bob", "console")


@pytest.fixture
def clock():
    return FixedClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def service(engine, clock):
    return sandboxed_service(engine, clock, page_size=2)


@pytest.fixture
def dispatcher(service):
    return Dispatcher(service)


def run(dispatcher, line, actor=ALICE):
    return dispatcher.handle(line, Context(actor))


def enroll(dispatcher, name, domain):
    card = run(dispatcher, f'enroll "{name}" it@{domain} {domain} US')
    assert isinstance(card, CustomerCard), card
    return card.row.id


def complete(service, clock, domain):
    service.sandbox.play("accept-reseller", domain, ALICE)
    form = service.gdap.form(domain, ALICE)
    service.gdap.request(domain, {f.name: f.default for f in form.fields}, ALICE)
    service.sandbox.play("approve-gdap", domain, ALICE)
    hub = service.hub_access.form(domain, ALICE)
    contact = {"first_name": "Jo", "last_name": "Doe"}
    service.hub_access.start(domain, {f.name: f.default for f in hub.fields} | contact, ALICE)
    clock.advance(minutes=1)
    run_due(service)


def test_closed_customers_are_listed_newest_first_and_marked(dispatcher, service, clock):
    enroll(dispatcher, "Done Inc", "done.com")
    complete(service, clock, "done.com")
    run(dispatcher, "finish done.com --yes", BOB)
    for name, domain in (("Gone One", "gone1.com"), ("Gone Two", "gone2.com")):
        enroll(dispatcher, name, domain)
    enroll(dispatcher, "Open Ltd", "open.com")
    clock.advance(hours=1)
    run(dispatcher, "cancel gone2.com --yes")
    clock.advance(days=2)
    run(dispatcher, "cancel gone1.com --yes", BOB)
    clock.advance(days=1)

    cancelled = run(dispatcher, "status cancelled")
    assert isinstance(cancelled, ListPage)
    assert [r.name for r in cancelled.rows] == ["Gone One", "Gone Two"]  # newest closed first
    assert [r.standing for r in cancelled.rows] == [
        "Cancelled yesterday by bob",
        "Cancelled 3 days ago by alice",
    ]
    assert cancelled.status_filter == "Cancelled"
    # the dashboard's counts stay the seed's three, of the customers still in onboarding
    assert (cancelled.counts.active, cancelled.counts.failed, cancelled.counts.completed) == (
        1,
        0,
        0,
    )
    # no actions on a closed row but opening its card
    assert {a.role for r in cancelled.rows for a in r.actions} == {ActionRole.OPEN}
    finished = run(dispatcher, "status finished")
    assert [(r.name, r.standing) for r in finished.rows] == [
        ("Done Inc", "Finished 3 days ago by bob")
    ]
    filters = {a.label: a.line for a in finished.actions if a.role is ActionRole.FILTER}
    assert filters["Cancelled"] == "status cancelled" and "Finished" not in filters
    everyone = run(dispatcher, "status")
    assert [r.name for r in everyone.rows] == ["Open Ltd"]


def test_closed_lists_are_paged(dispatcher, clock):
    for i in range(3):
        enroll(dispatcher, f"Gone {i}", f"gone{i}.com")
        run(dispatcher, f"cancel gone{i}.com --yes")
        clock.advance(minutes=1)
    first = run(dispatcher, "status cancelled")
    assert first.total == 3 and len(first.rows) == 2
    assert [a.line for a in first.actions if a.role is ActionRole.NEXT] == [
        "status cancelled page 2"
    ]
    second = run(dispatcher, "status cancelled page 2")
    assert [r.name for r in second.rows] == ["Gone 0"]


def test_show_log_and_search_find_a_closed_customer_by_name_domain_or_id(dispatcher, clock):
    oid = enroll(dispatcher, "Gone Ltd", "gone.com")
    clock.advance(hours=2)
    run(dispatcher, "cancel gone.com --yes", BOB)
    clock.advance(days=3)
    for ref in ("Gone Ltd", "gone.com", "GONE.COM", oid):
        card = run(dispatcher, f"show {ref}")
        assert isinstance(card, CustomerCard), (ref, card)
        assert card.standing == "Cancelled 3 days ago by bob"
        assert [a.role for a in card.actions] == [ActionRole.LOG]  # the log, nothing else
        assert card.recovery_hint is None
    log = run(dispatcher, "log gone.com")
    assert isinstance(log, ActivityLog)
    assert log.events[-1].message.startswith("Onboarding cancelled")
    assert log.events[-1].actor == "bob (console)"
    for text in ("gone", "GONE.C", oid):
        found = run(dispatcher, f"search {text}")
        assert [(r.name, r.standing) for r in found.rows] == [
            ("Gone Ltd", "Cancelled 3 days ago by bob")
        ], text


def test_a_name_shared_by_open_and_closed_customers(dispatcher):
    old = enroll(dispatcher, "Contoso", "contoso.com")
    run(dispatcher, "cancel contoso.com --yes")
    new = enroll(dispatcher, "Contoso", "contoso.com")  # enrolled again after the mistake
    # commands that act take the open one, never ask
    remind = run(dispatcher, "remind contoso")
    assert isinstance(remind, CustomerCard) and remind.row.id == new
    gdap = run(dispatcher, "gdap Contoso")
    assert isinstance(gdap, Notice) and "needs the reseller relationship" in gdap.text
    hub = run(dispatcher, "hub contoso.com")
    assert isinstance(hub, Form) and hub.context == {"onboarding": new}
    ask = run(dispatcher, "cancel contoso")
    assert "Cancel the onboarding of Contoso (contoso.com)?" in ask.text
    assert ask.confirm_line == f"cancel {new} --yes"
    # reading offers a choice, the closed one marked
    for verb in ("show", "log"):
        pick = run(dispatcher, f"{verb} contoso")
        assert isinstance(pick, Pick), verb
        assert [(a.label, a.line) for a in pick.options] == [
            ("Contoso (contoso.com)", f"{verb} {new}"),
            ("Contoso (contoso.com) · Cancelled 02 Nov 2026", f"{verb} {old}"),
        ]
    # the old one by id is its own card
    card = run(dispatcher, f"show {old}")
    assert isinstance(card, CustomerCard) and card.state == "Cancelled"
    found = run(dispatcher, "search contoso")
    assert [r.standing for r in found.rows] == ["Active", "Cancelled just now by alice"]


def test_acting_on_a_customer_that_is_only_closed_says_what_became_of_it(dispatcher):
    oid = enroll(dispatcher, "Gone Ltd", "gone.com")
    run(dispatcher, "cancel gone.com --yes")
    for line in ("remind gone.com", "gdap Gone Ltd", f"cancel {oid}", "p2p gone.com"):
        refused = run(dispatcher, line)
        assert isinstance(refused, Notice), line
        assert refused.text == (
            f"The onboarding of Gone Ltd was cancelled. Its card and activity log: show {oid}"
        ), line
