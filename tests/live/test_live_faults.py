"""Microsoft misbehaving, as it does: throttling bursts, 503s, answers that never come,
refusals with its own error bodies, an expired token, a name already taken. The port either
waits it out within its time budget, or says in words what happened and what fixes it,
and never creates anything twice."""

from __future__ import annotations

import pytest

from adapters.microsoft.live.http import RetryPolicy
from bot.errors import ProviderError
from bot.gdap_roles import GLOBAL_ADMINISTRATOR_ID, RECOMMENDED_ROLE_IDS
from bot.records import AssignmentState, GdapState
from tests.live.conftest import eventually

RELATIONSHIPS = r"/delegatedAdminRelationships$"


@pytest.fixture
def tenant(cloud):
    tenant = cloud.add_tenant("abctech.com", "ABC Technologies Inc.")
    cloud.accept_reseller("abctech.com", email="john.doe@abctech.com")
    return tenant


@pytest.fixture
def live(live_bot):
    return live_bot().live.backend


def create(live, tenant, name="ABC GDAP", roles=RECOMMENDED_ROLE_IDS, auto_extend=True):
    return live.create_gdap_relationship(
        name=name,
        duration_days=365,
        role_ids=list(roles),
        auto_extend=auto_extend,
        customer_tenant_id=tenant,
        customer_name="ABC Technologies Inc.",
    )


def posts(cloud, path=RELATIONSHIPS):
    return cloud.requests_to("POST", path)


def test_a_429_burst_is_waited_out_and_one_relationship_is_made(cloud, live, tenant):
    cloud.fail("POST", RELATIONSHIPS, 429, times=3, retry_after=0.1)
    rel = create(live, tenant)
    assert rel.state is GdapState.PENDING
    assert len(posts(cloud)) == 4 and len(cloud.relationships) == 1
    assert cloud.gdap_status(rel.id) == "approvalPending"


def test_503_and_500_are_retried_for_reads_with_the_same_request_id(cloud, live, tenant):
    cloud.fail("GET", r"/v1/customers/", 503, times=1, retry_after=0.1, server="partner_center")
    cloud.fail("GET", r"/v1/customers/", 500, times=1, server="partner_center")
    profile = live.find_customer("abctech.com", tenant)
    assert profile is not None and profile.tenant_id == tenant
    reads = cloud.requests_to("GET", rf"/v1/customers/{tenant}$")
    assert [r.status for r in reads] == [503, 500, 200]
    assert len({r.headers["MS-RequestId"] for r in reads}) == 1  # reused on retry
    assert all(r.headers.get("MS-CorrelationId") for r in reads)


def test_throttling_past_the_budget_is_waiting_for_microsoft_not_a_failure(cloud, live, tenant):
    cloud.fail("GET", r"/v1/customers/", 429, times=5, retry_after=30, server="partner_center")
    with pytest.raises(ProviderError) as waiting:
        live.find_customer("abctech.com", tenant)
    assert waiting.value.permanent is False and waiting.value.retry_after == 30
    assert str(waiting.value).startswith("Microsoft did not answer in time (Partner Center GET")
    assert str(waiting.value).endswith("the bot will try again")


def test_a_read_that_times_out_is_asked_again(cloud, live, tenant):
    cloud.stall("GET", r"/v1/customers/", seconds=2, times=1, server="partner_center")
    assert live.find_customer("abctech.com", tenant) is not None
    assert len(cloud.requests_to("GET", rf"/v1/customers/{tenant}$")) == 2


def test_a_create_that_timed_out_is_found_by_its_name_not_sent_again(cloud, live_bot, tenant):
    live = live_bot(RetryPolicy(budget_seconds=3, request_timeout=0.5, first_backoff=0.05)).live
    cloud.stall("POST", RELATIONSHIPS, seconds=2, times=1)  # made at once, answered late
    rel = create(live.backend, tenant)
    assert len(posts(cloud)) == 1 and len(cloud.relationships) == 1
    assert rel.id == cloud.relationship_named("ABC GDAP").id
    assert cloud.gdap_status(rel.id) == "approvalPending"  # and locked for approval


