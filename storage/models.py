"""The database schema as SQLAlchemy models; Alembic migrations are generated from these.

Rows never leave `storage/`: the repository turns them into the dataclasses of `bot/`.
Enumerations are stored as their values in plain strings, so adding a state needs no
migration.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

OPEN = text("lifecycle = 'open'")
PENDING = text("state = 'pending'")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on both databases.

    SQLite has no time zones: it would store the wall-clock digits and hand back a naive
    value. So values are converted to UTC before they are stored and marked UTC when read.
    A naive value is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store keeps timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# none_as_null: a missing document is SQL NULL, not the JSON text 'null'.
JSON_DOCUMENT = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
SERIAL = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), str: Text()}  # noqa: RUF012


class OnboardingRow(Base):
    """One customer's onboarding; the GDAP request and P2P transfer are flattened into it,
    since each onboarding has at most one of each and due-work queries filter on them."""

    __tablename__ = "onboardings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column()
    email: Mapped[str]
    domain: Mapped[str] = mapped_column()
    country: Mapped[str] = mapped_column(String(8))
    enrolled_at: Mapped[datetime]
    enrolled_by: Mapped[str]
    reseller_status: Mapped[str] = mapped_column(String(32))
    reseller_started_at: Mapped[datetime | None]
    customer_tenant_id: Mapped[str | None] = mapped_column(String(64))
    tenant_checked_at: Mapped[datetime | None]
    gdap_status: Mapped[str] = mapped_column(String(32))
    gdap_started_at: Mapped[datetime | None]
    gdap_relationship_name: Mapped[str | None] = mapped_column()  # NULL: no GDAP request
    gdap_duration_days: Mapped[int | None]
    gdap_role_ids: Mapped[list[str] | None] = mapped_column(JSON_DOCUMENT)
    gdap_relationship_id: Mapped[str | None] = mapped_column()
    gdap_approval_url: Mapped[str | None]
    gdap_ends_at: Mapped[datetime | None]
    gdap_waiting: Mapped[str | None]  # Microsoft's transient failure while not created yet
    gdap_ends_unapproved_at: Mapped[datetime | None]
    gdap_assignments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON_DOCUMENT)
    hub_status: Mapped[str] = mapped_column(String(32))
    hub_started_at: Mapped[datetime | None]
    hub_customer_id: Mapped[str | None]
    p2p_status: Mapped[str] = mapped_column(String(32))
    p2p_started_at: Mapped[datetime | None]
    p2p_partner_name: Mapped[str | None]  # NULL when no transfer was ever started
    p2p_partner_tenant_id: Mapped[str | None] = mapped_column(String(64))
    p2p_partner_email: Mapped[str | None]
    p2p_transfer_id: Mapped[str | None] = mapped_column()
    p2p_sent_at: Mapped[datetime | None]
    p2p_expires_at: Mapped[datetime | None]  # Partner Center's expirationTime, when given
    p2p_waiting: Mapped[str | None]  # Microsoft's transient failure while not created yet
    failure_reason: Mapped[str | None]
    overall_status: Mapped[str] = mapped_column(String(16))  # Onboarding.overall_status
    lifecycle: Mapped[str] = mapped_column(String(16))
    closed_at: Mapped[datetime | None]
    bulk_import_id: Mapped[str | None] = mapped_column(String(32))
    # The lists' order (newest first, an import's rows in the order of its file): see
    # `Onboarding.listed_at` and `Onboarding.bulk_row`.
    bulk_row: Mapped[int | None] = mapped_column(Integer)
    listed_at: Mapped[datetime | None]  # always written; NULL-able so SQLite adds it in place
    version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        # The database, not a check before the insert, keeps one open onboarding per domain:
        # two users enrolling the same customer at once cannot both succeed.
        Index(
            "uq_onboardings_open_domain",
            func.lower(domain),
            unique=True,
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        ),
        Index(
            "ix_onboardings_open_name", func.lower(name), sqlite_where=OPEN, postgresql_where=OPEN
        ),
        Index("ix_onboardings_gdap_name", func.lower(gdap_relationship_name)),
        # Closed customers too (show, log, search find them): by domain and name, and the
        # lists of finished or cancelled ones, newest closed first.
        Index("ix_onboardings_domain", func.lower(domain)),
        Index("ix_onboardings_name", func.lower(name)),
        Index("ix_onboardings_lifecycle_closed_at", "lifecycle", "closed_at"),
        Index("ix_onboardings_lifecycle_enrolled_at", "lifecycle", "enrolled_at"),
        # An export of every customer pages newest first by (enrolled_at, id), open or closed.
        Index("ix_onboardings_enrolled_at_id", "enrolled_at", "id"),
        Index(
            "ix_onboardings_open_reseller_started_at",
            "reseller_started_at",
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        ),
        Index(
            "ix_onboardings_open_gdap_started_at",
            "gdap_started_at",
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        ),
        Index(
            "ix_onboardings_open_p2p_started_at",
            "p2p_started_at",
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        ),
        # What a Partner Center webhook names: the customer tenant, relationship or transfer.
        Index(
            "ix_onboardings_open_tenant",
            func.lower(customer_tenant_id),
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        ),
        Index(
            "ix_onboardings_open_gdap_relationship",
            func.lower(gdap_relationship_id),
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        ),
        Index(
            "ix_onboardings_open_p2p_transfer",
            func.lower(p2p_transfer_id),
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        ),
    )


# The lists: newest first; the customers of one bulk import (one `listed_at`) in the order
# of their file, on SQLite and PostgreSQL alike (NULLS FIRST: a single enrollment has no row).
# The two indexes hold that order column by column, so that a page is read from an index
# instead of sorting every open onboarding (migration 0012).
LIST_ORDER = (
    OnboardingRow.listed_at.desc(),
    OnboardingRow.bulk_row.asc().nulls_first(),
    OnboardingRow.id.desc(),
)
Index(
    "ix_onboardings_dashboard", OnboardingRow.lifecycle, OnboardingRow.overall_status, *LIST_ORDER
)
Index("ix_onboardings_lifecycle_listed_at", OnboardingRow.lifecycle, *LIST_ORDER)


class ActivityRow(Base):
    """The append-only activity log; rows are never updated or deleted."""

    __tablename__ = "activities"

    seq: Mapped[int] = mapped_column(SERIAL, primary_key=True, autoincrement=True)  # order
    id: Mapped[str] = mapped_column(String(64), unique=True)  # Activity.id, for notice keys
    onboarding_id: Mapped[str] = mapped_column(String(32), ForeignKey("onboardings.id"))
    at: Mapped[datetime]
    actor_id: Mapped[str]
    actor_name: Mapped[str]
    actor_platform: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(64))
    step: Mapped[str | None] = mapped_column(String(16))
    message: Mapped[str]
    details: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)

    __table_args__ = (Index("ix_activities_onboarding_id_at", "onboarding_id", "at"),)


class BulkImportRow(Base):
    __tablename__ = "bulk_imports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str]
    filename: Mapped[str]
    total_rows: Mapped[int]
    state: Mapped[str] = mapped_column(String(16))
    valid_rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON_DOCUMENT)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON_DOCUMENT)
    enrolled: Mapped[list[str]] = mapped_column(JSON_DOCUMENT)
    failed: Mapped[list[dict[str, Any]]] = mapped_column(JSON_DOCUMENT)
    # While running: who confirmed it (to resume in their name) and until when the worker
    # enrolling it holds it; past that, the next confirm or the scheduler takes it over.
    confirmed_by: Mapped[dict[str, Any] | None] = mapped_column(JSON_DOCUMENT)
    lease_until: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "ix_bulk_imports_running_lease",
            "lease_until",
            sqlite_where=text("state = 'running'"),
            postgresql_where=text("state = 'running'"),
        ),
    )


class GdapNameRow(Base):
    """Every admin relationship name the bot ever asked Microsoft for, case-folded as
    Microsoft compares them: the primary key makes a name unique even when two replicas
    request it at the same instant."""

    __tablename__ = "gdap_names"

    name_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str]
    onboarding_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime]


class DeliveryRow(Base):
    """The send ledger: the unique `key` is what makes every message go out at most once."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(SERIAL, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)
    onboarding_id: Mapped[str | None] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int]
    last_error: Mapped[str | None]
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]  # a sender's lease; expired leases are free again
    last_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "ix_deliveries_pending_next_attempt_at",
            "next_attempt_at",
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        ),
    )


