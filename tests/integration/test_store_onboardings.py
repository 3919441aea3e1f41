"""The store's onboardings, as the dashboard and the use cases rely on them, on both databases."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from bot import priority
from bot.domain import (
    SYSTEM_ACTOR,
    AccessState,
    Activity,
    ActivityKind,
    Actor,
    GdapRequest,
    GdapStatus,
    GroupAccess,
    HubStatus,
    Lifecycle,
    OverallStatus,
    P2PStatus,
    P2PTransfer,
    ResellerStatus,
    Step,
)
from bot.errors import Conflict, NotFound
from bot.records import (
    BulkImport,
    BulkRow,
    BulkState,
    KnownPartner,
    NoticeLevel,
    RowError,
    Subscription,
)

ALICE = Actor("U1", "alice", "slack")
CEST = timezone(timedelta(hours=2))
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_a_full_onboarding_comes_back_exactly_as_saved(store, make_onboarding):
    ob = make_onboarding(
        name="ABC Technologies Inc.",
        email="john.doe@abctech.com",
        domain="abctech.com",
        country="DE",
        enrolled_at=datetime(2026, 3, 1, 10, 30, 15, 123456, tzinfo=CEST),
        reseller_status=ResellerStatus.ESTABLISHED,
        customer_tenant_id="tenant-1",
        gdap_status=GdapStatus.ESTABLISHED,
        gdap_started_at=T0 + timedelta(hours=1),
        tenant_checked_at=T0,
        gdap=GdapRequest(
            "ABC GDAP",
            365,
            ["role-a", "role-b", "role-c"],
            "rel-1",
            "https://admin.example/approve",
            T0 + timedelta(days=365),
            waiting=None,
            ends_unapproved_at=T0 + timedelta(days=90),
            assignments=[
                GroupAccess("group-1", ["role-a"], AccessState.ACTIVE, "as-1"),
                GroupAccess("group-2", ["role-b"], AccessState.FAILED, "as-2", "no such group"),
                GroupAccess("group-3", ["role-c"], AccessState.WAITING, None, "Graph 503"),
            ],
        ),
        hub_status=HubStatus.COMPLETED,
        hub_started_at=T0 + timedelta(hours=2),
        hub_customer_id="hub-1",
        p2p_status=P2PStatus.FAILED,
        p2p_started_at=T0 + timedelta(hours=3),
        p2p=P2PTransfer(
            "Old Partner",
            "tenant-old",
            "x@old.example",
            "tr-1",
            T0 + timedelta(hours=3),
            microsoft_expires_at=T0 + timedelta(days=14),
            waiting="Partner Center answered 503",
        ),
        failure_reason="the current partner declined",
        bulk_import_id="bulk-1",
        closed_at=None,
    )
    with store.transaction() as uow:
        uow.onboardings.add(ob)
    with store.transaction() as uow:
        loaded = uow.onboardings.get(ob.id)
    assert loaded == ob
    assert loaded.enrolled_at.tzinfo == UTC and loaded.enrolled_at.hour == 8
    assert loaded.gdap.ends_at.tzinfo == UTC and loaded.p2p.sent_at.tzinfo == UTC
    assert isinstance(loaded.gdap_status, GdapStatus) and loaded.overall_status is (
        OverallStatus.FAILED
    )
    assert loaded.gdap.role_ids == ["role-a", "role-b", "role-c"]


def test_open_onboardings_are_found_by_the_microsoft_ids_a_webhook_names(store, make_onboarding):
    by_tenant = make_onboarding(customer_tenant_id="AAAA-tenant")
    by_relationship = make_onboarding(
        gdap=GdapRequest("R1", 30, ["role-a"], relationship_id="rel-1"),
        gdap_status=GdapStatus.IN_PROGRESS,
    )
    by_transfer = make_onboarding(
        customer_tenant_id="other-tenant",
        p2p=P2PTransfer("Old", "t-old", "x@old.example", "tr-1", T0),
        p2p_status=P2PStatus.PENDING,
    )
    closed = make_onboarding(customer_tenant_id="aaaa-tenant", lifecycle=Lifecycle.CANCELLED)
    with store.transaction() as uow:
        for ob in (by_tenant, by_relationship, by_transfer, closed):
            uow.onboardings.add(ob)
    with store.transaction() as uow:
        found = uow.onboardings.open_by_microsoft_ids
        assert [o.id for o in found(tenant_id="aaaa-TENANT")] == [by_tenant.id]
        assert [o.id for o in found(relationship_id="REL-1")] == [by_relationship.id]
        assert [o.id for o in found(transfer_id="tr-1")] == [by_transfer.id]
        assert [o.id for o in found(tenant_id="other-tenant", transfer_id="tr-1")] == [
            by_transfer.id
        ]
        assert [o.id for o in found(tenant_id="aaaa-tenant", relationship_id="rel-1")] == [
            by_tenant.id,
            by_relationship.id,
        ]
        assert found(tenant_id="nobody") == [] and found() == [] and found(tenant_id=" ") == []


def test_an_onboarding_without_gdap_or_p2p_has_none(store, make_onboarding):
    ob = make_onboarding()
    with store.transaction() as uow:
        uow.onboardings.add(ob)
        assert uow.onboardings.get(ob.id) == ob
    with store.transaction() as uow:
        loaded = uow.onboardings.get(ob.id)
        assert uow.onboardings.get("nope") is None
    assert loaded.gdap is None and loaded.p2p is None and loaded.version == 0


def test_naive_datetimes_are_refused(store, make_onboarding):
    with pytest.raises(Exception, match="naive datetime"), store.transaction() as uow:
        uow.onboardings.add(make_onboarding(enrolled_at=datetime(2026, 1, 1, 12, 0)))


def test_save_moves_the_version_and_refuses_a_stale_copy(store, make_onboarding):
    ob = make_onboarding()
    with store.transaction() as uow:
        uow.onboardings.add(ob)
    with store.transaction() as uow:
        stale = uow.onboardings.get(ob.id)
    with store.transaction() as uow:
        fresh = uow.onboardings.get(ob.id, for_update=True)
        fresh.hub_status = HubStatus.IN_PROGRESS
        uow.onboardings.save(fresh)
        assert fresh.version == 1
        fresh.hub_customer_id = "hub-9"
        uow.onboardings.save(fresh)  # the same object can be saved twice
    assert fresh.version == 2
    stale.name = "Overwritten"
    with (
        pytest.raises(Conflict, match="changed by someone else; reload and try again"),
        store.transaction() as uow,
    ):
        uow.onboardings.save(stale)
    with store.transaction() as uow:
        kept = uow.onboardings.get(ob.id)
    assert kept.name == ob.name and kept.hub_customer_id == "hub-9" and kept.version == 2
    with pytest.raises(NotFound), store.transaction() as uow:
        uow.onboardings.save(make_onboarding(id="missing"))


def test_overall_status_is_stored_for_the_dashboard(store, make_onboarding, engine):
    ob = make_onboarding()
    with store.transaction() as uow:
        uow.onboardings.add(ob)
        ob.gdap_status = GdapStatus.EXPIRED
        uow.onboardings.save(ob)
        assert uow.onboardings.counts()[OverallStatus.FAILED] == 1
        assert uow.onboardings.page(OverallStatus.FAILED, None, 0, 10)[1] == 1


def test_find_by_id_domain_or_name_in_any_case(store, make_onboarding):
    abc = make_onboarding(name="ABC Technologies Inc.", domain="abctech.com")
    twin1 = make_onboarding(name="Contoso", domain="contoso.com")
    twin2 = make_onboarding(name="contoso", domain="contoso.net")
    shadow = make_onboarding(name="abctech.com", domain="other.com")  # a name like a domain
    umlaut = make_onboarding(name="Müller Straße GmbH", domain="mueller.de")
    with store.transaction() as uow:
        for ob in (abc, twin1, twin2, shadow, umlaut):
            uow.onboardings.add(ob)
    with store.transaction() as uow:
        assert uow.onboardings.find(abc.id) == [abc]
        assert uow.onboardings.find("  ABCTECH.com ") == [abc]  # the domain wins over the name
        assert uow.onboardings.find("abc technologies inc.") == [abc]
        assert {o.id for o in uow.onboardings.find(" CONTOSO ")} == {twin1.id, twin2.id}
        assert uow.onboardings.find("MÜLLER STRASSE GMBH") == []  # no guessing beyond letter case
        assert uow.onboardings.find("MÜLLER STRAßE GMBH") == [umlaut]
        assert (
            uow.onboardings.find("abc") == []
            and uow.onboardings.find("") == []
            and uow.onboardings.find("   ") == []
        )


def test_closed_onboardings_are_neither_found_nor_listed(store, make_onboarding):
    done = make_onboarding(
        name="Finished Co", domain="finished.com", lifecycle=Lifecycle.FINISHED, closed_at=T0
    )
    gone = make_onboarding(
        name="Cancelled Co", domain="cancelled.com", lifecycle=Lifecycle.CANCELLED, closed_at=T0
    )
    live = make_onboarding(name="Live Co", domain="live.com")
    with store.transaction() as uow:
        for ob in (done, gone, live):
            uow.onboardings.add(ob)
    with store.transaction() as uow:
        for ob in (done, gone):
            assert (
                uow.onboardings.find(ob.id) == []
                and uow.onboardings.find(ob.domain) == []
                and uow.onboardings.find(ob.name) == []
            )
            assert uow.onboardings.get(ob.id) == ob  # still there for history
        assert uow.onboardings.open_by_domains(["finished.com", "LIVE.com"]) == {"LIVE.com": live}
        assert uow.onboardings.page(None, None, 0, 10) == ([live], 1)
        assert uow.onboardings.page(None, "co", 0, 10) == ([live], 1)
        assert uow.onboardings.counts() == {
            OverallStatus.ACTIVE: 1,
            OverallStatus.FAILED: 0,
            OverallStatus.COMPLETED: 0,
        }


def test_page_filters_searches_and_pages_newest_first(store, make_onboarding):
    obs = [
        make_onboarding(name=f"Tech {i:02d}", enrolled_at=T0 + timedelta(minutes=i))
        for i in range(12)
    ]
    obs += [
        make_onboarding(name="100% Cloud", enrolled_at=T0),
        make_onboarding(name="1000 Cloud", enrolled_at=T0),
        make_onboarding(name="a_b Systems", enrolled_at=T0),
        make_onboarding(name="axb Systems", enrolled_at=T0),
        make_onboarding(name="Slash/Percent", enrolled_at=T0),
    ]
    for ob in obs[:3]:
        ob.p2p_status = P2PStatus.EXPIRED
    with store.transaction() as uow:
        for ob in obs:
            uow.onboardings.add(ob)
    with store.transaction() as uow:
        first, total = uow.onboardings.page(None, None, 0, 5)
        assert total == 17
        assert [o.name for o in first] == ["Tech 11", "Tech 10", "Tech 09", "Tech 08", "Tech 07"]
        last, total = uow.onboardings.page(None, None, 15, 5)
        assert total == 17 and len(last) == 2
        everything = uow.onboardings.page(None, None, 0, 100)[0]
        assert len({o.id for o in everything}) == 17
        same_time = [o for o in everything if o.enrolled_at == T0]
        assert [o.id for o in same_time] == sorted((o.id for o in same_time), reverse=True)

        failed, total = uow.onboardings.page(OverallStatus.FAILED, None, 0, 2)
        assert total == 3 and [o.name for o in failed] == ["Tech 02", "Tech 01"]
        assert uow.onboardings.page(OverallStatus.COMPLETED, None, 0, 10) == ([], 0)

        assert uow.onboardings.page(None, "  tECH 1 ", 0, 10)[1] == 2
        assert uow.onboardings.page(OverallStatus.ACTIVE, "tech", 0, 10)[1] == 9
        assert [o.name for o in uow.onboardings.page(None, "100%", 0, 10)[0]] == ["100% Cloud"]
        assert [o.name for o in uow.onboardings.page(None, "a_b", 0, 10)[0]] == ["a_b Systems"]
        assert [o.name for o in uow.onboardings.page(None, "h/p", 0, 10)[0]] == ["Slash/Percent"]
        assert uow.onboardings.page(None, "%", 0, 10)[1] == 1
        assert uow.onboardings.page(None, "", 0, 10)[1] == 17


def test_search_follows_a_renamed_customer_through_the_index(store, make_onboarding):
    """The search index (FTS5 on SQLite, trigrams on PostgreSQL) moves with the row: a new
    name is found and the old one no longer is; quotes and short texts are taken as typed."""
    ob = make_onboarding(name='Contoso "Quoted" Ltd', domain="contoso-shop.com")
    other = make_onboarding(name="Northwind", domain="nw.example.com")
    with store.transaction() as uow:
        uow.onboardings.add(ob)
        uow.onboardings.add(other)
    with store.transaction() as uow:
        assert uow.onboardings.page(None, '"quoted"', 0, 10) == ([ob], 1)
        assert uow.onboardings.page(None, "SO-SH", 0, 10) == ([ob], 1)  # in the domain
        assert uow.onboardings.page(None, "nw", 0, 10) == ([other], 1)  # shorter than a trigram
        ob.name = "Fabrikam Renamed"
        uow.onboardings.save(ob)
    with store.transaction() as uow:
        assert uow.onboardings.page(None, "quoted", 0, 10) == ([], 0)
        assert uow.onboardings.page(None, "renamed", 0, 10) == ([ob], 1)
        assert uow.onboardings.page(None, ob.id, 0, 10) == ([ob], 1)


def test_search_folds_non_ascii_letters(store, make_onboarding):
    ob = make_onboarding(name="Société Générale Écoles")
    with store.transaction() as uow:
        uow.onboardings.add(ob)
    with store.transaction() as uow:
        assert uow.onboardings.page(None, "GÉNÉRALE", 0, 10) == ([ob], 1)
        assert uow.onboardings.find("SOCIÉTÉ GÉNÉRALE ÉCOLES") == [ob]


def test_counts_every_status_even_when_none(store, make_onboarding):
    with store.transaction() as uow:
        assert uow.onboardings.counts() == dict.fromkeys(OverallStatus, 0)
        uow.onboardings.add(make_onboarding())
        uow.onboardings.add(make_onboarding(gdap_status=GdapStatus.FAILED))
        uow.onboardings.add(make_onboarding(gdap_status=GdapStatus.FAILED))
        uow.onboardings.add(
            make_onboarding(
                reseller_status=ResellerStatus.ESTABLISHED,
                gdap_status=GdapStatus.ESTABLISHED,
                hub_status=HubStatus.COMPLETED,
            )
        )
    with store.transaction() as uow:
        assert uow.onboardings.counts() == {
            OverallStatus.ACTIVE: 1,
            OverallStatus.FAILED: 2,
            OverallStatus.COMPLETED: 1,
        }


def test_one_open_onboarding_per_domain(store, make_onboarding):
    first = make_onboarding(name="ABC Technologies Inc.", domain="abctech.com")
    with store.transaction() as uow:
        uow.onboardings.add(first)
    with store.transaction() as uow:
        with pytest.raises(
            Conflict,
            match=r"abctech.com is already in onboarding as "
            r"ABC Technologies Inc\.",
        ):
            uow.onboardings.add(make_onboarding(name="Other", domain="ABCTECH.com"))
        other = make_onboarding(domain="other.com")
        uow.onboardings.add(other)  # the transaction is still usable after the refusal
    with store.transaction() as uow:
        assert uow.onboardings.get(other.id) is not None
        with pytest.raises(Conflict, match="already exists"):
            uow.onboardings.add(make_onboarding(id=first.id, domain="third.com"))
        first.lifecycle, first.closed_at = Lifecycle.CANCELLED, T0
        uow.onboardings.save(first)
    again = make_onboarding(name="ABC again", domain="abctech.com")
    with store.transaction() as uow:
        uow.onboardings.add(again)
        assert uow.onboardings.find("abctech.com") == [again]


def test_adding_many_leaves_out_the_domains_held_and_says_which_went_in(store, make_onboarding):
    held = make_onboarding(name="Held", domain="held.com")
    with store.transaction() as uow:
        uow.onboardings.add(held)
    fresh = [make_onboarding(id=f"n{i}", name=f"New {i}", domain=f"new{i}.com") for i in range(3)]
    taken = make_onboarding(id="dup", name="Held again", domain="HELD.com")
    with store.transaction() as uow:
        added = uow.onboardings.add_new([fresh[0], taken, *fresh[1:]])
    assert added == {"n0", "n1", "n2"}
    with store.transaction() as uow:
        assert uow.onboardings.find("held.com") == [held]
        assert uow.onboardings.get("dup") is None
        assert uow.onboardings.get("n2") == fresh[2]
        assert uow.onboardings.add_new([]) == set()
    # An id that is there already (a resumed import's own row) was not inserted now.
    same_id = make_onboarding(id="n1", name="Other", domain="other.com")
    with store.transaction() as uow:
        assert uow.onboardings.add_new([same_id, make_onboarding(id="n9")]) == {"n9"}
        assert uow.onboardings.get("n1") == fresh[1]


def test_two_writers_adding_many_with_one_domain_in_common(store, make_onboarding):
    barrier = threading.Barrier(2, timeout=10)
    added: dict[str, set[str]] = {}

    def add(name: str) -> None:
        rows = [
            make_onboarding(id=f"{name}-own", name=name, domain=f"{name}.com"),
            make_onboarding(id=f"{name}-shared", name=name, domain="shared.com"),
        ]
        barrier.wait()
        with store.transaction() as uow:
            added[name] = uow.onboardings.add_new(rows)
            time.sleep(0.05)  # hold the insert open while the other one tries

    run_threads(add, ["first", "second"])
    shared = [ids for ids in added.values() if any(i.endswith("-shared") for i in ids)]
    assert len(shared) == 1  # exactly one got the shared domain; both got their own
    assert all(f"{name}-own" in ids for name, ids in added.items())
    with store.transaction() as uow:
        assert len(uow.onboardings.find("shared.com")) == 1


def test_two_users_enrolling_one_domain_at_once(store, make_onboarding):
    barrier = threading.Barrier(2, timeout=10)
    outcomes: list[str] = []

    def enroll(name: str) -> None:
        ob = make_onboarding(id=name, name=name, domain="race.com")
        barrier.wait()
        try:
            with store.transaction() as uow:
                uow.onboardings.open_by_domains(["race.com"])  # both may see the domain free
                uow.onboardings.add(ob)
                time.sleep(0.05)  # hold the insert open while the other one tries
            outcomes.append("added")
        except Conflict:
            outcomes.append("conflict")

    run_threads(enroll, ["first", "second"])
    assert sorted(outcomes) == ["added", "conflict"]
    with store.transaction() as uow:
        assert len(uow.onboardings.find("race.com")) == 1


@pytest.mark.parametrize("look_up_first", [False, True], ids=["lock", "find-then-lock"])
def test_two_writers_on_one_onboarding_lose_no_update(store, make_onboarding, look_up_first):
    """Each thread counts in its own field. Without locking both would read the same row
    and the second save would either overwrite the first (lost update) or hit Conflict;
    with locking the second waits, so neither happens. "find-then-lock" is how use cases
    resolve a customer: a plain read first, so on SQLite the transaction must move from
    reading to holding the write lock without failing."""
    ob = make_onboarding(customer_tenant_id="0", hub_customer_id="0")
    with store.transaction() as uow:
        uow.onboardings.add(ob)
    rounds = 50
    barrier = threading.Barrier(2, timeout=10)
    conflicts: list[str] = []

    def writer(field: str) -> None:
        for _ in range(rounds):
            barrier.wait()
            try:
                with store.transaction() as uow:
                    if look_up_first:
                        assert uow.onboardings.find(ob.domain)
                    current = uow.onboardings.get(ob.id, for_update=True)
                    time.sleep(0.001)  # widen the window between read and write
                    setattr(current, field, str(int(getattr(current, field)) + 1))
                    uow.onboardings.save(current)
            except Conflict:
                conflicts.append(field)

    run_threads(writer, ["customer_tenant_id", "hub_customer_id"])
    with store.transaction() as uow:
        final = uow.onboardings.get(ob.id)
    assert conflicts == []
    assert (final.customer_tenant_id, final.hub_customer_id) == (str(rounds), str(rounds))
    assert final.version == 2 * rounds


def test_a_reader_is_not_held_up_by_a_writer(store, make_onboarding):
    ob = make_onboarding()
    with store.transaction() as uow:
        uow.onboardings.add(ob)
    locked, release = threading.Event(), threading.Event()

    def writer(_: object) -> None:
        with store.transaction() as uow:
            uow.onboardings.get(ob.id, for_update=True)
            locked.set()
            release.wait(10)

    thread = threading.Thread(target=writer, args=(None,))
    thread.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        with store.transaction() as uow:
            assert uow.onboardings.page(None, None, 0, 10)[1] == 1 and uow.onboardings.find(
                ob.domain
            ) == [ob]
        assert time.monotonic() - started < 2
    finally:
        release.set()
        thread.join()


KINDS = list(ActivityKind)[:5]


def test_activities_oldest_first_and_the_newest_few(store, make_onboarding):
    ob = make_onboarding()
    other = make_onboarding()
    times = [T0 + timedelta(minutes=m) for m in (5, 1, 3, 3, 9)]
    with store.transaction() as uow:
        uow.onboardings.add(ob)
        uow.onboardings.add(other)
        for i, at in enumerate(times):
            uow.activities.append(
                Activity(
                    ob.id,
                    at,
                    ALICE if i % 2 else SYSTEM_ACTOR,
                    KINDS[i],
                    f"message {i}",
                    Step.GDAP if i == 0 else None,
                    {"n": i, "slot": None, "nested": {"a": [1, 2]}},
                )
            )
        uow.activities.append(Activity(other.id, T0, ALICE, ActivityKind.HUB_STARTED, "other"))
    with store.transaction() as uow:
        log = uow.activities.of(ob.id)
        assert [a.kind for a in log] == [KINDS[1], KINDS[2], KINDS[3], KINDS[0], KINDS[4]]
        assert log[3].step is Step.GDAP and log[0].step is None
        assert log[0].actor == ALICE and log[1].actor == SYSTEM_ACTOR
        assert log[0].details == {"n": 1, "slot": None, "nested": {"a": [1, 2]}}
        assert log[0].at == T0 + timedelta(minutes=1) and log[0].at.tzinfo == UTC
        assert [a.kind for a in uow.activities.of(ob.id, limit=2)] == [KINDS[0], KINDS[4]]
        assert [a.kind for a in uow.activities.of(ob.id, limit=10)] == [a.kind for a in log]
        assert uow.activities.of("nobody") == []


def test_gdap_names_are_taken_in_any_case_and_claimed_once(store, make_onboarding):
    first, second = make_onboarding(), make_onboarding()
    with store.transaction() as uow:
        uow.onboardings.add(first)
        uow.onboardings.add(second)
        assert uow.gdap_names.claim("Contoso GDAP 2026", first.id, T0)
    with store.transaction() as uow:
        assert uow.gdap_names.taken("contoso gdap 2026")
        assert uow.gdap_names.taken(" CONTOSO   GDAP 2026 ")
        assert not uow.gdap_names.taken("Contoso GDAP")
        assert not uow.gdap_names.claim("CONTOSO GDAP 2026", second.id, T0)
        uow.gdap_names.release("Contoso GDAP 2026", second.id)  # not its name: kept
        assert uow.gdap_names.taken("Contoso GDAP 2026")
        uow.gdap_names.release("contoso gdap 2026", first.id)
        assert uow.gdap_names.claim("Contoso GDAP 2026", second.id, T0)


def test_known_partners_are_remembered_once_per_tenant(store):
    with store.transaction() as uow:
        assert uow.partners.known() == []
        uow.partners.remember(KnownPartner("t-2", "zeta Partners", "z@zeta.example"))
        uow.partners.remember(KnownPartner("t-1", "Alpha Ltd", "a@alpha.example"))
    with store.transaction() as uow:
        uow.partners.remember(KnownPartner("t-2", "Beta Partners", "b@beta.example"))
    with store.transaction() as uow:
        assert uow.partners.known() == [
            KnownPartner("t-1", "Alpha Ltd", "a@alpha.example"),
            KnownPartner("t-2", "Beta Partners", "b@beta.example"),
        ]


def test_activities_keep_their_ids(store, make_onboarding):
    ob = make_onboarding()
    first = Activity(ob.id, T0, ALICE, ActivityKind.ENROLLED, "Enrolled")
    second = Activity(ob.id, T0, ALICE, ActivityKind.GDAP_ENDING, "Noted", id="fixed-id")
    with store.transaction() as uow:
        uow.onboardings.add(ob)
        uow.activities.append(first)
        uow.activities.append(second)
    with store.transaction() as uow:
        assert uow.activities.of(ob.id) == [first, second]
    with pytest.raises(IntegrityError), store.transaction() as uow:
        uow.activities.append(
            Activity(ob.id, T0, ALICE, ActivityKind.GDAP_ENDING, "Again", id="fixed-id")
        )


def test_a_failed_write_names_the_statement_but_not_the_customers_data(store, make_onboarding):
    """What a failed write puts in the log (its exception's text) holds no row data."""
    ob = make_onboarding()
    said = "Invitation sent to private.person@contoso-secret.example"
    with store.transaction() as uow:
        uow.onboardings.add(ob)
        uow.activities.append(Activity(ob.id, T0, ALICE, ActivityKind.ENROLLED, said, id="a1"))
    with pytest.raises(IntegrityError) as failed, store.transaction() as uow:
        uow.activities.append(Activity(ob.id, T0, ALICE, ActivityKind.ENROLLED, said, id="a1"))
    assert "INSERT INTO activities" in str(failed.value)
    assert "private.person" not in str(failed.value)


def test_notice_subscriptions_one_per_destination(store):
    def sub(destination: str, level: NoticeLevel, label: str) -> Subscription:
        return Subscription("slack", destination, level, label, "alice (slack)", T0)

    with store.transaction() as uow:
        assert uow.subscriptions.all() == []
        uow.subscriptions.save(sub("C1", NoticeLevel.ALL, "#onboarding"))
        uow.subscriptions.save(sub("C2", NoticeLevel.ALL, "#ops"))
        uow.subscriptions.save(
            Subscription(
                "teams", "C1", NoticeLevel.ALL, "Team chat", "bob", T0 + timedelta(hours=1)
            )
        )
    with store.transaction() as uow:
        uow.subscriptions.save(sub("C1", NoticeLevel.FAILURES, "#onboarding-renamed"))
    with store.transaction() as uow:
        assert [(s.platform, s.destination, s.level, s.label) for s in uow.subscriptions.all()] == [
            ("slack", "C1", NoticeLevel.FAILURES, "#onboarding-renamed"),
            ("slack", "C2", NoticeLevel.ALL, "#ops"),
            ("teams", "C1", NoticeLevel.ALL, "Team chat"),
        ]
        assert uow.subscriptions.all()[2].created_at == T0 + timedelta(hours=1)
        assert uow.subscriptions.remove("slack", "C2") is True
        assert uow.subscriptions.remove("slack", "C2") is False
        assert [s.destination for s in uow.subscriptions.all()] == ["C1", "C1"]


def test_bulk_import_round_trip(store):
    bulk = BulkImport(
        "imp1",
        T0,
        "alice (console)",
        "customers.csv",
        4,
        [BulkRow(2, "Alpha Ltd", "ops@alpha.com", "alpha.com", "US")],
        [RowError(3, "Country Code", "not a country")],
    )
    with store.transaction() as uow:
        uow.bulk_imports.add(bulk)
    with store.transaction() as uow:
        loaded = uow.bulk_imports.get("imp1", for_update=True)
        assert loaded == bulk and loaded.state is BulkState.REVIEW
        loaded.state = BulkState.DONE
        loaded.enrolled = ["ob1"]
        loaded.failed = [RowError(2, "Domain Name", "taken")]
        uow.bulk_imports.save(loaded)
    with store.transaction() as uow:
        assert uow.bulk_imports.get("imp1") == loaded
        assert uow.bulk_imports.get("nope") is None
        with pytest.raises(NotFound):
            uow.bulk_imports.save(BulkImport("nope", T0, "x", "x.csv", 0, [], []))


def test_a_failed_use_case_leaves_nothing_behind(store, make_onboarding):
    ob = make_onboarding()
    with pytest.raises(RuntimeError), store.transaction() as uow:
        uow.onboardings.add(ob)
        uow.activities.append(Activity(ob.id, T0, ALICE, ActivityKind.ENROLLED, "Enrolled"))
        raise RuntimeError("boom")
    with store.transaction() as uow:
        assert uow.onboardings.get(ob.id) is None and uow.activities.of(ob.id) == []


def test_a_transaction_opened_inside_another_joins_it(store, make_onboarding):
    outer_ob, inner_ob, failed_ob = make_onboarding(), make_onboarding(), make_onboarding()
    with store.transaction() as outer:
        outer.onboardings.get("warm-up")  # the outer one starts by reading
        with store.transaction() as inner:
            inner.onboardings.add(inner_ob)
        with pytest.raises(RuntimeError), store.transaction() as inner:
            inner.onboardings.add(failed_ob)
            raise RuntimeError("only the inner work is undone")
        outer.onboardings.add(outer_ob)
        assert (
            outer.onboardings.get(inner_ob.id) is not None
            and outer.onboardings.get(failed_ob.id) is None
        )
    with store.transaction() as uow:
        assert (
            uow.onboardings.get(outer_ob.id)
            and uow.onboardings.get(inner_ob.id)
            and uow.onboardings.get(failed_ob.id) is None
        )


def run_threads(target: Callable[[Any], None], args: list[Any]) -> None:
    """Runs `target(arg)` in one thread per arg and re-raises the first error any raised."""
    errors: list[BaseException] = []

    def guarded(arg: object) -> None:
        try:
            target(arg)
        except BaseException as err:  # reported to the test below
            errors.append(err)

    threads = [threading.Thread(target=guarded, args=(arg,)) for arg in args]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]


