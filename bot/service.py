"""The use cases of onboarding: enroll, bulk, GDAP, hub, P2P, remind, cancel, finish, sync.

Each state change is one store transaction that writes the new state, its activity row and
the mail it causes (into the delivery ledger); mail leaves only after the commit, from the
ledger, so a retry never sends twice and a crash never loses one. Calls to Microsoft that
create something happen while the onboarding's row is locked, so two users clicking at once
cannot create two relationships.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from bot import digest as digests
from bot import mails, presenters
from bot.csvio import read_customer_csv
from bot.domain import (
    STEP_TITLES,
    SYSTEM_ACTOR,
    Activity,
    Actor,
    GdapRequest,
    GdapStatus,
    HubStatus,
    Onboarding,
    OverallStatus,
    P2PStatus,
    P2PTransfer,
    ResellerStatus,
    Step,
    new_onboarding,
)
from bot.errors import Ambiguous, Conflict, NotAllowed, NotFound, ProviderError, ValidationError
from bot.forms import OTHER_PARTNER, enroll_form, gdap_form, hub_form, p2p_form
from bot.notices import notice_deliveries, notice_payload
from bot.ports import (
    BulkImport,
    BulkRow,
    BulkState,
    Clock,
    CustomerProfile,
    CustomerSimulator,
    Delivery,
    DigestFrequency,
    DigestSubscription,
    GdapRelationship,
    GdapState,
    Hub,
    HubCustomer,
    KnownPartner,
    Mail,
    Mailer,
    MailOutbox,
    MicrosoftPartner,
    NoticeLevel,
    Notifier,
    Place,
    RowError,
    Store,
    Subscription,
    Timer,
    Transaction,
    Transfer,
    TransferState,
)
from bot.schedule import SYNC_FIRST, timers_for
from bot.validation import (
    clean_country,
    clean_domain,
    clean_duration,
    clean_email,
    clean_gdap_name,
    clean_name,
    clean_optional,
    clean_roles,
    clean_tenant_id,
    collect,
    validate_enrollment,
)
from bot.views import (
    ActivityLog,
    BulkProgress,
    BulkResult,
    BulkReview,
    Confirmation,
    Counts,
    CustomerCard,
    Digest,
    Form,
    ListPage,
    MailView,
    OutboxView,
    RowProblem,
)

CSV_COLUMNS = {
    "name": "Customer Name",
    "email": "Email Address",
    "domain": "Domain Name",
    "country": "Country Code",
}
MANUAL_REMINDER_GAP = timedelta(seconds=60)
BULK_CHUNK = 200
DELIVERY_RETRY = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
MERGED_LINES = 10  # lines a merged notice lists before "… and N more"


class Pacer:
    """Per-destination token buckets for chat notices, in real (monotonic) time: chat rate
    limits are per channel per second (Slack allows about one message a second with short
    bursts; Teams throttles a conversation past a few per second)."""

    def __init__(self, burst: int, every: float) -> None:
        self.burst = burst
        self.every = every
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def take(self, key: tuple[str, str]) -> float:
        """0 when a post may go now (and counts it), else the seconds to wait."""
        now = time.monotonic()
        tokens, stamp = self._buckets.get(key, (float(self.burst), now))
        if self.every > 0:
            tokens = min(float(self.burst), tokens + (now - stamp) / self.every)
        else:
            tokens = float(self.burst)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) * self.every


@dataclass
class OnboardingService:
    store: Store
    microsoft: MicrosoftPartner
    mailer: Mailer
    hub: Hub
    clock: Clock
    partner_name: str = "Your Microsoft partner"
    transfer_link: str = "https://partner.microsoft.com/dashboard/v2/customers/list"
    simulator: CustomerSimulator | None = None
    outbox: MailOutbox | None = None
    page_size: int = 10
    mail_channel: str = "mail"
    notifiers: list[Notifier] = field(default_factory=list)
    sync_after: timedelta | None = SYNC_FIRST  # fallback poll of waiting steps; None: off
    notice_burst: int = 4  # posts to one destination at once before pacing sets in
    notice_every: float = 1.0  # seconds per further post to one destination
    notice_merge_over: int = 5  # more pending notices than this for one destination: merged
    _invitation_url: str | None = field(default=None, repr=False)
    _pacer: Pacer | None = field(default=None, repr=False)

    # -- reading -------------------------------------------------------------------------

    def dashboard(
        self,
        status: OverallStatus | None = None,
        search: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> ListPage:
        limit = limit or self.page_size
        now = self.clock.now()
        with self.store.transaction() as tx:
            counts = tx.counts()
            onboardings, total = tx.page(status, search, max(offset, 0), limit)
        rows = tuple(presenters.customer_row(ob, now) for ob in onboardings)
        return ListPage(
            counts=Counts(
                counts[OverallStatus.ACTIVE],
                counts[OverallStatus.FAILED],
                counts[OverallStatus.COMPLETED],
            ),
            rows=rows,
            offset=max(offset, 0),
            limit=limit,
            total=total,
            status_filter=status.value if status else None,
            search=search,
        )

    def card(self, reference: str, headline: str = "") -> CustomerCard:
        with self.store.transaction() as tx:
            ob = self._resolve(tx, reference)
            return presenters.customer_card(ob, tx.activities(ob.id), self.clock.now(), headline)

    def _card_by_id(self, onboarding_id: str, headline: str) -> CustomerCard:
        with self.store.transaction() as tx:
            ob = tx.get(onboarding_id)
            assert ob is not None
            return presenters.customer_card(ob, tx.activities(ob.id), self.clock.now(), headline)

    def activity_log(self, reference: str) -> ActivityLog:
        now = self.clock.now()
        with self.store.transaction() as tx:
            ob = self._resolve(tx, reference, include_closed=True)
            events = tx.activities(ob.id)
        return ActivityLog(ob.name, ob.domain, tuple(presenters.event_view(a, now) for a in events))

    def outbox_mails(self, reference: str | None = None) -> OutboxView:
        if self.outbox is None:
            raise NotAllowed(
                "The outbox exists only with the outbox mail backend "
                "(MAIL_BACKEND=outbox); real mail is in your mail system."
            )
        customer = None
        onboarding_id = None
        if reference:
            with self.store.transaction() as tx:
                ob = self._resolve(tx, reference, include_closed=True)
            customer, onboarding_id = ob.name, ob.id
        now = self.clock.now()
        sent = self.outbox.list(onboarding_id)
        return OutboxView(
            customer,
            tuple(
                MailView(
                    s.at,
                    presenters.relative_time(s.at, now),
                    s.mail.to,
                    s.mail.subject,
                    s.mail.link,
                )
                for s in sent
            ),
        )

    def _resolve(
        self,
        tx: Transaction,
        reference: str,
        *,
        for_update: bool = False,
        include_closed: bool = False,
    ) -> Onboarding:
        ref = (reference or "").strip()
        if not ref:
            raise ValidationError("Name the customer: its name, domain or id.")
        matches = tx.find(ref)
        if not matches and include_closed:
            ob = tx.get(ref)
            matches = [ob] if ob else []
        if not matches:
            raise NotFound(f'No customer in onboarding matches "{ref}". Try: search {ref}')
        if len(matches) > 1:
            raise Ambiguous(ref, [(m.id, f"{m.name} ({m.domain})") for m in matches])
        ob = matches[0]
        if for_update:
            locked = tx.get(ob.id, for_update=True)
            assert locked is not None
            return locked
        return ob

    # -- enrollment ----------------------------------------------------------------------

    def enroll_form(self) -> Form:
        return enroll_form()

    def enroll(self, values: dict[str, str], actor: Actor) -> CustomerCard:
        details = validate_enrollment(
            values.get("name", ""),
            values.get("email", ""),
            values.get("domain", ""),
            values.get("country", ""),
        )
        now = self.clock.now()
        link = self._reseller_link()
        with self.store.transaction() as tx:
            existing = tx.open_by_domains([details.domain]).get(details.domain)
            if existing:
                raise ValidationError.for_fields({"domain": self._already_enrolled(existing, now)})
            ob, activity = new_onboarding(details, now, actor)
            tx.add(ob)
            self._record(tx, ob, activity)
            self._enqueue_mail(
                tx,
                f"{ob.id}:reseller:invite",
                mails.reseller_invitation(ob, self.partner_name, link),
                now,
            )
        self.deliver_pending()
        return self._card_by_id(ob.id, f"Enrolled {ob.name.rstrip('.')}.")

    def _already_enrolled(self, existing: Onboarding, now: datetime) -> str:
        return (
            f"{existing.domain} is already in onboarding as {existing.name} (enrolled "
            f"{presenters.relative_time(existing.enrolled_at, now)})."
        )

    def _reseller_link(self) -> str:
        if self._invitation_url is None:
            self._invitation_url = self.microsoft.reseller_invitation_url()
        return self._invitation_url

    # -- bulk ------------------------------------------------------------------------------

    def review_bulk(self, data: bytes, filename: str, actor: Actor) -> BulkReview:
        """Checks every row and keeps the result for confirmation; enrolls nobody yet."""
        rows = read_customer_csv(data, filename)
        valid: list[BulkRow] = []
        problems: list[RowError] = []
        first_row_of: dict[str, int] = {}
        for row in rows:
            if row.problem:
                problems.append(RowError(row.row, "Row", row.problem))
                continue
            try:
                details = validate_enrollment(row.name, row.email, row.domain, row.country)
            except ValidationError as err:
                problems.extend(
                    RowError(row.row, CSV_COLUMNS[f], reason)
                    for f, reason in err.field_errors.items()
                )
                continue
            if details.domain in first_row_of:
                problems.append(
                    RowError(
                        row.row,
                        "Domain Name",
                        f"{details.domain} is also on row "
                        f"{first_row_of[details.domain]} of this file.",
                    )
                )
                continue
            first_row_of[details.domain] = row.row
            valid.append(
                BulkRow(row.row, details.name, details.email, details.domain, details.country)
            )
        now = self.clock.now()
        bulk = BulkImport(
            uuid.uuid4().hex[:12], now, actor.label, filename or "upload.csv", len(rows), [], []
        )
        with self.store.transaction() as tx:
            existing = tx.open_by_domains([r.domain for r in valid])
            for r in valid:
                if r.domain in existing:
                    problems.append(
                        RowError(
                            r.row, "Domain Name", self._already_enrolled(existing[r.domain], now)
                        )
                    )
                else:
                    bulk.valid_rows.append(r)
            bulk.errors = sorted(problems, key=lambda p: p.row)
            tx.add_bulk_import(bulk)
        return self._review_view(bulk)

    def _review_view(self, bulk: BulkImport) -> BulkReview:
        n = len(bulk.valid_rows)
        confirmation = None
        if n:
            confirmation = Confirmation(
                f"Enroll {n} customer{'s' if n != 1 else ''} from {bulk.filename}? Each gets "
                "the reseller invitation mail.",
                f"bulk confirm {bulk.id}",
                f"Enroll {n}",
                f"bulk discard {bulk.id}",
                danger=False,
            )
        return BulkReview(
            bulk.id,
            bulk.filename,
            bulk.total_rows,
            tuple((r.row, r.name, r.domain) for r in bulk.valid_rows),
            tuple(RowProblem(e.row, e.column, e.reason) for e in bulk.errors),
            confirmation,
        )

    def discard_bulk(self, import_id: str, actor: Actor) -> str:
        with self.store.transaction() as tx:
            bulk = self._bulk(tx, import_id)
            if bulk.state is not BulkState.REVIEW:
                raise NotAllowed(
                    f"Import {import_id} is {bulk.state.value}; it cannot be discarded."
                )
            bulk.state = BulkState.DISCARDED
            tx.save_bulk_import(bulk)
        return f"Import {import_id} discarded: nobody was enrolled."

    def _bulk(self, tx: Transaction, import_id: str) -> BulkImport:
        bulk = tx.get_bulk_import(import_id.strip(), for_update=True)
        if bulk is None:
            raise NotFound(f"No bulk import {import_id}. Upload the file again with bulk.")
        return bulk

    def confirm_bulk(
        self, import_id: str, actor: Actor, progress: Callable[[BulkProgress], None] | None = None
    ) -> BulkResult:
        """Enrolls every reviewed row, in chunks; safe to repeat (a second confirm, a double
        click or a crash half-way enrolls nobody twice)."""
        with self.store.transaction() as tx:
            bulk = self._bulk(tx, import_id)
            if bulk.state is BulkState.DISCARDED:
                raise NotAllowed(f"Import {import_id} was discarded. Upload the file again.")
            if bulk.state is BulkState.DONE:
                return self._bulk_result(bulk)
            if bulk.state is BulkState.RUNNING:
                raise Conflict(f"Import {import_id} is already being enrolled.")
            bulk.state = BulkState.RUNNING
            tx.save_bulk_import(bulk)
        total = len(bulk.valid_rows)
        link = self._reseller_link()
        try:
            for start in range(0, total, BULK_CHUNK):
                self._enroll_chunk(bulk, bulk.valid_rows[start : start + BULK_CHUNK], actor, link)
                if progress:
                    progress(BulkProgress(bulk.id, min(start + BULK_CHUNK, total), total))
        finally:
            with self.store.transaction() as tx:
                stored = self._bulk(tx, import_id)
                stored.enrolled, stored.failed = bulk.enrolled, bulk.failed
                stored.state = (
                    BulkState.DONE
                    if (len(bulk.enrolled) + len(bulk.failed) >= total)
                    else BulkState.REVIEW
                )
                tx.save_bulk_import(stored)
        self._announce_bulk(bulk, actor, len(bulk.enrolled))
        self.deliver_pending()
        return self._bulk_result(bulk)

    def _enroll_chunk(self, bulk: BulkImport, rows: list[BulkRow], actor: Actor, link: str) -> None:
        now = self.clock.now()
        enrolled: list[str] = []
        failed: list[RowError] = []
        timers: list[Timer] = []
        with self.store.transaction() as tx:
            existing = tx.open_by_domains([r.domain for r in rows])
            for r in rows:
                if r.domain in existing:
                    other = existing[r.domain]
                    if other.bulk_import_id == bulk.id:  # enrolled by an earlier, cut-off run
                        enrolled.append(other.id)
                    else:
                        failed.append(
                            RowError(r.row, "Domain Name", self._already_enrolled(other, now))
                        )
                    continue
                ob, activity = new_onboarding(
                    validate_enrollment(r.name, r.email, r.domain, r.country),
                    now,
                    actor,
                    bulk_import_id=bulk.id,
                )
                tx.add(ob)
                tx.append(activity)
                timers += timers_for(activity, ob, self.sync_after)
                self._enqueue_mail(
                    tx,
                    f"{ob.id}:reseller:invite",
                    mails.reseller_invitation(ob, self.partner_name, link),
                    now,
                )
                enrolled.append(ob.id)
            tx.schedule(timers)
        bulk.enrolled.extend(enrolled)
        bulk.failed.extend(failed)

    def _bulk_result(self, bulk: BulkImport) -> BulkResult:
        enrolled_ids = set(bulk.enrolled)
        failed_rows = {e.row for e in bulk.failed}
        with self.store.transaction() as tx:
            by_domain = tx.open_by_domains([r.domain for r in bulk.valid_rows])
        enrolled = tuple(
            (r.row, r.name, r.domain)
            for r in bulk.valid_rows
            if r.row not in failed_rows
            and by_domain.get(r.domain) is not None
            and by_domain[r.domain].id in enrolled_ids
        )
        problems = sorted([*bulk.errors, *bulk.failed], key=lambda e: e.row)
        return BulkResult(
            bulk.id, enrolled, tuple(RowProblem(e.row, e.column, e.reason) for e in problems)
        )

    # -- GDAP ------------------------------------------------------------------------------

    def gdap_form(self, reference: str) -> Form:
        with self.store.transaction() as tx:
            ob = self._resolve(tx, reference)
        self._check(
            ob.reseller_status is ResellerStatus.ESTABLISHED,
            f"A GDAP request needs the reseller relationship with {ob.name} first: it "
            "is still In Progress.",
        )
        self._check(
            ob.gdap_status not in (GdapStatus.IN_PROGRESS, GdapStatus.ESTABLISHED),
            f"GDAP access for {ob.name} is already {ob.gdap_status}.",
        )
        return gdap_form(ob)

    def request_gdap(
        self, reference: str, values: dict[str, str | list[str]], actor: Actor
    ) -> CustomerCard:
        roles = values.get("roles") or []
        if isinstance(roles, str):
            roles = [r for r in roles.replace(";", ",").split(",")]
        checked = collect(
            {
                "name": (clean_gdap_name, str(values.get("name", ""))),
                "duration": (clean_duration, str(values.get("duration", "730"))),
                "roles": (clean_roles, list(roles)),
            }
        )
        name, days, role_ids = checked["name"], checked["duration"], checked["roles"]
        now = self.clock.now()
        with self.store.transaction() as tx:
            if tx.gdap_name_taken(str(name)):
                raise ValidationError.for_fields(
                    {
                        "name": (
                            f'An admin relationship named "{name}" already exists; Microsoft '
                            "needs a name that is unique across all your relationships."
                        )
                    }
                )
            ob = self._resolve(tx, reference, for_update=True)
            request = GdapRequest(str(name), int(days), list(role_ids))  # type: ignore[arg-type]
            requested = ob.request_gdap(now, actor, request)
            self._record(tx, ob, requested)
            try:
                rel = self.microsoft.create_gdap_relationship(
                    name=request.relationship_name,
                    duration_days=request.duration_days,
                    role_ids=request.role_ids,
                    auto_extend=request.auto_extend,
                    customer_tenant_id=ob.customer_tenant_id,
                    customer_name=ob.name,
                )
            except ProviderError as err:
                refused = ob.fail_gdap(now, SYSTEM_ACTOR, f"Microsoft refused the request: {err}")
                self._record(tx, ob, refused)
                tx.save(ob)
                headline = f"Microsoft refused the GDAP request: {err}"
            else:
                request.relationship_id, request.approval_url = rel.id, rel.approval_url
                tx.save(ob)
                self._enqueue_mail(
                    tx,
                    f"{ob.id}:gdap:{rel.id}:request",
                    mails.gdap_approval(ob, self.partner_name),
                    now,
                )
                headline = f"GDAP request sent to {ob.email} for approval."
                if not request.auto_extend:
                    headline += " It will not auto-extend: Global Administrator is among the roles."
        self.deliver_pending()
        return self._card_by_id(ob.id, headline)

    # -- MSP Hub -------------------------------------------------------------------------

    def hub_form(self, reference: str) -> Form:
        with self.store.transaction() as tx:
            ob = self._resolve(tx, reference)
        self._check(
            ob.hub_status is HubStatus.NOT_STARTED,
            f"MSP Hub access for {ob.name} is already {ob.hub_status}.",
        )
        profile = None
        if ob.reseller_status is ResellerStatus.ESTABLISHED:
            profile = self.microsoft.find_customer(ob.domain)
        return hub_form(ob, profile)

    def start_hub(self, reference: str, values: dict[str, str], actor: Actor) -> CustomerCard:
        v = collect(
            {
                "company_name": (clean_name, values.get("company_name", ""), "Company name"),
                "domain": (clean_domain, values.get("domain", "")),
                "email": (clean_email, values.get("email", "")),
                "country": (clean_country, values.get("country", "")),
                "first_name": (clean_name, values.get("first_name", ""), "First name", 64),
                "last_name": (clean_name, values.get("last_name", ""), "Last name", 64),
                "phone": (clean_optional, values.get("phone", ""), "Phone", 32),
                "address_line1": (clean_optional, values.get("address_line1", ""), "Address"),
                "city": (clean_optional, values.get("city", ""), "City", 64),
                "state": (clean_optional, values.get("state", ""), "State", 64),
                "postal_code": (clean_optional, values.get("postal_code", ""), "Postal code", 16),
            }
        )
        now = self.clock.now()
        with self.store.transaction() as tx:
            ob = self._resolve(tx, reference, for_update=True)
            started = ob.start_hub(now, actor)
            hub_id = self.hub.create_customer(HubCustomer(**v, tenant_id=ob.customer_tenant_id))
            self._record(tx, ob, started)
            headline = f"{ob.name} was sent to the MSP Hub."
            if self.hub.is_confirmed(hub_id):
                self._record(tx, ob, ob.complete_hub(now, SYSTEM_ACTOR, hub_id))
                headline = f"{ob.name} was created in the MSP Hub."
            tx.save(ob)
        return self._card_by_id(ob.id, headline)

    # -- P2P -------------------------------------------------------------------------------

    def p2p_form(self, reference: str) -> Form:
        with self.store.transaction() as tx:
            ob = self._resolve(tx, reference)
            partners = tx.known_partners()
        self._check(
            ob.reseller_status is ResellerStatus.ESTABLISHED,
            f"A P2P transfer needs the reseller relationship with {ob.name} first: it "
            "is still In Progress.",
        )
        self._check(
            ob.p2p_status not in (P2PStatus.PENDING, P2PStatus.COMPLETED),
            f"The P2P transfer for {ob.name} is already {ob.p2p_status}.",
        )
        return p2p_form(ob, partners)

    def initiate_p2p(self, reference: str, values: dict[str, str], actor: Actor) -> CustomerCard:
        with self.store.transaction() as tx:
            known = {p.tenant_id: p for p in tx.known_partners()}
        choice = (values.get("partner") or OTHER_PARTNER).strip()
        if choice != OTHER_PARTNER and choice not in known:
            raise ValidationError.for_fields({"partner": "Pick a partner from the list or Other."})
        chosen = known.get(choice)
        v = collect(
            {
                "partner_name": (
                    clean_name,
                    values.get("partner_name") or (chosen.name if chosen else ""),
                    "Current partner name",
                ),
                "partner_tenant_id": (
                    clean_tenant_id,
                    values.get("partner_tenant_id") or (chosen.tenant_id if chosen else ""),
                ),
                "partner_email": (
                    clean_email,
                    values.get("partner_email") or (chosen.email if chosen else ""),
                ),
            }
        )
        now = self.clock.now()
        with self.store.transaction() as tx:
            ob = self._resolve(tx, reference, for_update=True)
            transfer = P2PTransfer(
                str(v["partner_name"]), str(v["partner_tenant_id"]), str(v["partner_email"])
            )
            pending = ob.initiate_p2p(now, actor, transfer)
            if not ob.customer_tenant_id:
                raise NotAllowed(
                    f"The customer tenant of {ob.name} is not known yet; wait for "
                    "the reseller relationship to show in Partner Center."
                )
            created = self.microsoft.create_transfer(
                customer_tenant_id=ob.customer_tenant_id,
                partner_tenant_id=transfer.partner_tenant_id,
                partner_name=transfer.partner_name,
                customer_email=ob.email,
            )
            transfer.transfer_id = created.id
            tx.save(ob)
            self._record(tx, ob, pending)
            tx.remember_partner(
                KnownPartner(
                    transfer.partner_tenant_id, transfer.partner_name, transfer.partner_email
                )
            )
            self._enqueue_mail(
                tx,
                f"{ob.id}:p2p:{created.id}:request",
                mails.p2p_request(ob, self.partner_name, self.transfer_link),
                now,
            )
        self.deliver_pending()
        return self._card_by_id(ob.id, f"P2P transfer request sent to {transfer.partner_name}.")

    def cancel_p2p(self, reference: str, actor: Actor) -> CustomerCard:
        now = self.clock.now()
        with self.store.transaction() as tx:
            ob = self._resolve(tx, reference, for_update=True)
            was_pending = ob.p2p_status is P2PStatus.PENDING
            cancelled = ob.cancel_p2p(now, actor)
            if was_pending and ob.p2p and ob.p2p.transfer_id and ob.customer_tenant_id:
                self.microsoft.cancel_transfer(ob.customer_tenant_id, ob.p2p.transfer_id)
            tx.save(ob)
            self._record(tx, ob, cancelled)
        return self._card_by_id(
            ob.id, "P2P transfer cancelled." if was_pending else "P2P transfer dropped."
        )

    def p2p_cancel_confirmation(self, reference: str) -> Confirmation:
        with self.store.transaction() as tx:
            ob = self._resolve(tx, reference)
        if ob.p2p_status is P2PStatus.PENDING:
            text = (
                f"Cancel the P2P transfer request to {ob.p2p.partner_name if ob.p2p else ''} "
                f"for {ob.name}? The request is withdrawn in Partner Center."
            )
        elif ob.p2p_status in (P2PStatus.EXPIRED, P2PStatus.FAILED):
            text = (
                f"Drop the {ob.p2p_status.value.lower()} P2P transfer of {ob.name}, so the "
                "onboarding can complete without it?"
            )
        else:
            raise NotAllowed(
                f"There is no P2P transfer to cancel for {ob.name} (it is {ob.p2p_status})."
            )
        return Confirmation(text, f"p2p cancel {ob.id} --yes", "Cancel transfer")

    # -- reminders -------------------------------------------------------------------------

    def remind(self, reference: str, step: Step | None, actor: Actor) -> CustomerCard:
        """Sends the reminder mail now; the automatic 24 h / 48 h / 7 day reminders keep their
        schedule. A second click within a minute is refused, not sent twice."""
        now = self.clock.now()
        sent_to: list[str] = []
        with self.store.transaction() as tx:
            ob = self._resolve(tx, reference, for_update=True)
            steps = [step] if step else ob.waiting_steps()
            if not steps:
                raise NotAllowed(f"Nothing is waiting for {ob.name}: no reminder to send.")
            recent = [
                a
                for a in tx.activities(ob.id, limit=50)
                if a.kind == "reminder.sent"
                and a.details.get("slot") is None
                and now - a.at < MANUAL_REMINDER_GAP
            ]
            for s in steps:
                if s not in ob.waiting_steps():
                    raise NotAllowed(
                        f"{STEP_TITLES[s]} for {ob.name} is {ob.step_status(s)}: "
                        "there is nothing to remind about."
                    )
                if any(a.step == s for a in recent):
                    raise Conflict(
                        f"A reminder for {s.value} was sent to {ob.name} less than a "
                        "minute ago; it was not sent again."
                    )
                mail = mails.mail_for_step(
                    ob,
                    s,
                    self.partner_name,
                    self._reseller_link(),
                    self.transfer_link,
                    mails.reminder_prefix(None),
                )
                self._record(tx, ob, ob.record_reminder(now, actor, s, mail.to))
                self._enqueue_mail(tx, f"{ob.id}:{s.value}:manual:{uuid.uuid4().hex}", mail, now)
                sent_to.append(f"{s.value} → {mail.to}")
            tx.save(ob)
        self.deliver_pending()
        return self._card_by_id(ob.id, "Reminder sent: " + ", ".join(sent_to) + ".")

    def send_automatic_reminder(self, onboarding_id: str, step: Step, slot: int) -> bool:
        """Automatic reminder `slot` for a waiting step, at most once (the ledger key is the
        slot). Returns False when it was already sent or the step no longer waits."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            ob = tx.get(onboarding_id, for_update=True)
            if ob is None or not ob.is_open or step not in ob.waiting_steps():
                return False
            mail = mails.mail_for_step(
                ob,
                step,
                self.partner_name,
                self._reseller_link(),
                self.transfer_link,
                mails.reminder_prefix(slot),
            )
            started = ob.step_started_at(step)
            key = f"{ob.id}:{step.value}:{started.isoformat() if started else ''}:auto:{slot}"
            if not self._enqueue_mail(tx, key, mail, now):
                return False
            self._record(tx, ob, ob.record_reminder(now, SYSTEM_ACTOR, step, mail.to, slot))
            tx.save(ob)
        return True

    def warn_gdap_ending(self, tx: Transaction, ob: Onboarding, days: int) -> None:
        """Logs (and announces) that a relationship without auto-extend ends in `days` days;
        the scheduler calls it 30 and 7 days before, inside its own transaction."""
        ends = ob.gdap.ends_at if ob.gdap else None
        when = f" ({ends:%d %b %Y})" if ends else ""
        self._record(
            tx,
            ob,
            ob.note(
                self.clock.now(),
                SYSTEM_ACTOR,
                "gdap.ending",
                f"GDAP relationship ends in {days} days{when} and will not auto-extend (Global "
                f'Administrator): create a new request before then (gdap "{ob.domain}").',
                Step.GDAP,
            ),
        )

    # -- closing ---------------------------------------------------------------------------

    def finish_confirmation(self, reference: str) -> Confirmation:
        with self.store.transaction() as tx:
            ob = self._resolve(tx, reference)
        if ob.overall_status is not OverallStatus.COMPLETED:
            ob.finish(self.clock.now(), SYSTEM_ACTOR)  # raises NotAllowed naming what is left
        return Confirmation(
            presenters.FINISH_TEXT, f"finish {ob.id} --yes", "Finish", None, danger=False
        )

    def finish(self, reference: str, actor: Actor) -> CustomerCard:
        with self.store.transaction() as tx:
            ob = self._resolve(tx, reference, for_update=True)
            self._record(tx, ob, ob.finish(self.clock.now(), actor))
            tx.save(ob)
        return self._card_by_id(
            ob.id, f"{ob.name} finished onboarding and was removed from the onboarding lists."
        )

    def cancel_confirmation(self, reference: str) -> Confirmation:
        with self.store.transaction() as tx:
            ob = self._resolve(tx, reference)
        extra = (
            " The pending P2P transfer request is withdrawn too."
            if ob.p2p_status is P2PStatus.PENDING
            else ""
        )
        return Confirmation(
            f"Cancel the onboarding of {ob.name} ({ob.domain})? Pending work "
            f"stops and the customer is removed from the onboarding lists; its "
            f"history is kept.{extra}",
            f"cancel {ob.id} --yes",
            "Cancel onboarding",
        )

    def cancel(self, reference: str, actor: Actor) -> CustomerCard:
        now = self.clock.now()
        with self.store.transaction() as tx:
            ob = self._resolve(tx, reference, for_update=True)
            transfer = ob.p2p if ob.p2p_status is P2PStatus.PENDING else None
            self._record(tx, ob, ob.cancel(now, actor))
            if transfer and transfer.transfer_id and ob.customer_tenant_id:
                try:
                    self.microsoft.cancel_transfer(ob.customer_tenant_id, transfer.transfer_id)
                except ProviderError as err:
                    self._record(
                        tx,
                        ob,
                        ob.note(
                            now,
                            SYSTEM_ACTOR,
                            "p2p.cancel_failed",
                            f"Could not withdraw the transfer at Microsoft: "
                            f"{err}. Cancel it in Partner Center.",
                            Step.P2P,
                        ),
                    )
            tx.save(ob)
        return self._card_by_id(ob.id, f"Onboarding of {ob.name} cancelled.")

    # -- following Microsoft -----------------------------------------------------------------

    def sync(self, onboarding_id: str) -> list[str]:
        """Asks Microsoft where each waiting step stands and applies what changed.

        Webhooks, the scheduler and the sandbox all end here, so a status only ever changes
        because Microsoft said so. Returns the activity messages written.
        """
        with self.store.transaction() as tx:
            ob = tx.get(onboarding_id)
        if ob is None or not ob.is_open:
            return []
        now = self.clock.now()
        profile = (
            self.microsoft.find_customer(ob.domain)
            if ob.reseller_status is ResellerStatus.IN_PROGRESS
            else None
        )
        rel = (
            self.microsoft.get_gdap_relationship(ob.gdap.relationship_id)
            if ob.gdap
            and ob.gdap.relationship_id
            and ob.gdap_status in (GdapStatus.IN_PROGRESS, GdapStatus.ESTABLISHED)
            else None
        )
        transfer = (
            self.microsoft.get_transfer(ob.customer_tenant_id, ob.p2p.transfer_id)
            if ob.p2p
            and ob.p2p.transfer_id
            and ob.customer_tenant_id
            and ob.p2p_status is P2PStatus.PENDING
            else None
        )
        written: list[str] = []
        with self.store.transaction() as tx:
            ob = tx.get(onboarding_id, for_update=True)
            if ob is None or not ob.is_open:
                return []
            for activity in self._apply_microsoft(ob, now, profile, rel, transfer):
                self._record(tx, ob, activity)
                written.append(activity.message)
            if written:
                tx.save(ob)
        if written:
            self.deliver_pending()
        return written

    def _apply_microsoft(
        self,
        ob: Onboarding,
        now: datetime,
        profile: CustomerProfile | None,
        rel: GdapRelationship | None,
        transfer: Transfer | None,
    ) -> Iterator[Activity]:
        if profile and ob.reseller_status is ResellerStatus.IN_PROGRESS:
            yield ob.accept_reseller(now, SYSTEM_ACTOR, profile.tenant_id)
        if rel and ob.gdap and ob.gdap.relationship_id == rel.id:
            if ob.gdap_status is GdapStatus.IN_PROGRESS:
                if rel.state is GdapState.ACTIVE:
                    yield ob.approve_gdap(now, SYSTEM_ACTOR, rel.ends_at)
                elif rel.state in (GdapState.EXPIRED, GdapState.TERMINATED):
                    yield ob.fail_gdap(
                        now,
                        SYSTEM_ACTOR,
                        rel.detail
                        or (
                            "the request was not approved in time"
                            if rel.state is GdapState.EXPIRED
                            else "the request was rejected or terminated"
                        ),
                    )
            elif ob.gdap_status is GdapStatus.ESTABLISHED:
                if rel.state is GdapState.EXPIRED:
                    yield ob.expire_gdap(now, SYSTEM_ACTOR)
                elif rel.state is GdapState.TERMINATED:
                    yield ob.fail_gdap(
                        now, SYSTEM_ACTOR, rel.detail or "the admin relationship was terminated"
                    )
                elif rel.ends_at and rel.ends_at != ob.gdap.ends_at:
                    ob.gdap.ends_at = rel.ends_at  # auto-extended; not worth a log line
        if ob.p2p_status is P2PStatus.PENDING:
            if transfer and transfer.state is TransferState.COMPLETED:
                yield ob.complete_p2p(now, SYSTEM_ACTOR)
            elif transfer and transfer.state is TransferState.FAILED:
                yield ob.fail_p2p(
                    now,
                    SYSTEM_ACTOR,
                    transfer.detail or "the current partner declined the transfer",
                )
            elif transfer and transfer.state is TransferState.CANCELLED:
                yield ob.cancel_p2p(now, SYSTEM_ACTOR)
            elif ob.p2p and ob.p2p.expires_at and now >= ob.p2p.expires_at:
                yield ob.expire_p2p(now, SYSTEM_ACTOR)

    # -- sandbox ---------------------------------------------------------------------------

    def sandbox(self, action: str, reference: str) -> CustomerCard:
        """Plays the customer or the current partner, then syncs as a webhook would."""
        if self.simulator is None:
            raise NotAllowed(
                "sandbox commands exist only while the sandbox Microsoft backend "
                "is in use (MICROSOFT_BACKEND=sandbox)."
            )
        with self.store.transaction() as tx:
            ob = self._resolve(tx, reference)
        sim = self.simulator
        gdap_id = ob.gdap.relationship_id if ob.gdap else None
        transfer_id = ob.p2p.transfer_id if ob.p2p else None
        if action == "accept-reseller":
            self._check(
                ob.reseller_status is ResellerStatus.IN_PROGRESS,
                f"The reseller relationship with {ob.name} is already Established.",
            )
            sim.accept_reseller(ob.domain, ob.name, ob.email, ob.country)
        elif action in ("approve-gdap", "expire-gdap"):
            wanted = GdapStatus.IN_PROGRESS if action == "approve-gdap" else GdapStatus.ESTABLISHED
            self._check(
                ob.gdap_status is wanted and gdap_id is not None,
                f"GDAP access for {ob.name} is {ob.gdap_status}, not {wanted}.",
            )
            (sim.approve_gdap if action == "approve-gdap" else sim.expire_gdap)(gdap_id)
        elif action in ("accept-p2p", "fail-p2p"):
            self._check(
                ob.p2p_status is P2PStatus.PENDING and transfer_id is not None,
                f"The P2P transfer for {ob.name} is {ob.p2p_status}, not Pending.",
            )
            if action == "accept-p2p":
                sim.accept_transfer(transfer_id)
            else:
                sim.fail_transfer(transfer_id, "the current partner declined the transfer")
        else:
            raise ValidationError(
                f"Unknown sandbox action {action!r}. Use accept-reseller, "
                "approve-gdap, expire-gdap, accept-p2p or fail-p2p."
            )
        changes = self.sync(ob.id)
        return self._card_by_id(ob.id, " ".join(changes) or "Nothing changed.")

    # -- the delivery ledger ---------------------------------------------------------------

    def _enqueue_mail(self, tx: Transaction, key: str, mail: Mail, now: datetime) -> bool:
        return tx.enqueue(
            Delivery(f"mail:{key}", self.mail_channel, asdict(mail), now, mail.onboarding_id)
        )

    def deliver_pending(self, limit: int = 500) -> int:
        """Sends what the ledger holds for mail and for every configured chat platform;
        returns how many deliveries went out. Safe to call from several threads or processes.

        Mail is sent inside the transaction that marks it sent, so a mailer that writes to
        the store (the outbox) sends exactly once even if the process dies. Chat notices are
        paced per destination (`Pacer`); past `notice_merge_over` pending for one
        destination they go as one merged notice, and a platform's Retry-After holds back
        the rest of that destination's notices too.
        """
        senders: dict[str, Callable[[dict], None]] = {
            self.mail_channel: lambda payload: self.mailer.send(Mail(**payload))
        }
        for notifier in self.notifiers:
            senders[notifier.platform] = lambda payload, n=notifier: n.post(
                payload["destination"], payload
            )
        sent = 0
        while True:
            now = self.clock.now()
            with self.store.transaction() as tx:
                batch = tx.claim_deliveries(now, limit, lease_seconds=300, channels=list(senders))
            if not batch:
                return sent
            by_destination: dict[tuple[str, str], list[Delivery]] = {}
            for delivery in batch:
                if delivery.channel == self.mail_channel:
                    if self._attempt(delivery, senders[delivery.channel], atomic=True) is None:
                        sent += 1
                else:
                    where = (delivery.channel, str(delivery.payload.get("destination", "")))
                    by_destination.setdefault(where, []).append(delivery)
            for where, notices in by_destination.items():
                sent += self._post_notices(where, notices, senders[where[0]])
            if len(batch) < limit:
                return sent

    @property
    def pacer(self) -> Pacer:
        if self._pacer is None:
            self._pacer = Pacer(self.notice_burst, self.notice_every)
        return self._pacer

    def _post_notices(
        self, where: tuple[str, str], notices: list[Delivery], send: Callable[[dict], None]
    ) -> int:
        if len(notices) > self.notice_merge_over:
            wait = self.pacer.take(where)
            if wait:
                self._defer(notices, wait)
                return 0
            return len(notices) if self._attempt_merged(notices, send) else 0
        sent = 0
        for i, delivery in enumerate(notices):
            wait = self.pacer.take(where)
            if wait:
                self._defer(notices[i:], wait)
                break
            failure = self._attempt(delivery, send)
            if failure is None:
                sent += 1
            elif failure.retry_after:
                self._defer(notices[i + 1 :], failure.retry_after)
                break
        return sent

    def _defer(self, deliveries: list[Delivery], seconds: float) -> None:
        if not deliveries:
            return
        until = self.clock.now() + timedelta(seconds=max(seconds, 0.001))
        with self.store.transaction() as tx:
            for delivery in deliveries:
                tx.defer_delivery(delivery.id or 0, until)

    def _attempt_merged(self, notices: list[Delivery], send: Callable[[dict], None]) -> bool:
        """One post standing for several notices; each of them is recorded sent with it."""
        payloads = [n.payload for n in notices]
        lines = [f"• {p.get('text', '')}" for p in payloads[:MERGED_LINES]]
        if len(payloads) > MERGED_LINES:
            lines.append(f"… and {len(payloads) - MERGED_LINES} more (log CUSTOMER shows all).")
        tones = {p.get("tone") for p in payloads}
        merged = {
            "destination": payloads[0].get("destination"),
            "kind": "merged",
            "activity_id": None,
            "onboarding_id": None,
            "customer": "",
            "domain": "",
            "tone": "error" if "error" in tones else "info",
            "actor": "onboarding bot",
            "text": f"{len(payloads)} updates:\n" + "\n".join(lines),
            "at": self.clock.now().isoformat(),
            "merged": [n.key for n in notices],
        }
        try:
            send(merged)
        except ProviderError as err:
            for delivery in notices:
                self._failed(delivery, err)
            return False
        with self.store.transaction() as tx:
            for delivery in notices:
                tx.mark_delivered(delivery.id or 0, self.clock.now())
        return True

    def _attempt(
        self, delivery: Delivery, send: Callable[[dict], None], *, atomic: bool = False
    ) -> ProviderError | None:
        """Sends one delivery and records the outcome; returns the refusal, if any."""
        try:
            if atomic:
                with self.store.transaction() as tx:
                    send(delivery.payload)
                    tx.mark_delivered(delivery.id or 0, self.clock.now())
                return None
            send(delivery.payload)
        except ProviderError as err:
            self._failed(delivery, err)
            return err
        with self.store.transaction() as tx:
            tx.mark_delivered(delivery.id or 0, self.clock.now())
        return None

    def _failed(self, delivery: Delivery, err: ProviderError) -> None:
        now = self.clock.now()
        if err.retry_after is not None:
            retry: datetime | None = now + timedelta(seconds=err.retry_after)
        elif delivery.attempts <= len(DELIVERY_RETRY):
            retry = now + DELIVERY_RETRY[delivery.attempts - 1]
        else:
            retry = None
        with self.store.transaction() as tx:
            tx.mark_delivery_failed(delivery.id or 0, now, str(err), retry)

    # -- channel notices -------------------------------------------------------------------

    def _record(self, tx: Transaction, ob: Onboarding, activity: Activity) -> None:
        """Appends an activity and, in the same transaction, the notices it causes and the
        due work it starts (reminders, expiries, syncs: see `bot.schedule`)."""
        tx.append(activity)
        for delivery in notice_deliveries(activity, ob, tx.subscriptions(), activity.at):
            tx.enqueue(delivery)
        tx.schedule(timers_for(activity, ob, self.sync_after))

    def notify(self, place: Place | None, level: str | None, actor: Actor) -> str:
        """`notify here [all|failures|off]` for the channel or chat it is typed in."""
        if place is None:
            raise NotAllowed(
                "notify here works in a Slack channel or a Teams chat or channel: "
                "that is where the notices are posted."
            )
        word = (level or "all").lower()
        where = place.label or "this conversation"
        with self.store.transaction() as tx:
            if word == "off":
                removed = tx.remove_subscription(place.platform, place.destination)
                return (
                    f"Notices to {where} are off."
                    if removed
                    else f"{where} had no notices switched on."
                )
            if word not in (NoticeLevel.ALL.value, NoticeLevel.FAILURES.value):
                raise ValidationError("Use: notify here [all|failures|off]")
            tx.save_subscription(
                Subscription(
                    place.platform,
                    place.destination,
                    NoticeLevel(word),
                    where,
                    actor.label,
                    self.clock.now(),
                )
            )
        what = (
            "every status change and reminder"
            if word == "all"
            else "failures only (expired or failed GDAP and P2P)"
        )
        return f"Notices to {where}: {what}. Stop them with: notify here off"

    def _announce_bulk(self, bulk: BulkImport, actor: Actor, count: int) -> None:
        """One notice for a whole bulk import, rather than one per customer."""
        if not count:
            return
        now = self.clock.now()
        activity = Activity(
            "",
            now,
            actor,
            "bulk.enrolled",
            f"{count} customers enrolled from {bulk.filename} by {actor.label}.",
            id=f"bulk-{bulk.id}",
        )
        with self.store.transaction() as tx:
            for s in tx.subscriptions():
                if s.level is NoticeLevel.ALL:
                    tx.enqueue(
                        Delivery(
                            f"notice:{activity.id}:{s.platform}:{s.destination}",
                            s.platform,
                            notice_payload(activity, None, s.destination),
                            now,
                        )
                    )

    # -- managers' digests -----------------------------------------------------------------

    def digest(self, place: Place | None, words: list[str], actor: Actor) -> Digest | str:
        """`digest daily HH:MM [TZ]`, `digest weekly DAY HH:MM [TZ]`, `digest now`, `digest
        off`, or `digest` alone for the current schedule. A digest goes to where the command
        was typed: a person's direct message or a channel."""
        word = words[0].lower() if words else ""
        if word == "now" and len(words) == 1:
            return self.digest_now(place)
        if place is None:
            raise NotAllowed(
                "Digests are posted in Slack or Teams: type this command in the "
                "channel or direct message that should get them. Here, digest "
                "now shows one."
            )
        where = place.label or "this conversation"
        now = self.clock.now()
        if not words:
            with self.store.transaction() as tx:
                current = tx.get_digest(place.platform, place.destination)
            if current is None:
                return f"No digest for {where}. {digests.USAGE}"
            return (
                f"Digest for {where}: {digests.describe(current)}. "
                f"Next: {digests.when(current.next_due_at, current.timezone)}."
            )
        if word == "off" and len(words) == 1:
            with self.store.transaction() as tx:
                removed = tx.remove_digest(place.platform, place.destination)
            return f"Digest for {where} is off." if removed else f"{where} had no digest."
        frequency, weekday, at, tz = digests.parse_schedule(words, place.timezone)
        sub = DigestSubscription(
            place.platform,
            place.destination,
            where,
            place.direct,
            frequency,
            f"{at:%H:%M}",
            tz,
            now,
            actor.label,
            now,
            weekday,
        )
        sub.next_due_at = digests.next_due(sub, now)
        with self.store.transaction() as tx:
            tx.save_digest(sub)
        return (
            f"Digest for {where}: {digests.describe(sub)}. First one: "
            f"{digests.when(sub.next_due_at, tz)}. Stop it with: digest off"
        )

    def digest_now(self, place: Place | None) -> Digest | str:
        """At the console (no place to post to) the digest is the answer; in a chat it is
        posted there through the ledger, like a scheduled one."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            if place is None:
                return digests.console_digest(tx, now)
            sub = tx.get_digest(place.platform, place.destination)
            if sub is None:
                sub = DigestSubscription(
                    place.platform,
                    place.destination,
                    place.label or "this conversation",
                    place.direct,
                    DigestFrequency.DAILY,
                    "00:00",
                    digests.zone_named(place.timezone or "UTC"),
                    now,
                    "",
                    now,
                )
            digests.send_digest(
                tx,
                sub,
                now,
                f"digest:{place.platform}:{place.destination}:now:{uuid.uuid4().hex}",
                None,
            )
        self.deliver_pending()
        return f"Digest sent to {sub.label}."

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _check(condition: bool, message: str) -> None:
        if not condition:
            raise NotAllowed(message)