class PartnerRow(Base):
    """Current partners seen in earlier P2P transfers, offered again in the P2P form."""

    __tablename__ = "partners"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str]
    email: Mapped[str]


class OutboxMailRow(Base):
    """Mail the outbox backend "sent": kept and shown instead of leaving the machine."""

    __tablename__ = "outbox_mail"

    id: Mapped[int] = mapped_column(SERIAL, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    to_address: Mapped[str]
    subject: Mapped[str]
    body: Mapped[str]
    link: Mapped[str | None]
    onboarding_id: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_outbox_mail_onboarding_id_at", "onboarding_id", "at"),)


class HubCustomerRow(Base):
    """The default MSP hub's own directory of managed customers."""

    __tablename__ = "hub_customers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime]
    company_name: Mapped[str]
    domain: Mapped[str] = mapped_column()
    email: Mapped[str]
    country: Mapped[str] = mapped_column(String(8))
    first_name: Mapped[str]
    last_name: Mapped[str]
    phone: Mapped[str]
    address_line1: Mapped[str]
    city: Mapped[str]
    state: Mapped[str]
    postal_code: Mapped[str]
    tenant_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("uq_hub_customers_domain", func.lower(domain), unique=True),)


class SubscriptionRow(Base):
    """A chat channel that asked for notices (`notify here`); one per destination."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(SERIAL, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    destination: Mapped[str]  # opaque to everyone but the chat adapter that made it
    level: Mapped[str] = mapped_column(String(16))
    label: Mapped[str]
    created_by: Mapped[str]
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("platform", "destination"),)


class AdapterStateRow(Base):
    """Adapters' own state (sandbox tenant, Slack threads, Teams conversation references)."""

    __tablename__ = "adapter_state"

    id: Mapped[int] = mapped_column(SERIAL, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str]
    data: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)
    updated_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("kind", "key"),)


