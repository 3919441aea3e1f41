"""The default MSP hub: a directory of managed customers kept in the bot's own database.

It confirms a customer as soon as it is created, so the hub step completes at once; a real
hub would confirm later and `is_confirmed` would be polled.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, select
from sqlalchemy.exc import IntegrityError

from bot.errors import ProviderError
from bot.ports import Clock
from bot.records import HubCustomer
from storage.models import HubCustomerRow
from storage.transactions import joined


class LocalHubDirectory:
    """Implements `bot.ports.Hub`.

    Called inside a use case's transaction, it joins it: a customer created for an
    onboarding that then fails to save is not left behind to block the retry.
    """

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock

    def create_customer(self, customer: HubCustomer) -> str:
        """Refuses a second customer with the same domain, as a hub keyed by tenant would."""
        hub_id = uuid.uuid4().hex
        now = self.clock.now() if self.clock else datetime.now(UTC)
        with joined(self.engine, write=True) as conn:
            holder = self._holder(conn, customer.domain)
            if holder is None:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(HubCustomerRow).values(
                                id=hub_id,
                                created_at=now,
                                company_name=customer.company_name,
                                domain=customer.domain,
                                email=customer.email,
                                country=customer.country,
                                first_name=customer.first_name,
                                last_name=customer.last_name,
                                phone=customer.phone,
                                address_line1=customer.address_line1,
                                city=customer.city,
                                state=customer.state,
                                postal_code=customer.postal_code,
                                tenant_id=customer.tenant_id,
                            )
                        )
                    return hub_id
                except IntegrityError:  # created by someone else since we looked
                    holder = self._holder(conn, customer.domain)
                    if holder is None:
                        raise
        raise ProviderError(
            f"The MSP Hub already has a customer with the domain "
            f"{holder.domain}: {holder.company_name} (hub id {holder.id})."
        )

    def is_confirmed(self, hub_customer_id: str) -> bool:
        with joined(self.engine, write=False) as conn:
            return (
                conn.execute(
                    select(HubCustomerRow.c.id).where(HubCustomerRow.c.id == hub_customer_id)
                ).first()
                is not None
            )

    @staticmethod
    def _holder(conn: Connection, domain: str) -> Row[Any] | None:
        return conn.execute(
            select(HubCustomerRow).where(
                func.lower(HubCustomerRow.c.domain) == domain.strip().lower()
            )
        ).first()
