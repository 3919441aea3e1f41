"""`export [STATUS]` against a real store (SQLite and PostgreSQL): the file a partner engineer
opens in Excel, parsed back with the csv module, row by row and column by column."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from adapters.clock import FixedClock
from bot.domain import Actor
from bot.errors import NotAllowed, ValidationError
from bot.exports import CUSTOMER_HEADER, Exports
from bot.jobs import run_due
from bot.views import CsvFile
from tests.services import sandboxed_service

ALICE = Actor("U1", "alice", "console")
VIEWER = Actor("U9", "vera", "slack", "T0ACME")
STRANGER = Actor("U7", "eve", "slack", "T0OTHER")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def service(engine, clock):
    return sandboxed_service(engine, clock, organisations={"slack": frozenset({"T0ACME"})})


def enroll(service, clock, name, domain):
    clock.advance(minutes=1)
    return service.enrollment.enroll(
        {"name": name, "email": f"john.doe@{domain}", "domain": domain, "country": "us"}, ALICE
    )


def parsed(export: CsvFile) -> tuple[bytes, list[dict[str, str]]]:
    out = io.BytesIO()
    rows = export.write(out)
    data = out.getvalue()
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows == len(table)
    return data, table


def test_every_customer_with_each_step_its_dates_reminders_and_who_closed_it(service, clock):
    enroll(service, clock, '=HYPERLINK("http://evil.example","Click")', "evil.com")
    enroll(service, clock, "Société Générale Café", "sgcafe.fr")
    enroll(service, clock, "Gone Ltd", "gone.com")
    enroll(service, clock, "Done Inc", "done.com")
    service.sandbox.play("accept-reseller", "gone.com", ALICE)
    service.transfers.initiate(
        "gone.com",
        {
            "partner": "other",
            "partner_name": "Old Partner Ltd",
            "partner_tenant_id": "0e9b0b5f-0000-4a5d-9c1d-1234567890ab",
            "partner_email": "transfers@oldpartner.com",
        },
        ALICE,
    )
    clock.advance(hours=25)
    run_due(service)  # the first automatic reminders: every waiting step has one
    service.reminders.remind("sgcafe.fr", None, ALICE)  # and a manual one
    clock.advance(minutes=5)
    service.closing.cancel("gone.com", ALICE)
    # Done Inc goes the whole way and is finished.
    service.sandbox.play("accept-reseller", "done.com", ALICE)
    form = service.gdap.form("done.com", ALICE)
    service.gdap.request(
        "done.com", {f.name: f.default for f in form.fields} | {"duration": "365"}, ALICE
    )
    service.sandbox.play("approve-gdap", "done.com", ALICE)
    hub = service.hub_access.form("done.com", ALICE)
    service.hub_access.start("done.com", {f.name: f.default for f in hub.fields}, ALICE)
    clock.advance(minutes=1)
    run_due(service)
    service.closing.finish("done.com", ALICE)

    export = service.exports.customers(None, ALICE)
    assert export.filename == f"onboardings-all-{clock.now():%Y-%m-%d}.csv"
    assert export.rows == 4 and export.title == "Every customer"
    data, table = parsed(export)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel shows the accents
    assert b"\r\n" in data
    assert tuple(table[0]) == CUSTOMER_HEADER
    by_domain = {r["Domain Name"]: r for r in table}
    assert [r["Domain Name"] for r in table] == ["done.com", "gone.com", "sgcafe.fr", "evil.com"]

    evil = by_domain["evil.com"]
    assert evil["Customer Name"] == '\'=HYPERLINK("http://evil.example","Click")'  # text
    assert evil["Status"] == "Active" and evil["Enrolled By"] == "alice (console)"
    assert evil["Enrolled (UTC)"] == "2026-11-02 09:01"
    assert evil["Reseller Relationship"] == "In Progress"
    assert evil["Reseller Relationship Reminders Sent"] == "1"

    cafe = by_domain["sgcafe.fr"]
    assert cafe["Customer Name"] == "Société Générale Café"
    assert cafe["Reseller Relationship Reminders Sent"] == "2"  # automatic and manual

    gone = by_domain["gone.com"]
    assert gone["Status"] == "Cancelled"
    assert gone["P2P Transfer"] == "Cancelled"
    assert gone["P2P Transfer Started (UTC)"] == "2026-11-02 09:04"
    assert gone["P2P Transfer Changed (UTC)"] == gone["Finished or Cancelled (UTC)"]
    assert gone["P2P Transfer Reminders Sent"] == "1"
    assert gone["Current Partner"] == "Old Partner Ltd"
    assert gone["Current Partner Microsoft ID"] == "0e9b0b5f-0000-4a5d-9c1d-1234567890ab"
    assert gone["Finished or Cancelled By"] == "alice (console)"
    assert gone["Customer Tenant ID"]

    done = by_domain["done.com"]
    assert done["Status"] == "Finished"
    assert done["GDAP Access"] == "Established" and done["MSP Hub Access"] == "Completed"
    assert done["GDAP Relationship Name"] and done["GDAP Duration (days)"] == "365"
    assert done["GDAP Auto-extend"] == "Yes" and done["GDAP End Date (UTC)"]
    assert "Directory Readers" in done["GDAP Roles"]
    assert done["MSP Hub Customer ID"]
    assert done["Finished or Cancelled (UTC)"] == f"{clock.now():%Y-%m-%d %H:%M}"

    assert [r["Domain Name"] for r in parsed(service.exports.customers("cancelled", ALICE))[1]] == [
        "gone.com"
    ]
    assert [r["Domain Name"] for r in parsed(service.exports.customers("finished", ALICE))[1]] == [
        "done.com"
    ]
    active = service.exports.customers("active", ALICE)
    assert active.filename == f"onboardings-active-{clock.now():%Y-%m-%d}.csv"
    assert [r["Domain Name"] for r in parsed(active)[1]] == ["sgcafe.fr", "evil.com"]
    assert parsed(service.exports.customers("failed", ALICE))[1] == []


def test_pages_through_the_store_in_batches_without_losing_or_repeating_a_row(service, clock):
    for i in range(7):
        enroll(service, clock, f"Customer {i}", f"c{i}.com.au")
    clock.advance(minutes=-7)  # three customers enrolled at the very same instant
    for i in range(7, 10):
        service.enrollment.enroll(
            {
                "name": f"Customer {i}",
                "email": f"it@c{i}.com",
                "domain": f"c{i}.com",
                "country": "DE",
            },
            ALICE,
        )
    export = Exports(service.wiring, batch=2).customers(None, ALICE)
    _, table = parsed(export)
    assert sorted(r["Customer Name"] for r in table) == sorted(f"Customer {i}" for i in range(10))
    enrolled = [r["Enrolled (UTC)"] for r in table]
    assert enrolled == sorted(enrolled, reverse=True)


def test_a_viewer_may_export_another_organisation_may_not(service, clock):
    enroll(service, clock, "ABC", "abc.com")
    assert parsed(service.exports.customers(None, VIEWER))[1][0]["Domain Name"] == "abc.com"
    with pytest.raises(NotAllowed, match="serves another organisation"):
        service.exports.customers(None, STRANGER)


def test_the_review_file_lists_what_a_bulk_review_will_enroll(service, clock):
    data = (
        b"Customer Name,Email Address,Domain Name,Country Code\r\n"
        b"Alpha Ltd,OPS@alpha.com,Alpha.com,us\r\n"
        b"Broken,not-an-email,beta.de,DE\r\n"
        b"@SUM(1+1),ops@gamma.fr,gamma.fr,FR\r\n"
    )
    review = service.bulk.review(data, "customers.csv", ALICE)
    assert review.customers_file is not None
    _, rows = parsed(review.customers_file)
    assert review.customers_file.filename == "customers-review.csv"
    assert rows == [
        {"Row": "2", "Customer Name": "Alpha Ltd", "Email Address": "OPS@alpha.com"}
        | {"Domain Name": "alpha.com", "Country Code": "US"},
        {"Row": "4", "Customer Name": "'@SUM(1+1)", "Email Address": "ops@gamma.fr"}
        | {"Domain Name": "gamma.fr", "Country Code": "FR"},
    ]
    again = service.exports.again(review.customers_file.source, ALICE)
    assert parsed(again)[1] == rows


def test_an_unknown_status_says_which_ones_there_are(service):
    with pytest.raises(ValidationError, match="use one of active, failed, completed"):
        service.exports.customers("falied", ALICE)


_SEED_SQL = {
    "sqlite": (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
        "INSERT INTO onboardings (id, name, email, domain, country, enrolled_at, enrolled_by, "
        "reseller_status, gdap_status, hub_status, p2p_status, overall_status, lifecycle, "
        "version) SELECT printf('ob%06d', i), 'C' || i, 'it@c.com', 'c' || i || '.com', 'US', "
        # the time as SQLAlchemy writes it to SQLite, microseconds included
        "datetime('2026-01-01', '+' || i || ' minutes') || '.000000', 'x', 'In Progress', "
        "'Not started', 'Not started', 'Not started', 'Active', 'open', 0 FROM n"
    ),
    "postgresql": (
        "INSERT INTO onboardings (id, name, email, domain, country, enrolled_at, enrolled_by, "
        "reseller_status, gdap_status, hub_status, p2p_status, overall_status, lifecycle, "
        "version) SELECT 'ob' || lpad(i::text, 6, '0'), 'C' || i, 'it@c.com', 'c' || i || "
        "'.com', 'US', timestamptz '2026-01-01 00:00+00' + (i || ' minutes')::interval, 'x', "
        "'In Progress', 'Not started', 'Not started', 'Not started', 'Active', 'open', 0 "
        "FROM generate_series(1, 20000) AS i"
    ),
}


def test_each_batch_seeks_the_index_to_where_the_last_one_ended(engine, store):
    """EXPLAIN of the very statement a batch runs, on 20,000 customers: an index seek from
    the previous batch's last row, not a scan that skips every newer row first."""
    dialect = engine.dialect.name
    with engine.begin() as conn:
        conn.exec_driver_sql(_SEED_SQL[dialect])
        conn.exec_driver_sql("ANALYZE")
    seen: list[tuple[str, object]] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if "FROM onboardings" in statement and "ORDER BY" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", remember)
    try:
        with store.transaction() as uow:
            after = (datetime(2026, 1, 5, tzinfo=UTC), "ob005760")
            batch = uow.onboardings.batch_after(None, None, after, 500)
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert [ob.id for ob in batch[:2]] == ["ob005759", "ob005758"] and len(batch) == 500
    ((statement, parameters),) = seen
    explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        plan = "\n".join(
            str(row[-1]) for row in conn.exec_driver_sql(explain + statement, parameters)
        )
    assert "ix_onboardings_enrolled_at_id" in plan, plan
    if dialect == "postgresql":
        assert "Index Cond: (ROW(enrolled_at, " in plan, plan
    else:
        assert (
            "SEARCH onboardings USING INDEX ix_onboardings_enrolled_at_id ((enrolled_at,id)<(?,?))"
            in plan
        ), plan
