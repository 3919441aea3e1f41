"""Use cases against a real store (SQLite and PostgreSQL), the sandbox backend and the outbox."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

import bot.bulk
from adapters.clock import FixedClock
from bot.csvio import template_csv
from bot.domain import Actor, OverallStatus, Step, new_onboarding
from bot.errors import Conflict, NotAllowed, OnboardingError, ValidationError
from bot.gdap_roles import GLOBAL_ADMINISTRATOR_ID, RECOMMENDED_ROLE_IDS
from bot.ids import bulk_onboarding_id
from bot.rules import CustomerDetails
from storage.adapter_state import AdapterState
from tests.services import sandboxed_service

ALICE = Actor("U1", "alice", "console")
BOB = Actor("U2", "bob", "slack", "T0ACME")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PARTNER_ID = "11111111-2222-4333-8444-555555555555"


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def service(engine, clock):
    return sandboxed_service(
        engine,
        clock,
        bootstrap_admins=frozenset({BOB.identity}),
        partner_name="Fabrikam Cloud",
    )


def enroll(service, name="ABC Technologies Inc.", domain="abctech.com", email=None):
    return service.enrollment.enroll(
        {"name": name, "email": email or f"john.doe@{domain}", "domain": domain, "country": "us"},
        ALICE,
    )


def gdap_values(name="ABC GDAP", roles=RECOMMENDED_ROLE_IDS):
    return {"name": name, "duration": "365", "roles": list(roles)}


def p2p_values():
    return {
        "partner": "other",
        "partner_name": "Old Partner Ltd",
        "partner_tenant_id": "0e9b0b5f-0000-4a5d-9c1d-1234567890ab",
        "partner_email": "transfers@oldpartner.com",
    }


def hub_values(service, ref):
    form = service.hub_access.form(ref)
    return {f.name: f.default for f in form.fields}


def test_enroll_sends_the_invitation_and_logs_it(service):
    card = enroll(service)
    assert card.row.reseller == "In Progress" and card.row.overall == "Active"
    assert card.row.enrolled == "now"
    assert card.country == "US"
    mails = service.customers.outbox_mails().mails
    assert len(mails) == 1 and mails[0].to == "john.doe@abctech.com"
    assert PARTNER_ID in (mails[0].link or "")
    assert "reseller relationship" in mails[0].subject
    log = service.customers.activity_log("abctech.com")
    assert [e.actor for e in log.events] == ["alice (console)"]


def test_same_domain_is_refused_naming_the_customer(service):
    enroll(service)
    with pytest.raises(ValidationError) as err:
        enroll(service, name="Other name", domain="ABCTECH.com")
    assert "ABC Technologies Inc." in err.value.field_errors["domain"]
    assert service.customers.dashboard().total == 1


def test_whole_onboarding_to_finish(service, clock):
    enroll(service)
    with pytest.raises(NotAllowed, match="reseller relationship"):
        service.gdap.form("abctech.com")
    clock.advance(hours=3)
    card = service.sandbox.play("accept-reseller", "ABC Technologies Inc.")
    assert card.row.reseller == "Established"
    # The hub form is pre-filled from the (sandbox) Partner Center profile.
    values = hub_values(service, "abctech.com")
    assert (values["first_name"], values["last_name"]) == ("John", "Doe")
    form = service.gdap.form("abctech.com")
    assert form.field("roles").default == RECOMMENDED_ROLE_IDS
    card = service.gdap.request("abctech.com", gdap_values(), ALICE)
    assert card.row.gdap == "In Progress"
    approval = service.customers.outbox_mails("abctech.com").mails[0]
    assert "granularAdminRelationships" in approval.link
    assert service.sandbox.play("approve-gdap", "abctech.com").row.gdap == "Established"
    card = service.hub_access.start("abctech.com", values, ALICE)
    assert card.row.hub == "Completed"
    assert card.row.overall == "Completed"
    card = service.transfers.initiate("abctech.com", p2p_values(), BOB)
    assert card.row.p2p == "Pending" and card.row.overall == "Active"
    assert service.customers.outbox_mails("abctech.com").mails[0].to == "transfers@oldpartner.com"
    with pytest.raises(NotAllowed, match="P2P Transfer is Pending"):
        service.closing.finish("abctech.com", ALICE)
    assert service.sandbox.play("accept-p2p", "abctech.com").row.p2p == "Completed"
    assert service.closing.finish_confirmation("abctech.com").text.startswith(
        "The onboarding process is complete."
    )
    card = service.closing.finish("abctech.com", ALICE)
    assert card.closed == "finished"
    assert service.customers.dashboard().total == 0
    kinds = [e.message.split(":")[0] for e in service.customers.activity_log(card.row.id).events]
    assert kinds[0].startswith("Enrolled") and kinds[-1] == "Onboarding finished"
    assert len(kinds) >= 9


def test_known_partner_is_offered_next_time(service):
    for domain in ("abctech.com", "fourthcoffee.com"):
        enroll(service, name=domain, domain=domain)
        service.sandbox.play("accept-reseller", domain)
    service.transfers.initiate("abctech.com", p2p_values(), ALICE)
    form = service.transfers.form("fourthcoffee.com")
    partner = form.field("partner")
    assert partner.default == "0e9b0b5f-0000-4a5d-9c1d-1234567890ab"
    assert next(c.label for c in partner.choices) == "Old Partner Ltd"
    card = service.transfers.initiate("fourthcoffee.com", {"partner": partner.default}, ALICE)
    assert card.row.p2p == "Pending"


def test_gdap_name_must_be_unique_and_global_admin_stops_auto_extend(service):
    for domain in ("abctech.com", "fourthcoffee.com"):
        enroll(service, name=domain, domain=domain)
        service.sandbox.play("accept-reseller", domain)
    card = service.gdap.request(
        "abctech.com", gdap_values(roles=[*RECOMMENDED_ROLE_IDS, GLOBAL_ADMINISTRATOR_ID]), ALICE
    )
    assert "will not auto-extend" in card.headline
    with pytest.raises(ValidationError) as err:
        service.gdap.request("fourthcoffee.com", gdap_values(name="abc gdap"), ALICE)
    assert "already exists" in err.value.field_errors["name"]
    with pytest.raises(ValidationError) as err:
        service.gdap.request(
            "fourthcoffee.com", {"name": "x", "duration": "900", "roles": ["Owner"]}, ALICE
        )
    assert set(err.value.field_errors) == {"duration", "roles"}


def test_gdap_expiry_fails_the_onboarding_and_a_new_request_recovers_it(service):
    enroll(service)
    service.sandbox.play("accept-reseller", "abctech.com")
    service.gdap.request("abctech.com", gdap_values(), ALICE)
    service.sandbox.play("approve-gdap", "abctech.com")
    card = service.sandbox.play("expire-gdap", "abctech.com")
    assert card.row.gdap == "Expired" and card.row.overall == "Failed"
    assert card.recovery_hint and "gdap" in card.recovery_hint
    assert service.customers.dashboard(OverallStatus.FAILED).total == 1
    card = service.gdap.request("abctech.com", gdap_values(name="ABC GDAP 2"), ALICE)
    assert card.row.overall == "Active"


def test_manual_reminder_is_not_sent_twice_by_a_double_click(service, clock):
    enroll(service)
    card = service.reminders.remind("abctech.com", None, ALICE)
    assert "john.doe@abctech.com" in card.headline
    with pytest.raises(Conflict, match="less than a minute ago"):
        service.reminders.remind("abctech.com", Step.RESELLER, BOB)
    clock.advance(minutes=2)
    service.reminders.remind("abctech.com", Step.RESELLER, BOB)
    subjects = [m.subject for m in service.customers.outbox_mails().mails]
    assert sum(s.startswith("Reminder: ") for s in subjects) == 2
    with pytest.raises(NotAllowed, match="nothing to remind"):
        service.reminders.remind("abctech.com", Step.GDAP, ALICE)


def test_automatic_reminder_slot_is_sent_once(service, clock):
    card = enroll(service)
    clock.advance(hours=24)
    assert service.reminders.send_automatic(card.row.id, Step.RESELLER, 1)
    assert not service.reminders.send_automatic(card.row.id, Step.RESELLER, 1)
    service.delivery.deliver_pending()
    subjects = [m.subject for m in service.customers.outbox_mails().mails]
    assert sum(s.startswith("Reminder 1 of 3") for s in subjects) == 1


def test_p2p_expires_after_30_days_and_cancel_withdraws(service, clock):
    enroll(service)
    service.sandbox.play("accept-reseller", "abctech.com")
    card = service.transfers.initiate("abctech.com", p2p_values(), ALICE)
    clock.advance(days=30)
    assert [a.message for a in service.sync.refresh(card.row.id)] == [
        "P2P transfer Expired: no action within 30 days."
    ]
    assert service.customers.card("abctech.com").row.overall == "Failed"
    card = service.transfers.cancel("abctech.com", ALICE)
    assert card.row.p2p == "Cancelled" and card.row.overall == "Active"


def test_cancel_onboarding_withdraws_the_pending_transfer(service, engine):
    enroll(service)
    service.sandbox.play("accept-reseller", "abctech.com")
    service.transfers.initiate("abctech.com", p2p_values(), ALICE)
    card = service.closing.cancel("abctech.com", BOB)
    assert card.closed == "cancelled"
    state = AdapterState(engine).all("transfer")
    assert [t["state"] for t in state] == ["cancelled"]
    # Its card is still found by its domain, closed, with its log as the only action.
    kept = service.customers.card("abctech.com")
    assert kept.closed == "cancelled" and [a.line for a in kept.actions] == [f"log {kept.row.id}"]
    # The domain can be enrolled again after a cancel.
    enroll(service)


def _csv(*rows: str) -> bytes:
    return (
        "Customer Name,Email Address,Domain Name,Country Code\r\n"
        + "".join(r + "\r\n" for r in rows)
    ).encode()


def test_bulk_review_then_confirm_and_the_same_file_twice(service):
    enroll(service, name="Existing Co", domain="existing.com")
    data = _csv(
        "Alpha Ltd,ops@alpha.com,alpha.com,US",
        "Beta GmbH,ops@beta.de,beta.de,Germany",
        "Alpha again,x@alpha.com,ALPHA.com,US",
        "Existing dup,x@existing.com,existing.com,GB",
        "Gamma SA,ops@gamma.fr,gamma.fr,fr",
    )
    review = service.bulk.review(data, "customers.csv", ALICE)
    assert [r.domain for r in review.valid] == ["alpha.com", "gamma.fr"]
    assert [(p.row, p.column) for p in review.problems] == [
        (3, "Country Code"),
        (4, "Domain Name"),
        (5, "Domain Name"),
    ]
    assert "row 2" in review.problems[1].reason
    assert "Existing Co" in review.problems[2].reason
    assert service.customers.dashboard().total == 1  # nothing enrolled before confirming
    result = service.bulk.confirm(review.import_id, ALICE)
    assert [r[2] for r in result.enrolled] == ["alpha.com", "gamma.fr"]
    assert len(result.problems) == 3
    assert service.customers.dashboard().total == 3
    again = service.bulk.confirm(review.import_id, BOB)  # a second click
    assert again.enrolled == result.enrolled and service.customers.dashboard().total == 3
    second = service.bulk.review(data, "customers.csv", ALICE)
    assert second.valid == () and second.confirmation is None
    invitations = [m for m in service.customers.outbox_mails().mails if "invites" in m.subject]
    assert len(invitations) == 3


def test_the_lists_keep_a_bulk_imports_rows_in_the_order_of_its_file(service, clock, monkeypatch):
    monkeypatch.setattr(bot.bulk, "BULK_CHUNK", 200)
    enroll(service, name="Enrolled Before", domain="before.com")
    clock.advance(minutes=5)
    # more rows than one chunk (200), the chunks a second apart, and names out of any order
    names = [f"{'ZYXWVUTSRQ'[i % 10]} Customer {i:03d}" for i in range(205)]
    rows = [f"{name},ops@c{i}.com,c{i}.com,US" for i, name in enumerate(names)]
    review = service.bulk.review(_csv(*rows), "many.csv", ALICE)
    service.bulk.confirm(review.import_id, ALICE, lambda _progress: clock.advance(seconds=1))
    clock.advance(minutes=5)
    enroll(service, name="Enrolled After", domain="after.com")

    listed: list[str] = []
    for offset in range(0, 210, 50):
        listed += [r.name for r in service.customers.dashboard(offset=offset, limit=50).rows]
    assert listed == ["Enrolled After", *names, "Enrolled Before"]
    searched = service.customers.dashboard(search="Customer 00", limit=20).rows
    assert [r.name for r in searched] == names[:10]


def test_a_domain_enrolled_between_review_and_confirm_is_reported_not_doubled(service):
    review = service.bulk.review(
        _csv("Alpha Ltd,ops@alpha.com,alpha.com,US", "Beta GmbH,ops@beta.de,beta.de,DE"),
        "customers.csv",
        ALICE,
    )
    enroll(service, name="Beta by hand", domain="BETA.de")  # meanwhile, one at a time
    result = service.bulk.confirm(review.import_id, BOB)
    assert [r[2] for r in result.enrolled] == ["alpha.com"]
    [problem] = result.problems
    assert (problem.row, problem.column) == (3, "Domain Name")
    assert "Beta by hand" in problem.reason
    invitations = [m.to for m in service.customers.outbox_mails().mails]
    assert len(invitations) == 2 and invitations.count("ops@alpha.com") == 1  # one each
    assert "ops@beta.de" not in invitations  # the row not enrolled is not invited


def test_a_bulk_import_writes_its_customers_side_by_side_in_the_files_order(service):
    """Their ids are the import's prefix and the file's row (so every index keyed by them
    grows in one place); a row whose id another customer holds by chance still enrolls,
    under a random id, and nothing is reported."""
    review = service.bulk.review(
        _csv(
            "Alpha Ltd,ops@alpha.com,alpha.com,US",
            "Beta GmbH,ops@beta.de,beta.de,DE",
            "Gamma SA,ops@gamma.fr,gamma.fr,FR",
        ),
        "customers.csv",
        ALICE,
    )
    taken = bulk_onboarding_id(review.import_id, 3)  # Beta's row
    holder, _ = new_onboarding(
        CustomerDetails("Holder Co", "it@holder.com", "holder.com", "US"),
        service.wiring.clock.now(),
        ALICE,
        onboarding_id=taken,
    )
    with service.wiring.store.transaction() as uow:
        uow.onboardings.add(holder)
    result = service.bulk.confirm(review.import_id, BOB)
    assert [r[2] for r in result.enrolled] == ["alpha.com", "beta.de", "gamma.fr"]
    assert result.problems == ()
    ids = {r.domain: r.id for r in service.customers.dashboard().rows}
    assert ids["alpha.com"] == bulk_onboarding_id(review.import_id, 2)
    assert ids["gamma.fr"] == bulk_onboarding_id(review.import_id, 4)
    assert ids["alpha.com"] < ids["gamma.fr"]
    assert ids["holder.com"] == taken and ids["beta.de"] != taken
    assert len(set(ids.values())) == 4
    invitations = [m.to for m in service.customers.outbox_mails().mails]
    assert sorted(invitations) == ["ops@alpha.com", "ops@beta.de", "ops@gamma.fr"]


def test_bulk_confirm_by_two_users_at_once_enrolls_each_row_once(service):
    rows = [f"Customer {i},ops@c{i}.com,c{i}.com,US" for i in range(60)]
    review = service.bulk.review(_csv(*rows), "many.csv", ALICE)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def confirm(actor):
        barrier.wait()
        try:
            results.append(service.bulk.confirm(review.import_id, actor))
        except Conflict as err:
            errors.append(err)

    threads = [threading.Thread(target=confirm, args=(a,)) for a in (ALICE, BOB)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert service.customers.dashboard().total == 60
    assert len(results) + len(errors) == 2 and results
    assert len({r.domain for r in service.customers.dashboard(limit=100).rows}) == 60
    assert len(results[0].enrolled) == 60


def test_the_unedited_template_enrolls_nobody(service):
    review = service.bulk.review(template_csv(), "template.csv", ALICE)
    assert review.valid == ()
    assert "reserved example domain" in review.problems[0].reason


def test_two_users_finishing_and_cancelling_at_once(service):
    onboarding_id = enroll(service).row.id
    service.sandbox.play("accept-reseller", "abctech.com")
    service.gdap.request("abctech.com", gdap_values(), ALICE)
    service.sandbox.play("approve-gdap", "abctech.com")
    service.hub_access.start("abctech.com", hub_values(service, "abctech.com"), ALICE)
    outcomes = []
    barrier = threading.Barrier(2)

    def act(fn, actor):
        barrier.wait()
        try:
            outcomes.append(fn("abctech.com", actor).closed)
        except OnboardingError as err:  # refused, or "not found" once the other closed it
            outcomes.append(type(err).__name__)

    threads = [
        threading.Thread(target=act, args=(service.closing.finish, ALICE)),
        threading.Thread(target=act, args=(service.closing.cancel, BOB)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    closed = [o for o in outcomes if o in ("finished", "cancelled")]
    assert len(closed) == 1, outcomes
    log = service.customers.activity_log(onboarding_id)
    assert sum(e.message.startswith("Onboarding") for e in log.events) == 1


def test_a_request_microsoft_refuses_is_answered_as_a_failure_not_a_success(service):
    from bot.tone import Tone

    enroll(service)
    service.sandbox.play("accept-reseller", "abctech.com")
    # a relationship of that name was made in Partner Center by hand, so the bot's store does
    # not know it; Microsoft refuses the duplicate name
    service.sandbox.simulator.create_gdap_relationship(
        name="ABC GDAP",
        duration_days=30,
        role_ids=list(RECOMMENDED_ROLE_IDS),
        auto_extend=True,
        customer_tenant_id=None,
        customer_name="someone else",
    )
    card = service.gdap.request("abctech.com", gdap_values(), ALICE)
    assert card.headline == (
        'Microsoft refused the GDAP request: A GDAP relationship named "ABC GDAP" already '
        "exists in Partner Center: choose another name."
    )
    assert card.tone is Tone.FAILURE and card.row.gdap == "Failed"
    assert enroll(service, "Fourth Coffee", "fourthcoffee.com").tone is Tone.SUCCESS
    assert service.sandbox.play("accept-reseller", "fourthcoffee.com").tone is Tone.SUCCESS
    service.gdap.request("fourthcoffee.com", gdap_values("Fourth GDAP"), ALICE)
    service.sandbox.play("approve-gdap", "fourthcoffee.com")
    expired = service.sandbox.play("expire-gdap", "fourthcoffee.com")
    assert expired.tone is Tone.FAILURE and expired.row.gdap == "Expired"


def test_ten_simultaneous_requests_for_one_name_across_two_replicas_give_it_once(
    service, engine, db_url, clock
):
    from storage.database import create_engine_for

    domains = [f"customer{i}.com" for i in range(10)]
    for domain in domains:
        enroll(service, f"Customer {domain}", domain)
        service.sandbox.play("accept-reseller", domain)
    second_engine = create_engine_for(db_url)  # another replica: its own pool, same database
    replica = sandboxed_service(second_engine, clock)
    barrier = threading.Barrier(len(domains))
    outcomes: list[str] = []

    def request(replica_service, domain):
        barrier.wait()
        try:
            card = replica_service.gdap.request(domain, gdap_values("Shared Name"), ALICE)
            outcomes.append(card.row.gdap)
        except ValidationError as err:
            assert "already exists" in err.field_errors["name"]
            outcomes.append("name taken")

    threads = [
        threading.Thread(target=request, args=(service if i % 2 else replica, domain))
        for i, domain in enumerate(domains)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    second_engine.dispose()
    assert sorted(outcomes) == ["In Progress"] + ["name taken"] * 9
    holders = [d for d in domains if service.customers.card(d).row.gdap == "In Progress"]
    assert len(holders) == 1


def test_the_default_name_after_an_expired_relationship_is_a_new_one(service):
    enroll(service)
    service.sandbox.play("accept-reseller", "abctech.com")
    first = service.gdap.form("abctech.com").field("name").default
    service.gdap.request("abctech.com", gdap_values(first), ALICE)
    service.sandbox.play("approve-gdap", "abctech.com")
    service.sandbox.play("expire-gdap", "abctech.com")
    again = service.gdap.form("abctech.com").field("name").default
    assert (first, again) == ("ABC Technologies Inc. GDAP", "ABC Technologies Inc. GDAP 2")
    assert service.gdap.request("abctech.com", gdap_values(again), ALICE).row.gdap == "In Progress"