def test_a_create_microsoft_had_not_made_yet_is_made_once_later(cloud, live_bot, tenant):
    live = live_bot(RetryPolicy(budget_seconds=3, request_timeout=0.5, first_backoff=0.05)).live
    cloud.stall("POST", RELATIONSHIPS, seconds=3, times=1, before=True)
    with pytest.raises(ProviderError) as unanswered:
        create(live.backend, tenant)
    # Microsoft was still working on it when the bot looked it up by name: not found yet.
    assert unanswered.value.permanent is False
    assert "did not answer in time" in str(unanswered.value)
    assert len(posts(cloud)) == 1  # looked up by name instead of posting again
    assert eventually(lambda: cloud.relationship_named("ABC GDAP"))  # Microsoft made it late
    # The bot asks again later: Microsoft says the name exists, the bot finds its own.
    rel = create(live.backend, tenant)
    assert len(cloud.relationships) == 1 and rel.id == cloud.relationship_named("ABC GDAP").id
    assert cloud.gdap_status(rel.id) == "approvalPending"
    assert len(posts(cloud)) == 2


def test_a_create_answered_500_looks_first_then_creates_once_later(cloud, live, tenant):
    cloud.fail("POST", RELATIONSHIPS, 500, times=1)
    with pytest.raises(ProviderError) as failed:
        create(live, tenant)
    assert failed.value.permanent is False
    assert cloud.requests_to("GET", RELATIONSHIPS)  # it looked for the relationship by name
    assert cloud.relationships == {}
    create(live, tenant)
    assert len(cloud.relationships) == 1


def test_a_name_taken_by_another_relationship_says_choose_another_name(cloud, live, tenant):
    other = cloud.add_tenant("contoso.com", "Contoso")
    create(live, other, name="ABC GDAP")
    with pytest.raises(ProviderError) as taken:
        create(live, tenant, name="ABC GDAP")
    assert taken.value.permanent is True
    assert str(taken.value).startswith(
        'A GDAP relationship named "ABC GDAP" already exists in Partner Center: choose another '
        "name (Microsoft Graph: 409 Conflict: A delegated admin relationship with the display "
        "name 'ABC GDAP' already exists.)"
    )
    assert len(cloud.relationships) == 1


def test_global_administrator_with_auto_extend_is_refused_before_sending(cloud, live, tenant):
    with pytest.raises(ProviderError) as refused:
        create(live, tenant, roles=[GLOBAL_ADMINISTRATOR_ID], auto_extend=True)
    assert refused.value.permanent is True
    assert "Microsoft does not auto-extend a relationship with Global Administrator" in str(
        refused.value
    )
    assert posts(cloud) == []  # nothing was sent
    create(live, tenant, roles=[GLOBAL_ADMINISTRATOR_ID], auto_extend=False)
    [sent] = posts(cloud)
    assert sent.json["autoExtendDuration"] == "PT0S"


def test_microsofts_400_is_shown_with_its_code_and_message(cloud, live, tenant):
    with pytest.raises(ProviderError) as refused:
        create(live, "7a6b5c4d-0000-4000-8000-000000000001")
    assert refused.value.permanent is True
    assert "400 badRequest: The customer tenant '7a6b5c4d-0000-4000-8000-000000000001' was " in (
        str(refused.value)
    )


def test_a_missing_service_principal_says_so_and_run_doctor(cloud, live, tenant):
    cloud.service_principal_provisioned = False
    with pytest.raises(ProviderError) as refused:
        create(live, tenant)
    assert refused.value.permanent is True
    assert str(refused.value).startswith(
        "The Partner Customer Delegated Administration service principal is missing in your "
        "tenant: run python app.py doctor (Microsoft Graph: 403 Authorization_RequestDenied:"
    )


def test_an_unknown_relationship_is_a_404_in_words(cloud, live):
    with pytest.raises(ProviderError) as gone:
        live.get_gdap_relationship("00000000-0000-4000-8000-000000000000-1")
    assert gone.value.permanent is True
    assert "has no admin relationship 00000000-0000-4000-8000-000000000000-1" in str(gone.value)