def test_transfers_expiring_soon_count_partner_centers_own_expiry(store, make_onboarding):
    def pending(sent_at, expires_at=None):
        return make_onboarding(
            p2p=P2PTransfer("Old", "t-old", "x@old.example", "tr", sent_at, expires_at),
            p2p_status=P2PStatus.PENDING,
        )

    now = T0 + timedelta(days=40)
    old_by_product = pending(now - timedelta(days=25))  # the 30 days end in 5
    soon_by_partner_center = pending(now - timedelta(days=1), now + timedelta(days=3))
    late_by_partner_center = pending(now - timedelta(days=25), now + timedelta(days=40))
    fresh = pending(now - timedelta(days=1))
    with store.transaction() as uow:
        for ob in (old_by_product, soon_by_partner_center, late_by_partner_center, fresh):
            uow.onboardings.add(ob)
    with store.transaction() as uow:
        found = uow.onboardings.expiring(now - timedelta(days=23), now, 10)
    assert {o.id for o in found} == {old_by_product.id, soon_by_partner_center.id}


def test_a_list_page_is_read_from_an_index_not_by_sorting_every_open_customer(
    store, engine, make_onboarding
):
    """`status` at 100,000 customers costs its page, not a sort of the store: the plan of the
    page's query walks an index in the lists' order and has no sort step."""
    with store.transaction() as uow:
        uow.onboardings.add_new(
            [make_onboarding(enrolled_at=T0 + timedelta(seconds=i)) for i in range(300)]
        )
    statements: list[tuple[str, Any]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "ORDER BY" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        with store.transaction() as uow:
            for status in (None, OverallStatus.ACTIVE):
                uow.onboardings.page(status, None, 0, 10, known_total=300)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(statements) == 2
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE onboardings")
            conn.exec_driver_sql("SET enable_seqscan = off")  # 300 rows: prefer no scan
        explain = "EXPLAIN " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
        for sql, parameters in statements:
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(explain + sql, parameters))
            assert "ix_onboardings_" in plan, plan
            assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan


