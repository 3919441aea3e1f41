"""Microsoft's answers, as its documentation shows them (the reference's §3.3, §4.4, §4.6,
§5.3), read into the port's records: every status, the quirks ("" for an unset date, an
endDateTime before activation), and statuses Microsoft may add later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.microsoft.live import mapping
from bot.records import AssignmentState, GdapState, TransferState

REL_ID = "5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836"
CREATED = {  # Microsoft's create answer (tenantrelationship-post-delegatedadminrelationships)
    "@odata.etag": 'W/"JyIxODAwZTY4My0wMDAwLTAyMDAtMDAwMC02MTU0OWFmMDAwMDAiJw=="',
    "id": REL_ID,
    "displayName": "Contoso admin relationship",
    "duration": "P730D",
    "customer": {"tenantId": "4b827261-d21f-4aa9-b7db-7fa1f56fb163", "displayName": "Contoso"},
    "accessDetails": {
        "unifiedRoles": [
            {"roleDefinitionId": "29232cdf-9323-42fd-ade2-1d097af3e4de"},
            {"roleDefinitionId": "3a2c62db-5318-420d-8d74-23affee5d9d5"},
        ]
    },
    "status": "created",
    "autoExtendDuration": "P180D",
    "createdDateTime": "2022-02-10T11:24:42.3148266Z",
    "lastModifiedDateTime": "2022-02-10T11:24:42.3148266Z",
    "activatedDateTime": "",
    "endDateTime": "2024-02-10T11:24:42.3148266Z",
}


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("created", GdapState.PENDING),
        ("approvalPending", GdapState.PENDING),
        ("approved", GdapState.PENDING),
        ("activating", GdapState.PENDING),
        ("active", GdapState.ACTIVE),
        ("expiring", GdapState.ACTIVE),
        ("expired", GdapState.EXPIRED),
        ("terminationRequested", GdapState.TERMINATED),
        ("terminating", GdapState.TERMINATED),
        ("terminated", GdapState.TERMINATED),
        ("unknownFutureValue", GdapState.PENDING),
        ("somethingNew", GdapState.PENDING),
    ],
)
def test_every_graph_status_maps_to_the_bots_state(status, state):
    assert mapping.gdap_relationship({**CREATED, "status": status}).state is state


def test_an_unknown_status_is_logged(caplog):
    mapping.gdap_relationship({**CREATED, "status": "somethingNew"})
    assert "somethingNew" in caplog.text and "read as pending" in caplog.text


def test_the_end_is_believed_only_once_active_and_the_approval_url_uses_the_relationship_id():
    pending = mapping.gdap_relationship(CREATED)
    assert pending.ends_at is None  # Microsoft's answer has an endDateTime while created
    assert pending.approval_url == (
        "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/"
        f"granularAdminRelationships/{REL_ID}"
    )
    assert pending.ends_unapproved_at == datetime(
        2022, 2, 10, 11, 24, 42, 314826, tzinfo=UTC
    ) + timedelta(days=90)
    active = mapping.gdap_relationship(
        {**CREATED, "status": "active", "activatedDateTime": "2022-02-11T09:00:00Z"}
    )
    assert active.ends_at == datetime(2024, 2, 10, 11, 24, 42, 314826, tzinfo=UTC)
    assert active.ends_unapproved_at is None
    assert (
        mapping.gdap_relationship({**CREATED, "status": "active", "endDateTime": None}).ends_at
        is None
    )


def test_global_administrator_never_goes_with_auto_extend_and_the_customer_binds_it():
    body = mapping.gdap_create_body(
        name="ABC GDAP",
        duration_days=400,
        role_ids=["62e90394-69f5-4237-9190-012177145e10"],
        auto_extend=True,
        customer_tenant_id="4b827261-d21f-4aa9-b7db-7fa1f56fb163",
        customer_name="ABC Technologies Inc.",
    )
    assert body["autoExtendDuration"] == "PT0S" and body["duration"] == "P400D"
    assert body["customer"] == {
        "tenantId": "4b827261-d21f-4aa9-b7db-7fa1f56fb163",
        "displayName": "ABC Technologies Inc.",
    }


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("pending", AssignmentState.PENDING),
        ("active", AssignmentState.ACTIVE),
        ("error", AssignmentState.FAILED),
        ("deleting", AssignmentState.FAILED),
        ("deleted", AssignmentState.FAILED),
        ("unknownFutureValue", AssignmentState.PENDING),
    ],
)
def test_access_assignment_statuses(status, state):
    found = mapping.access_assignment(
        {
            "id": "a9d6cf90-083a-47dc-ace2-1da98be3f344",
            "status": status,
            "accessContainer": {
                "accessContainerId": "869713c9-0b28-4d08-8949-ae07ae1bf528",
                "accessContainerType": "securityGroup",
            },
            "accessDetails": {
                "unifiedRoles": [{"roleDefinitionId": "729827e3-9c14-49f7-bb1b-9608f156bbb8"}]
            },
        }
    )
    assert found.state is state
    assert found.group_id == "869713c9-0b28-4d08-8949-ae07ae1bf528"
    assert found.role_ids == ("729827e3-9c14-49f7-bb1b-9608f156bbb8",)


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("Active", TransferState.PENDING),
        ("InProgress", TransferState.PENDING),
        ("pending", TransferState.PENDING),
        ("Complete", TransferState.COMPLETED),
        ("Completed", TransferState.COMPLETED),
        ("FAILED", TransferState.FAILED),
        ("Expired", TransferState.FAILED),
        ("Cancel", TransferState.CANCELLED),
        ("Canceled", TransferState.CANCELLED),
        ("Cancelled", TransferState.CANCELLED),
        ("Paused", TransferState.PENDING),
    ],
)
def test_transfer_statuses_in_any_case(status, state):
    assert mapping.transfer({"id": "43fb1d3a", "status": status}).state is state


def test_a_transfer_says_its_line_items_errors_and_when_it_expires():
    found = mapping.transfer(
        {
            "id": "43fb1d3a-0000-4000-8000-000000000001",
            "status": "Failed",
            "expirationTime": "2026-12-31T00:00:00Z",
            "lineItems": [
                {"id": "0", "friendlyName": "Microsoft 365 E3", "transferError": "Not eligible"},
                {"id": "1", "friendlyName": "Azure plan"},
            ],
        }
    )
    assert found.detail == "Microsoft 365 E3: Not eligible"
    assert found.expires_at == datetime(2026, 12, 31, tzinfo=UTC)


def test_the_customer_profile_prefers_the_billing_profile_and_keeps_the_typed_domain():
    profile = mapping.customer_profile(
        {  # get-a-customer-by-id, without DAP: no company address or email
            "id": "eebd1b55-5360-4438-a11d-5c06918c3014",
            "companyProfile": {
                "tenantId": "eebd1b55-5360-4438-a11d-5c06918c3014",
                "domain": "abcdefgh1234.onmicrosoft.com",
                "companyName": "ABC Technologies Inc.",
            },
            "billingProfile": {
                "email": "a@abctech.com",
                "defaultAddress": {
                    "country": "US",
                    "city": "Redmond",
                    "state": "WA",
                    "addressLine1": "1 Microsoft Way",
                    "postalCode": "98052",
                    "firstName": "John",
                    "lastName": "Doe",
                    "phoneNumber": "1234567890",
                },
            },
        },
        "abctech.com",
    )
    assert profile.tenant_id == "eebd1b55-5360-4438-a11d-5c06918c3014"
    assert profile.domain == "abctech.com"
    assert (profile.company_name, profile.email, profile.country) == (
        "ABC Technologies Inc.",
        "a@abctech.com",
        "US",
    )
    assert (profile.first_name, profile.last_name, profile.phone) == ("John", "Doe", "1234567890")
    assert (profile.city, profile.state, profile.postal_code) == ("Redmond", "WA", "98052")
