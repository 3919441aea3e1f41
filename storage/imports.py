"""Bulk imports between review and confirmation, and the current partners seen in transfers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, insert, select, update

from bot.errors import NotFound
from bot.records import BulkImport, KnownPartner
from storage.database import fold_case
from storage.mapping import bulk_values, to_bulk, to_partner
from storage.models import BulkImportRow, PartnerRow
from storage.sql import SqlRepository


class SqlBulkImports(SqlRepository):
    """Implements `bot.ports.BulkImportRepository`."""

    def add(self, bulk: BulkImport) -> None:
        self._conn(write=True).execute(insert(BulkImportRow).values(**bulk_values(bulk)))

    def get(self, import_id: str, *, for_update: bool = False) -> BulkImport | None:
        stmt: Select[Any] = select(BulkImportRow).where(BulkImportRow.id == import_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = self._conn(write=for_update).execute(stmt).first()
        return to_bulk(row) if row else None

    def save(self, bulk: BulkImport) -> None:
        values = bulk_values(bulk)
        del values["id"]
        result = self._conn(write=True).execute(
            update(BulkImportRow).where(BulkImportRow.id == bulk.id).values(**values)
        )
        if result.rowcount != 1:
            raise NotFound(f"There is no bulk import {bulk.id} to save.")


class SqlPartners(SqlRepository):
    """Implements `bot.ports.PartnerRepository`."""

    def known(self) -> list[KnownPartner]:
        stmt = select(PartnerRow).order_by(fold_case(PartnerRow.name), PartnerRow.tenant_id)
        return [to_partner(row) for row in self._conn().execute(stmt)]

    def remember(self, partner: KnownPartner) -> None:
        """The latest name and email given for a tenant win."""
        conn = self._conn(write=True)
        stmt = self._insert(conn, PartnerRow).values(
            tenant_id=partner.tenant_id, name=partner.name, email=partner.email
        )
        conn.execute(
            stmt.on_conflict_do_update(  # type: ignore[attr-defined]
                index_elements=[PartnerRow.tenant_id],
                set_={"name": partner.name, "email": partner.email},
            )
        )