def test_an_expired_token_is_renewed_once(cloud, live, tenant):
    assert live.find_customer("abctech.com", tenant) is not None
    tokens_before = len(cloud.requests_to("POST", r"/oauth2/v2.0/token$"))
    cloud.revoke_tokens()
    assert live.find_customer("abctech.com", tenant) is not None
    statuses = [r.status for r in cloud.requests_to("GET", rf"/v1/customers/{tenant}$")]
    assert statuses == [200, 401, 200]
    assert len(cloud.requests_to("POST", r"/oauth2/v2.0/token$")) == tokens_before + 1


def test_refused_credentials_after_renewal_say_what_to_check(cloud, live, tenant):
    cloud.partner_center_app_registered = False
    with pytest.raises(ProviderError) as refused:
        live.find_customer("abctech.com", tenant)
    assert refused.value.permanent is True
    message = str(refused.value)
    assert message.startswith("Microsoft refused the app's credentials (Partner Center: 401")
    assert "App management" in message and "run python app.py doctor" in message


def test_a_wrong_secret_is_entras_refusal_in_words(cloud, live_bot, tenant):
    live = live_bot(partner_client_certificate=None, partner_client_secret="wrong").live
    with pytest.raises(ProviderError) as refused:
        live.backend.find_customer("abctech.com", tenant)
    assert refused.value.permanent is True
    assert "Microsoft refused the app's credentials (invalid_client: AADSTS" in str(refused.value)
    assert "wrong" not in str(refused.value).replace("wrong.", "")


def test_a_412_on_cancel_reads_the_transfer_again(cloud, live, tenant):
    transfer = live.create_transfer(
        customer_tenant_id=tenant,
        partner_tenant_id="0e9b0b5f-0000-4a5d-9c1d-1234567890ab",
        partner_name="Old Partner Ltd",
        customer_email="john.doe@abctech.com",
    )
    cloud.fail("PATCH", r"/transfers/", 412, times=1, server="partner_center")
    live.cancel_transfer(tenant, transfer.id)
    assert cloud.transfers[transfer.id].status == "Cancel"
    assert [r.status for r in cloud.requests_to("PATCH", r"/transfers/")] == [412, 200]


def test_another_transfer_in_progress_is_a_refusal_ours_is_found_again(cloud, live, tenant):
    values = {
        "customer_tenant_id": tenant,
        "partner_tenant_id": "0e9b0b5f-0000-4a5d-9c1d-1234567890ab",
        "partner_name": "Old Partner Ltd",
        "customer_email": "john.doe@abctech.com",
    }
    first = live.create_transfer(**values)
    assert live.create_transfer(**values).id == first.id  # a retry: the same transfer
    live.cancel_transfer(tenant, first.id)
    cloud.start_other_transfer(tenant)
    with pytest.raises(ProviderError) as busy:
        live.create_transfer(**values)
    assert busy.value.permanent is True
    assert str(busy.value).startswith("Another transfer of this customer is already in progress")
    assert "900101" in str(busy.value)


def test_access_assignments_stuck_pending_stay_pending_and_are_not_made_twice(
    cloud, live, tenant, clock
):
    rel = create(live, tenant)
    cloud.approve_gdap(rel.id)
    clock.advance(minutes=3)
    assert live.get_gdap_relationship(rel.id).state is GdapState.ACTIVE
    cloud.stuck_assignments = True
    group = next(iter(cloud.groups))
    helpdesk = ["729827e3-9c14-49f7-bb1b-9608f156bbb8"]
    assignment = live.assign_access(rel.id, group, helpdesk)
    assert (assignment.state, assignment.group_id) == (AssignmentState.PENDING, group)
    clock.advance(hours=2)
    assert live.get_access_assignment(rel.id, assignment.id).state is AssignmentState.PENDING
    again = live.assign_access(rel.id, group, helpdesk)  # 409 from Graph: the existing one
    assert again.id == assignment.id
    assert len(cloud.relationships[rel.id].assignments) == 1


def test_access_assignments_become_active(cloud, live, tenant, clock):
    rel = create(live, tenant)
    cloud.approve_gdap(rel.id)
    clock.advance(minutes=3)
    group = next(iter(cloud.groups))
    assignment = live.assign_access(rel.id, group, ["729827e3-9c14-49f7-bb1b-9608f156bbb8"])
    clock.advance(minutes=2)
    assert live.get_access_assignment(rel.id, assignment.id).state is AssignmentState.ACTIVE
