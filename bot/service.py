"""The bot's use cases, built once from the ports and grouped by idea. Front ends and jobs
reach each group by name (`service.gdap.request(...)`, `service.bulk.confirm(...)`).

Nothing here sends by hand: every use case writes what it causes into the delivery ledger in
its unit of work, and the store runs `delivery.deliver_pending` after the outermost commit
(`Store.after_commit`), whichever front end or job made the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from bot.access import AccessControl
from bot.bulk import BulkEnrollment
from bot.closing import Closing
from bot.customers import Customers
from bot.delivery import LedgerSender
from bot.editing import Editing
from bot.enrollment import Enrollment
from bot.exports import Exports
from bot.gdap import GdapRequests
from bot.hub_access import HubAccess
from bot.ports import (
    Clock,
    CustomerSimulator,
    Hub,
    Mailer,
    MailOutbox,
    MicrosoftPartner,
    Notifier,
    Store,
)
from bot.reminders import Reminders
from bot.sandbox import SandboxDriver
from bot.schedule import SYNC_FIRST
from bot.subscriptions import Subscriptions
from bot.sync import MicrosoftSync
from bot.transfers import Transfers
from bot.wiring import Wiring


class OnboardingService:
    def __init__(
        self,
        store: Store,
        microsoft: MicrosoftPartner,
        mailer: Mailer,
        hub: Hub,
        clock: Clock,
        *,
        partner_name: str = "Your Microsoft partner",
        transfer_link: str = "https://partner.microsoft.com/dashboard/v2/customers/list",
        simulator: CustomerSimulator | None = None,
        outbox: MailOutbox | None = None,
        page_size: int = 10,
        sync_after: timedelta | None = SYNC_FIRST,
        notifiers: list[Notifier] | None = None,
        notice_burst: int = 4,
        notice_every: float = 1.0,
        notice_merge_over: int = 5,
        deliver_after_commit: bool = True,
        bootstrap_admins: frozenset[str] = frozenset(),
        organisations: dict[str, frozenset[str]] | None = None,
        role_groups: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.page_size = page_size
        self.access = AccessControl(store, clock, bootstrap_admins, dict(organisations or {}))
        self.wiring = Wiring(
            store,
            clock,
            microsoft,
            hub,
            self.access,
            partner_name,
            transfer_link,
            sync_after,
            dict(role_groups or {}),
        )
        self.customers = Customers(self.wiring, page_size, outbox)
        self.enrollment = Enrollment(self.wiring, self.customers)
        self.editing = Editing(self.wiring, self.customers)
        self.bulk = BulkEnrollment(self.wiring, self.customers)
        self.gdap = GdapRequests(self.wiring, self.customers)
        self.hub_access = HubAccess(self.wiring, self.customers)
        self.transfers = Transfers(self.wiring, self.customers)
        self.reminders = Reminders(self.wiring, self.customers)
        self.closing = Closing(self.wiring, self.customers)
        self.exports = Exports(self.wiring)
        self.sync = MicrosoftSync(self.wiring)
        self.subscriptions = Subscriptions(self.wiring)
        self.delivery = LedgerSender(
            store,
            clock,
            mailer,
            list(notifiers or []),
            notice_burst,
            notice_every,
            notice_merge_over,
        )
        self.sandbox = (
            SandboxDriver(self.wiring, self.customers, self.sync, simulator) if simulator else None
        )
        if deliver_after_commit:
            store.after_commit(self.delivery.deliver_pending)

    @property
    def sync_after(self) -> timedelta | None:
        return self.wiring.sync_after

    @property
    def notifiers(self) -> list[Notifier]:
        """The chat platforms notices go to; `app.py` adds each once it is built."""
        return self.delivery.notifiers
