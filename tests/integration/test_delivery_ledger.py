"""The delivery ledger: every message is recorded once, sent by one sender, retried on failure."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, select

from bot.records import Delivery, DeliveryState
from storage.models import DeliveryRow

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def mail(key: str, at: datetime = T0, channel: str = "mail") -> Delivery:
    return Delivery(key, channel, {"to": "ops@abctech.com", "subject": key}, at, "ob1")


def stored(engine: Engine, delivery_id: int) -> Row[Any]:
    with engine.connect() as conn:
        return conn.execute(select(DeliveryRow).where(DeliveryRow.c.id == delivery_id)).one()


def test_the_same_key_is_recorded_once(store, engine):
    first, second = mail("mail:ob1:invite"), mail("mail:ob1:invite")
    with store.transaction() as uow:
        assert uow.ledger.enqueue(first) is True
    with store.transaction() as uow:
        assert uow.ledger.enqueue(second) is False
        assert uow.ledger.enqueue(mail("mail:ob1:other")) is True  # the transaction goes on
    assert isinstance(first.id, int) and second.id is None
    with store.transaction() as uow:
        claimed = uow.ledger.claim(T0, 10, 60)
    assert [d.key for d in claimed] == ["mail:ob1:invite", "mail:ob1:other"]
    assert claimed[0] == Delivery(
        "mail:ob1:invite",
        "mail",
        first.payload,
        T0,
        "ob1",
        first.id,
        DeliveryState.PENDING,
        1,
        None,
    )


def test_claims_are_oldest_first_due_only_and_by_channel(store):
    with store.transaction() as uow:
        uow.ledger.enqueue(mail("b", T0 + timedelta(seconds=2)))
        uow.ledger.enqueue(mail("a", T0 + timedelta(seconds=1)))
        uow.ledger.enqueue(mail("later", T0 + timedelta(hours=1)))
        uow.ledger.enqueue(mail("chat", T0, channel="slack"))
    with store.transaction() as uow:
        assert uow.ledger.claim(T0 + timedelta(minutes=1), 10, 60, channels=[]) == []
        mails = uow.ledger.claim(T0 + timedelta(minutes=1), 10, 60, channels=["mail"])
        assert [d.key for d in mails] == ["a", "b"]
        assert [d.key for d in uow.ledger.claim(T0 + timedelta(minutes=1), 10, 60)] == ["chat"]


def test_two_senders_never_get_the_same_delivery(store):
    """Each sender holds its claim open for a moment: without row locks the other would
    read the same rows as still free and send them a second time."""
    with store.transaction() as uow:
        for i in range(30):
            uow.ledger.enqueue(mail(f"m{i:02d}", T0 + timedelta(milliseconds=i)))
    barrier = threading.Barrier(2, timeout=10)
    claimed: dict[str, list[int]] = {"one": [], "two": []}
    errors: list[BaseException] = []

    def sender(name: str) -> None:
        try:
            barrier.wait()
            while True:
                with store.transaction() as uow:
                    batch = uow.ledger.claim(T0 + timedelta(seconds=5), 4, 300)
                    time.sleep(0.02)
                claimed[name].extend(d.id for d in batch)
                if not batch:
                    return
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=sender, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    every = claimed["one"] + claimed["two"]
    assert len(every) == 30 and len(set(every)) == 30


def test_an_expired_lease_makes_an_unsent_delivery_claimable_again(store):
    with store.transaction() as uow:
        uow.ledger.enqueue(mail("m"))
    with store.transaction() as uow:
        assert [d.attempts for d in uow.ledger.claim(T0, 10, 60)] == [1]
    with store.transaction() as uow:
        assert uow.ledger.claim(T0 + timedelta(seconds=30), 10, 60) == []
    with store.transaction() as uow:
        again = uow.ledger.claim(T0 + timedelta(seconds=61), 10, 60)
        assert [d.attempts for d in again] == [2]
        uow.ledger.mark_sent(again[0].id, T0 + timedelta(seconds=62))
    with store.transaction() as uow:
        assert uow.ledger.claim(T0 + timedelta(days=1), 10, 60) == []


def test_a_failure_is_retried_when_due_then_given_up(store, engine):
    with store.transaction() as uow:
        uow.ledger.enqueue(mail("m"))
        delivery_id = uow.ledger.claim(T0, 10, 60)[0].id
        uow.ledger.mark_failed(delivery_id, T0, "421 try later", T0 + timedelta(minutes=5))
    row = stored(engine, delivery_id)
    assert (row.state, row.claimed_until, row.last_error) == ("pending", None, "421 try later")
    with store.transaction() as uow:
        assert uow.ledger.claim(T0 + timedelta(minutes=4), 10, 60) == []
        retry = uow.ledger.claim(T0 + timedelta(minutes=5), 10, 60)
        assert [(d.attempts, d.last_error) for d in retry] == [(2, "421 try later")]
        uow.ledger.mark_failed(delivery_id, T0 + timedelta(minutes=5), "550 no such user", None)
    row = stored(engine, delivery_id)
    assert (row.state, row.last_error) == ("failed", "550 no such user")
    assert row.last_attempt_at == T0 + timedelta(minutes=5)
    with store.transaction() as uow:
        assert uow.ledger.claim(T0 + timedelta(days=30), 10, 60) == []


def test_a_sent_delivery_records_when(store, engine):
    with store.transaction() as uow:
        uow.ledger.enqueue(mail("m"))
        delivery_id = uow.ledger.claim(T0, 10, 60)[0].id
        uow.ledger.mark_sent(delivery_id, T0 + timedelta(seconds=3))
    row = stored(engine, delivery_id)
    assert (row.state, row.sent_at, row.claimed_until) == ("sent", T0 + timedelta(seconds=3), None)
