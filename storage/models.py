"""The database schema as SQLAlchemy Core tables; Alembic migrations are generated from these.

Rows never leave `storage/`: the repository turns them into the dataclasses of `bot/`.
Enumerations are stored as their values in plain strings, so adding a state needs no
migration.

Plain `Table`s, not ORM classes: the store only ever runs Core statements, and the ORM's
import and class mapping were a large share of start-up. A table keeps its model's name
(`OnboardingRow`) and its columns are `OnboardingRow.c.NAME`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.types import TypeEngine

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

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


class JsonDocument(TypeDecorator[Any]):
    """JSON, stored as JSONB on PostgreSQL. A missing document is SQL NULL, not the JSON
    text 'null' (none_as_null). Chosen per dialect here rather than with
    `with_variant(JSONB())` so that a SQLite start never imports the PostgreSQL dialect."""

    impl = JSON(none_as_null=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB(none_as_null=True))
        return dialect.type_descriptor(JSON(none_as_null=True))


TEXT = Text()
TIME = UtcDateTime()
INTEGER = Integer()
JSON_DOCUMENT = JsonDocument()
# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
SERIAL = BigInteger().with_variant(Integer(), "sqlite")


def required(name: str, type_: Any = TEXT, *args: Any, **options: Any) -> Column[Any]:
    """A NOT NULL column (text unless said otherwise)."""
    return Column(name, type_, *args, nullable=False, **options)


def optional(name: str, type_: Any = TEXT, *args: Any, **options: Any) -> Column[Any]:
    """A NULL-able column (text unless said otherwise)."""
    return Column(name, type_, *args, nullable=True, **options)


def serial(name: str) -> Column[Any]:
    """The auto-incremented primary key: the insertion order."""
    return Column(name, SERIAL, primary_key=True, autoincrement=True)


# One customer's onboarding; the GDAP request and P2P transfer are flattened into it, since
# each onboarding has at most one of each and due-work queries filter on them.
OnboardingRow = Table(
    "onboardings",
    metadata,
    Column("id", String(32), primary_key=True),
    required("name"),
    required("email"),
    required("domain"),
    required("country", String(8)),
    required("enrolled_at", TIME),
    required("enrolled_by"),
    required("reseller_status", String(32)),
    optional("reseller_started_at", TIME),
    optional("customer_tenant_id", String(64)),
    optional("tenant_checked_at", TIME),
    required("gdap_status", String(32)),
    optional("gdap_started_at", TIME),
    optional("gdap_relationship_name"),  # NULL: no GDAP request
    optional("gdap_duration_days", INTEGER),
    optional("gdap_role_ids", JSON_DOCUMENT),
    optional("gdap_relationship_id"),
    optional("gdap_approval_url"),
    optional("gdap_ends_at", TIME),
    optional("gdap_waiting"),  # Microsoft's transient failure while not created yet
    optional("gdap_ends_unapproved_at", TIME),
    optional("gdap_assignments", JSON_DOCUMENT),
    required("hub_status", String(32)),
    optional("hub_started_at", TIME),
    optional("hub_customer_id"),
    required("p2p_status", String(32)),
    optional("p2p_started_at", TIME),
    optional("p2p_partner_name"),  # NULL when no transfer was ever started
    optional("p2p_partner_tenant_id", String(64)),
    optional("p2p_partner_email"),
    optional("p2p_transfer_id"),
    optional("p2p_sent_at", TIME),
    optional("p2p_expires_at", TIME),  # Partner Center's expirationTime, when given
    optional("p2p_waiting"),  # Microsoft's transient failure while not created yet
    optional("failure_reason"),
    required("overall_status", String(16)),  # Onboarding.overall_status
    required("lifecycle", String(16)),
    optional("closed_at", TIME),
    optional("bulk_import_id", String(32)),
    # The lists' order (newest first, an import's rows in the order of its file): see
    # `Onboarding.listed_at` and `Onboarding.bulk_row`.
    optional("bulk_row", INTEGER),
    optional("listed_at", TIME),  # always written; NULL-able so SQLite adds it in place
    required("version", INTEGER),
)

# The lists: newest first; the customers of one bulk import (one `listed_at`) in the order of
# their file, on SQLite and PostgreSQL alike (NULLS FIRST: a single enrollment has no row).
# The two indexes hold that order column by column, so that a page is read from an index
# instead of sorting every open onboarding (migration 0012).
LIST_ORDER = (
    OnboardingRow.c.listed_at.desc(),
    OnboardingRow.c.bulk_row.asc().nulls_first(),
    OnboardingRow.c.id.desc(),
)
Index(
    "ix_onboardings_dashboard",
    OnboardingRow.c.lifecycle,
    OnboardingRow.c.overall_status,
    *LIST_ORDER,
)
Index("ix_onboardings_lifecycle_listed_at", OnboardingRow.c.lifecycle, *LIST_ORDER)

# The append-only activity log; rows are never updated or deleted.
ActivityRow = Table(
    "activities",
    metadata,
    serial("seq"),  # the order
    required("id", String(64), unique=True),  # Activity.id, for notice keys
    required("onboarding_id", String(32), ForeignKey("onboardings.id")),
    required("at", TIME),
    required("actor_id"),
    required("actor_name"),
    required("actor_platform", String(32)),
    required("kind", String(64)),
    optional("step", String(16)),
    required("message"),
    required("details", JSON_DOCUMENT),
    Index("ix_activities_onboarding_id_at", "onboarding_id", "at"),
)

BulkImportRow = Table(
    "bulk_imports",
    metadata,
    Column("id", String(32), primary_key=True),
    required("created_at", TIME),
    required("created_by"),
    required("filename"),
    required("total_rows", INTEGER),
    required("state", String(16)),
    required("valid_rows", JSON_DOCUMENT),
    required("errors", JSON_DOCUMENT),
    required("enrolled", JSON_DOCUMENT),
    required("failed", JSON_DOCUMENT),
    # While running: who confirmed it (to resume in their name) and until when the worker
    # enrolling it holds it; past that, the next confirm or the scheduler takes it over.
    optional("confirmed_by", JSON_DOCUMENT),
    optional("lease_until", TIME),
)

# Every admin relationship name the bot ever asked Microsoft for, case-folded as Microsoft
# compares them: the primary key makes a name unique even when two replicas request it at
# the same instant.
GdapNameRow = Table(
    "gdap_names",
    metadata,
    Column("name_key", String(200), primary_key=True),
    required("name"),
    required("onboarding_id", String(32), index=True),
    required("created_at", TIME),
)

# The send ledger: the unique `key` is what makes every message go out at most once.
DeliveryRow = Table(
    "deliveries",
    metadata,
    serial("id"),
    required("key", unique=True),
    required("channel", String(32)),
    required("payload", JSON_DOCUMENT),
    optional("onboarding_id", String(32), index=True),
    required("state", String(16)),
    required("attempts", INTEGER),
    optional("last_error"),
    required("created_at", TIME),
    required("next_attempt_at", TIME),
    optional("claimed_until", TIME),  # a sender's lease; expired leases are free again
    optional("last_attempt_at", TIME),
    optional("sent_at", TIME),
)

# Current partners seen in earlier P2P transfers, offered again in the P2P form.
PartnerRow = Table(
    "partners",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    required("name"),
    required("email"),
)

# Mail the outbox backend "sent": kept and shown instead of leaving the machine.
OutboxMailRow = Table(
    "outbox_mail",
    metadata,
    serial("id"),
    required("at", TIME, index=True),
    required("to_address"),
    required("subject"),
    required("body"),
    optional("link"),
    optional("onboarding_id", String(32)),
    required("kind", String(64)),
    Index("ix_outbox_mail_onboarding_id_at", "onboarding_id", "at"),
)

# The default MSP hub's own directory of managed customers.
HubCustomerRow = Table(
    "hub_customers",
    metadata,
    Column("id", String(32), primary_key=True),
    required("created_at", TIME),
    required("company_name"),
    required("domain"),
    required("email"),
    required("country", String(8)),
    required("first_name"),
    required("last_name"),
    required("phone"),
    required("address_line1"),
    required("city"),
    required("state"),
    required("postal_code"),
    optional("tenant_id", String(64)),
)
Index("uq_hub_customers_domain", func.lower(HubCustomerRow.c.domain), unique=True)

# A chat channel that asked for notices (`notify here`); one per destination.
SubscriptionRow = Table(
    "subscriptions",
    metadata,
    serial("id"),
    required("platform", String(32)),
    required("destination"),  # opaque to everyone but the chat adapter that made it
    required("level", String(16)),
    required("label"),
    required("created_by"),
    required("created_at", TIME),
    UniqueConstraint("platform", "destination"),
)

# Adapters' own state (sandbox tenant, Slack threads, Teams conversation references).
AdapterStateRow = Table(
    "adapter_state",
    metadata,
    serial("id"),
    required("kind", String(32)),
    required("key"),
    required("data", JSON_DOCUMENT),
    required("updated_at", TIME),
    UniqueConstraint("kind", "key"),
)

# Due work (reminders, expiries, syncs), written with the change that causes it. The unique
# `key` keeps each piece of work once; the partial index on `due_at` makes "what is due now"
# cost what is due, not the size of the table.
TimerRow = Table(
    "timers",
    metadata,
    serial("id"),
    required("key", unique=True),
    required("kind", String(32)),
    optional("onboarding_id", String(32)),
    optional("step", String(16)),
    optional("slot", INTEGER),
    required("due_at", TIME),
    required("state", String(16)),
    required("attempts", INTEGER),
    optional("claimed_until", TIME),  # a worker's lease; expired leases are free again
    required("created_at", TIME),
    optional("finished_at", TIME),
    optional("outcome"),
    Index("ix_timers_onboarding_id_kind", "onboarding_id", "kind"),
)

# A managers' digest subscription: one per person (direct message) or channel.
DigestRow = Table(
    "digests",
    metadata,
    serial("id"),
    required("platform", String(32)),
    required("destination"),
    required("label"),
    required("direct", Boolean()),
    required("frequency", String(16)),
    optional("weekday", INTEGER),
    required("time", String(5)),
    required("timezone", String(64)),
    required("next_due_at", TIME, index=True),
    optional("last_sent_at", TIME),
    optional("last_counts", JSON_DOCUMENT),
    required("created_by"),
    required("created_at", TIME),
    UniqueConstraint("platform", "destination"),
)

# A role an admin granted (everyone else in a served organisation is a viewer).
AccessGrantRow = Table(
    "access_grants",
    metadata,
    Column("identity", String(300), primary_key=True),
    required("role", String(16)),
    required("granted_by"),
    required("granted_at", TIME),
)

# The bot's own activity log: who granted or revoked whose role, and when.
AccessLogRow = Table(
    "access_log",
    metadata,
    serial("seq"),
    required("at", TIME, index=True),
    required("actor"),
    required("identity", String(300)),
    required("message"),
)

# Signed chat requests already taken (by their signature), for as long as a replay of one
# would still pass the signature's time check: a replay after a restart or to a second
# replica is refused.
SeenRequestRow = Table(
    "seen_requests",
    metadata,
    Column("key", String(128), primary_key=True),
    required("seen_at", TIME, index=True),
)


@cache
def schema() -> MetaData:
    """Every table with every index: what Alembic compares databases with and builds.

    The partial indexes are declared here, on the first call, rather than at import: their
    `postgresql_where` makes SQLAlchemy load the PostgreSQL dialect, which a SQLite start
    would not otherwise need, and the store's own statements never look at indexes."""
    o = OnboardingRow.c
    # The database, not a check before the insert, keeps one open onboarding per domain: two
    # users enrolling the same customer at once cannot both succeed.
    Index(
        "uq_onboardings_open_domain",
        func.lower(o.domain),
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    Index("ix_onboardings_open_name", func.lower(o.name), sqlite_where=OPEN, postgresql_where=OPEN)
    Index("ix_onboardings_gdap_name", func.lower(o.gdap_relationship_name))
    # Closed customers too (show, log, search find them): by domain and name, and the lists of
    # finished or cancelled ones, newest closed first.
    Index("ix_onboardings_domain", func.lower(o.domain))
    Index("ix_onboardings_name", func.lower(o.name))
    Index("ix_onboardings_lifecycle_closed_at", o.lifecycle, o.closed_at)
    Index("ix_onboardings_lifecycle_enrolled_at", o.lifecycle, o.enrolled_at)
    # An export of every customer pages newest first by (enrolled_at, id), open or closed.
    Index("ix_onboardings_enrolled_at_id", o.enrolled_at, o.id)
    Index(
        "ix_onboardings_open_reseller_started_at",
        o.reseller_started_at,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    Index(
        "ix_onboardings_open_gdap_started_at",
        o.gdap_started_at,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    Index(
        "ix_onboardings_open_p2p_started_at",
        o.p2p_started_at,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    # What a Partner Center webhook names: the customer tenant, relationship or transfer.
    Index(
        "ix_onboardings_open_tenant",
        func.lower(o.customer_tenant_id),
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    Index(
        "ix_onboardings_open_gdap_relationship",
        func.lower(o.gdap_relationship_id),
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    Index(
        "ix_onboardings_open_p2p_transfer",
        func.lower(o.p2p_transfer_id),
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    Index(
        "ix_bulk_imports_running_lease",
        BulkImportRow.c.lease_until,
        sqlite_where=text("state = 'running'"),
        postgresql_where=text("state = 'running'"),
    )
    Index(
        "ix_deliveries_pending_next_attempt_at",
        DeliveryRow.c.next_attempt_at,
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    Index(
        "ix_timers_pending_due_at",
        TimerRow.c.due_at,
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    return metadata
