"""What a use case causes leaves as soon as its unit of work commits, whichever use case and
whichever front end: nobody calls delivery by hand, and no scheduler tick is needed. Also: the
pacer and the deferral of paced notices use one clock, so a paced notice is never stuck."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.clock import FixedClock
from bot.domain import Actor
from bot.gdap_roles import RECOMMENDED_ROLE_IDS
from bot.notices import NoticePayload
from bot.records import Place
from bot.tone import Tone
from tests.services import sandboxed_service

ALICE = Actor("U1", "alice", "console")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CHANNEL = Place("teams", "conv-1", "Onboarding channel")


class RecordingNotifier:
    platform = "teams"

    def __init__(self) -> None:
        self.posts: list[NoticePayload] = []

    def post(self, destination: str, notice: NoticePayload) -> None:
        assert destination == notice.destination
        self.posts.append(notice)

    def kinds(self) -> list[str]:
        return [p.kind for p in self.posts]


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def notifier():
    return RecordingNotifier()


@pytest.fixture
def service(engine, clock, notifier):
    service = sandboxed_service(
        engine,
        clock,
        partner_name="Fabrikam Cloud",
        notifiers=[notifier],
        notice_every=0,
    )
    service.subscriptions.notify(CHANNEL, "all", ALICE)
    return service


def enrolled_and_accepted(service, domain="abctech.com"):
    service.enrollment.enroll(
        {
            "name": "ABC Technologies Inc.",
            "email": f"john.doe@{domain}",
            "domain": domain,
            "country": "US",
        },
        ALICE,
    )
    service.sandbox.play("accept-reseller", domain)


def hub_values(service, ref):
    return {f.name: str(f.default) for f in service.hub_access.form(ref).fields}


P2P = {
    "partner": "other",
    "partner_name": "Old Partner Ltd",
    "partner_tenant_id": "0e9b0b5f-0000-4a5d-9c1d-1234567890ab",
    "partner_email": "transfers@oldpartner.com",
}


def test_starting_hub_access_posts_its_notices_at_once(service, notifier):
    enrolled_and_accepted(service)
    notifier.posts.clear()
    service.hub_access.start("abctech.com", hub_values(service, "abctech.com"), ALICE)
    assert notifier.kinds() == ["hub.started", "hub.completed"]


def test_cancelling_a_transfer_posts_at_once(service, notifier):
    enrolled_and_accepted(service)
    service.transfers.initiate("abctech.com", P2P, ALICE)
    notifier.posts.clear()
    service.transfers.cancel("abctech.com", ALICE)
    assert notifier.kinds() == ["p2p.cancelled"]


def test_finishing_posts_at_once(service, notifier):
    enrolled_and_accepted(service)
    service.gdap.request(
        "abctech.com",
        {"name": "ABC GDAP", "duration": "365", "roles": list(RECOMMENDED_ROLE_IDS)},
        ALICE,
    )
    service.sandbox.play("approve-gdap", "abctech.com")
    service.hub_access.start("abctech.com", hub_values(service, "abctech.com"), ALICE)
    notifier.posts.clear()
    service.closing.finish("abctech.com", ALICE)
    assert notifier.kinds() == ["onboarding.finished"]
    assert notifier.posts[0].tone is Tone.SUCCESS


def test_cancelling_posts_at_once_and_the_mail_already_left(service, notifier):
    enrolled_and_accepted(service)
    notifier.posts.clear()
    card = service.closing.cancel("abctech.com", ALICE)
    assert notifier.kinds() == ["onboarding.cancelled"]
    assert service.delivery.deliver_pending() == 0  # nothing was left for a later run
    assert [m.to for m in service.customers.outbox_mails(card.row.id).mails] == [
        "john.doe@abctech.com"
    ]


def test_a_notice_that_fails_after_commit_keeps_the_change_and_is_retried(service, notifier):
    enrolled_and_accepted(service)
    notifier.posts.clear()

    def refuse(destination, notice):
        raise RuntimeError("connector down")

    notifier.post = refuse  # type: ignore[method-assign]
    card = service.closing.cancel("abctech.com", ALICE)
    assert card.closed == "cancelled"  # the commit stands; the user is answered
    notifier.post = RecordingNotifier.post.__get__(notifier)  # type: ignore[method-assign]
    service.clock.at = T0 + timedelta(hours=1)  # type: ignore[attr-defined]
    assert service.delivery.deliver_pending() == 1
    assert notifier.kinds() == ["onboarding.cancelled"]


def test_paced_notices_come_due_on_the_same_clock_that_deferred_them(engine, clock, notifier):
    service = sandboxed_service(
        engine,
        clock,
        notifiers=[notifier],
        notice_burst=1,
        notice_every=60,
    )
    service.subscriptions.notify(CHANNEL, "all", ALICE)
    for i in range(3):
        service.enrollment.enroll(
            {
                "name": f"Customer {i}",
                "email": f"it@c{i}.com",
                "domain": f"c{i}.com",
                "country": "US",
            },
            ALICE,
        )
    assert len(notifier.posts) == 1  # the first went; the others wait a minute each
    clock.at = T0 + timedelta(seconds=61)
    service.delivery.deliver_pending()
    assert len(notifier.posts) == 2
    clock.at = T0 + timedelta(seconds=122)
    service.delivery.deliver_pending()
    assert [p.customer for p in notifier.posts] == ["Customer 0", "Customer 1", "Customer 2"]


def test_notices_switched_off_are_not_posted_while_another_channel_still_gets_them(
    service, notifier
):
    other = Place("teams", "conv-2", "Managers chat")
    service.subscriptions.notify(other, "all", ALICE)
    enrolled_and_accepted(service)
    assert {p.destination for p in notifier.posts} == {"conv-1", "conv-2"}
    service.subscriptions.notify(CHANNEL, "off", ALICE)
    notifier.posts.clear()
    service.closing.cancel("abctech.com", ALICE)  # a change that notifies every subscriber
    assert [(p.destination, p.kind) for p in notifier.posts] == [("conv-2", "onboarding.cancelled")]