def test_a_transaction_says_when_every_other_writer_waits_for_it(store, engine, make_onboarding):
    """Background work pauses for users only when no user can be waiting for its lock:
    SQLite's one write lock once taken; never on PostgreSQL, and never while only reading."""
    with store.transaction() as uow:
        uow.onboardings.page(None, None, 0, 10)
        assert not uow.blocks_other_writers()
        uow.onboardings.add(make_onboarding())
        assert uow.blocks_other_writers() == (engine.dialect.name == "sqlite")


def test_a_users_write_is_not_held_up_by_work_pausing_with_the_write_lock(
    store, engine, make_onboarding, monkeypatch
):
    """An import pauses for users even while it holds SQLite's write lock; a user's command
    that then writes asks for the lock through the store, and the import stops pausing and
    commits, instead of both waiting on each other until the pauses run out."""
    monkeypatch.setattr(priority, "MOST", 30.0)  # only the hurry signal can end a pause
    holding, answering = threading.Event(), threading.Event()
    user_wrote: list[float] = []

    def work() -> None:
        with store.transaction() as uow:
            uow.onboardings.add(make_onboarding())
            holding.set()
            answering.wait(10)
            for _ in range(20):  # an import's safe points between its statements
                priority.step_aside(holding_write_lock=uow.blocks_other_writers())

    def user() -> None:
        holding.wait(10)
        with priority.answering_user():
            answering.set()
            time.sleep(0.1)  # reads first, as a command does
            started = time.monotonic()
            with store.transaction() as uow:
                uow.onboardings.add(make_onboarding())
            user_wrote.append(time.monotonic() - started)

    threads = [threading.Thread(target=work), threading.Thread(target=user)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(25)
    assert user_wrote and user_wrote[0] < 5, user_wrote
    with store.transaction() as uow:
        rows, total = uow.onboardings.page(None, None, 0, 10)
        assert total == 2 and len(rows) == 2
