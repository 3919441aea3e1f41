"""Adapters that keep their state in the bot's database: outbox mail, hub directory, sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.clock import FixedClock
from adapters.hub.directory import LocalHubDirectory
from adapters.mail.outbox import OutboxMailer
from bot.errors import ProviderError
from bot.records import HubCustomer, Mail, SentMail
from storage.adapter_state import AdapterState

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def customer(domain: str = "abctech.com", name: str = "ABC Technologies Inc.") -> HubCustomer:
    return HubCustomer(name, domain, f"john@{domain}", "US", "John", "Doe", city="Redmond")


def test_outbox_lists_newest_first_and_by_customer(engine):
    clock = FixedClock(T0)
    outbox = OutboxMailer(engine, clock)
    first = Mail("a@x.com", "Invitation", "body 1", "https://link", "ob1", "invite")
    outbox.send(first)
    clock.advance(minutes=5)
    outbox.send(Mail("b@y.com", "Other", "body 2", onboarding_id="ob2"))
    clock.advance(minutes=5)
    outbox.send(Mail("a@x.com", "Reminder", "body 3", onboarding_id="ob1"))
    assert [s.mail.subject for s in outbox.list()] == ["Reminder", "Other", "Invitation"]
    assert outbox.list("ob1", limit=1)[0].mail.subject == "Reminder"
    assert outbox.list("ob1")[-1] == SentMail(T0, first)
    assert outbox.list("nobody") == []


def test_hub_refuses_a_second_customer_with_the_same_domain(engine):
    hub = LocalHubDirectory(engine)
    hub_id = hub.create_customer(customer())
    assert hub.is_confirmed(hub_id) and not hub.is_confirmed("unknown")
    with pytest.raises(ProviderError, match=r"ABCTECH.com|abctech.com") as err:
        hub.create_customer(customer("ABCTECH.com", "Someone Else"))
    assert "ABC Technologies Inc." in str(err.value)
    assert hub.create_customer(customer("other.com")) != hub_id


def test_sandbox_state_upserts_documents(engine):
    state = AdapterState(engine)
    assert state.get("gdap", "r1") is None and state.all("gdap") == []
    state.put("gdap", "r1", {"id": "r1", "state": "pending", "roles": ["a"]})
    state.put("gdap", "r2", {"id": "r2", "state": "pending"})
    state.put("transfer", "r1", {"id": "t"})
    state.put("gdap", "r1", {"id": "r1", "state": "active"})
    assert state.get("gdap", "r1") == {"id": "r1", "state": "active"}
    assert [d["id"] for d in state.all("gdap")] == ["r1", "r2"]
    assert state.all("transfer") == [{"id": "t"}]


def test_adapters_called_inside_a_use_case_join_its_transaction(store, engine, make_onboarding):
    """A use case locks its onboarding, then calls the sandbox and the hub: on SQLite a
    second connection could not write until the lock is released, so they must join."""
    hub, state = LocalHubDirectory(engine), AdapterState(engine)
    ob = make_onboarding()
    with store.transaction() as uow:
        uow.onboardings.add(ob)
    with store.transaction() as uow:
        locked = uow.onboardings.get(ob.id, for_update=True)
        state.put("gdap", "rel", {"state": "pending"})
        locked.hub_customer_id = hub.create_customer(customer())
        with pytest.raises(ProviderError):  # a refusal does not spoil the transaction
            hub.create_customer(customer())
        uow.onboardings.save(locked)
    assert state.get("gdap", "rel") == {"state": "pending"}
    assert hub.is_confirmed(locked.hub_customer_id)

    with pytest.raises(RuntimeError), store.transaction() as uow:
        uow.onboardings.get(ob.id, for_update=True)
        state.put("gdap", "rolled-back", {})
        hub.create_customer(customer("rolled-back.com"))
        raise RuntimeError("the save failed")
    assert state.get("gdap", "rolled-back") is None
    hub.create_customer(customer("rolled-back.com"))  # nothing was left behind to refuse it


def test_outbox_times_are_utc(engine):
    outbox = OutboxMailer(engine, FixedClock(T0 + timedelta(hours=1)))
    outbox.send(Mail("a@x.com", "s", "b"))
    assert outbox.list()[0].at == T0 + timedelta(hours=1)
    assert outbox.list()[0].at.tzinfo == UTC