class TimerRow(Base):
    """Due work (reminders, expiries, syncs), written with the change that causes it.

    The unique `key` keeps each piece of work once; the partial index on `due_at` makes
    "what is due now" cost what is due, not the size of the table.
    """

    __tablename__ = "timers"

    id: Mapped[int] = mapped_column(SERIAL, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    onboarding_id: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(16))
    slot: Mapped[int | None]
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int]
    claimed_until: Mapped[datetime | None]  # a worker's lease; expired leases are free again
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str | None]

    __table_args__ = (
        Index("ix_timers_pending_due_at", "due_at", sqlite_where=PENDING, postgresql_where=PENDING),
        Index("ix_timers_onboarding_id_kind", "onboarding_id", "kind"),
    )


class DigestRow(Base):
    """A managers' digest subscription: one per person (direct message) or channel."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(SERIAL, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    destination: Mapped[str]
    label: Mapped[str]
    direct: Mapped[bool]
    frequency: Mapped[str] = mapped_column(String(16))
    weekday: Mapped[int | None]
    time: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64))
    next_due_at: Mapped[datetime] = mapped_column(index=True)
    last_sent_at: Mapped[datetime | None]
    last_counts: Mapped[dict[str, Any] | None] = mapped_column(JSON_DOCUMENT)
    created_by: Mapped[str]
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("platform", "destination"),)


class AccessGrantRow(Base):
    """A role an admin granted (everyone else in a served organisation is a viewer)."""

    __tablename__ = "access_grants"

    identity: Mapped[str] = mapped_column(String(300), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    granted_by: Mapped[str]
    granted_at: Mapped[datetime]


class AccessLogRow(Base):
    """The bot's own activity log: who granted or revoked whose role, and when."""

    __tablename__ = "access_log"

    seq: Mapped[int] = mapped_column(SERIAL, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str]
    identity: Mapped[str] = mapped_column(String(300))
    message: Mapped[str]


class SeenRequestRow(Base):
    """Signed chat requests already taken (by their signature), for as long as a replay of
    one would still pass the signature's time check: a replay after a restart or to a second
    replica is refused."""

    __tablename__ = "seen_requests"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(index=True)
