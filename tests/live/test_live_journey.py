"""One customer from enrollment to Finish on MICROSOFT_BACKEND=live, against the fake of
Microsoft: once with Partner Center's signed webhooks telling the bot what to re-read, once
with no webhook at all (the scheduler's fallback sync, `run_due`, finds every change). The
partner engineer's view is what is checked: the card, the mail, the activity log."""

from __future__ import annotations

from app import register_webhooks
from bot.gdap_roles import RECOMMENDED_ROLE_IDS
from bot.jobs import run_due
from tests.live.conftest import ALICE, enroll, eventually, log_of, serving, step

PUBLIC = "https://bot.fabrikam.example/webhooks/partner-center"
OLD_PARTNER = "0e9b0b5f-0000-4a5d-9c1d-1234567890ab"


def gdap(bot, name="ABC GDAP"):
    return bot.service.gdap.request(
        "abctech.com", {"name": name, "duration": "365", "roles": list(RECOMMENDED_ROLE_IDS)}, ALICE
    )


def hub(bot):
    form = bot.service.hub_access.form("abctech.com")
    values = {f.name: f.default for f in form.fields}
    return values, bot.service.hub_access.start("abctech.com", values, ALICE)


def p2p(bot):
    return bot.service.transfers.initiate(
        "abctech.com",
        {
            "partner": "other",
            "partner_name": "Old Partner Ltd",
            "partner_tenant_id": OLD_PARTNER,
            "partner_email": "transfers@oldpartner.com",
        },
        ALICE,
    )


def card(bot):
    return bot.service.customers.card("abctech.com")


def test_the_journey_by_webhook(cloud, live_bot, clock):
    tenant = cloud.add_tenant("abctech.com", "ABC Technologies Inc.")
    bot = live_bot()
    assert register_webhooks(bot, PUBLIC, replace_url=False) == 0
    with serving(bot) as base:
        deliver = base + "/webhooks/partner-center"
        enrolled = enroll(bot)
        assert enrolled.row.reseller == "In Progress"
        assert tenant in step(enrolled, "Reseller Relationship").detail
        [invitation] = bot.service.customers.outbox_mails("abctech.com").mails
        assert invitation.link == cloud.reseller_link  # the stored link, verbatim

        cloud.accept_reseller("abctech.com", email="john.doe@abctech.com", first_name="John")
        assert cloud.deliver_webhooks(to=deliver) == [200]
        assert eventually(lambda: card(bot).row.reseller == "Established")

        requested = gdap(bot)
        assert requested.row.gdap == "In Progress"
        rel = cloud.relationship_named("ABC GDAP")
        assert rel is not None and rel.customer_tenant_id == tenant  # bound to the tenant
        assert cloud.gdap_status(rel.id) == "approvalPending"  # locked for approval
        approval = bot.service.customers.outbox_mails("abctech.com").mails[0]
        assert approval.link.endswith(f"granularAdminRelationships/{rel.id}")

        cloud.approve_gdap(rel.id)
        clock.advance(minutes=3)  # approved -> activating -> active
        assert set(cloud.deliver_webhooks(to=deliver)) == {200}
        assert eventually(lambda: card(bot).row.gdap == "Established")

        # Each GDAP_ROLE_GROUPS group is given its roles; Graph says when they are active.
        helpdesk, user_admin = (
            next(g for g, n in cloud.groups.items() if n == role)
            for role in ("Helpdesk Administrator", "User Administrator")
        )
        pending = step(card(bot), "GDAP Access").detail
        assert f"group {helpdesk} pending since now: Helpdesk Administrator" in pending
        clock.advance(minutes=3)
        assert set(cloud.deliver_webhooks(to=deliver)) == {200}
        assert eventually(
            lambda: (
                f"group {helpdesk} holds Helpdesk Administrator"
                in step(card(bot), "GDAP Access").detail
            )
        )
        assert (
            f"group {user_admin} holds User Administrator" in step(card(bot), "GDAP Access").detail
        )

        values, hub_card = hub(bot)
        assert values["first_name"] == "John" and values["city"] == "Redmond"  # pre-filled
        assert hub_card.row.hub == "Completed"

        pending = p2p(bot)
        assert pending.row.p2p == "Pending"
        [transfer] = cloud.transfers.values()
        assert transfer.body["sourcePartnerTenantId"] == OLD_PARTNER
        assert transfer.body["transferType"] == 5
        cloud.accept_transfer(transfer.id)
        assert set(cloud.deliver_webhooks(to=deliver)) == {200}
        assert eventually(lambda: card(bot).row.p2p == "Completed")
        assert card(bot).row.overall == "Completed"

    finished = bot.service.closing.finish("abctech.com", ALICE)
    assert finished.closed == "finished"
    log = log_of(bot, finished.row.id)
    assert log == [
        "Enrolled ABC Technologies Inc. (abctech.com); reseller invitation sent to "
        "john.doe@abctech.com. Reseller Relationship In Progress.",
        "Reseller relationship Established: the customer accepted.",
        'GDAP request "ABC GDAP" sent: 365 days, 11 roles, auto-extends by 180 days.',
        "GDAP access Established: the customer approved the request.",
        *sorted(
            [
                f"GDAP roles assigned: group {user_admin} now holds User Administrator.",
                f"GDAP roles assigned: group {helpdesk} now holds Helpdesk Administrator.",
            ],
            key=log.index,
        ),
        "MSP Hub access In Progress: customer sent to the hub.",
        "MSP Hub access Completed: the hub confirmed the customer.",
        "P2P transfer Pending: request sent to Old Partner Ltd <transfers@oldpartner.com>; "
        "Partner Center ends it on 31 Dec 2026.",  # its expirationTime
        "P2P transfer Completed: the current partner accepted.",
        "Onboarding finished: the customer was removed from onboarding.",
    ]
    # Every call went out in Microsoft's shape, and every event was taken once.
    assert not cloud.schema_errors
    assert all(status == 200 for _, status in cloud.deliveries)


def test_the_journey_by_polling_when_no_webhook_comes(cloud, live_bot, clock):
    cloud.add_tenant("abctech.com", "ABC Technologies Inc.")
    bot = live_bot()
    enroll(bot)
    cloud.accept_reseller("abctech.com", email="john.doe@abctech.com")
    clock.advance(minutes=16)  # the first fallback sync is 15 minutes after a step waits
    run_due(bot.service)
    assert card(bot).row.reseller == "Established"

    gdap(bot)
    rel = cloud.relationship_named("ABC GDAP")
    assert rel is not None
    cloud.approve_gdap(rel.id)
    clock.advance(minutes=16)
    run_due(bot.service)
    assert card(bot).row.gdap == "Established"
    clock.advance(minutes=16)
    run_due(bot.service)  # the access assignments, read again until active
    detail = step(card(bot), "GDAP Access").detail
    assert detail.count(" holds Helpdesk Administrator") + detail.count(" holds User Admin") == 2
    assert "pending" not in detail, detail

    hub(bot)
    p2p(bot)
    [transfer] = cloud.transfers.values()
    cloud.accept_transfer(transfer.id)
    clock.advance(minutes=16)
    run_due(bot.service)
    assert card(bot).row.overall == "Completed"
    assert bot.service.closing.finish("abctech.com", ALICE).closed == "finished"
    assert cloud.events == [] or all(not e.delivered for e in cloud.events)  # no webhook used
    assert not cloud.schema_errors
