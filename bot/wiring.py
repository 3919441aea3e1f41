"""What every use case is given: the store, the clock, the Microsoft side, the hub, who we
are to customers, how soon to poll Microsoft, which partner groups get GDAP roles, and who
may do what. Built once by `app.py`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bot.access import AccessControl
from bot.ports import Clock, Hub, MicrosoftPartner, Store
from bot.schedule import SYNC_FIRST

MAIL_CHANNEL = "mail"  # the ledger channel of mail; chat notices use their platform's name


@dataclass
class Wiring:
    store: Store
    clock: Clock
    microsoft: MicrosoftPartner
    hub: Hub
    access: AccessControl
    partner_name: str = "Your Microsoft partner"
    transfer_link: str = "https://partner.microsoft.com/dashboard/v2/customers/list"
    sync_after: timedelta | None = SYNC_FIRST  # first fallback poll of a waiting step; None: off
    # GDAP_ROLE_GROUPS: role template id -> partner security group object id. Once a
    # relationship is Established, each group is given the approved roles mapped to it.
    role_groups: Mapping[str, str] = field(default_factory=dict)
    _invitation_url: str | None = field(default=None, repr=False)

    def invitation_url(self) -> str:
        """The reseller-relationship link; asked of Microsoft once, it does not change."""
        if self._invitation_url is None:
            self._invitation_url = self.microsoft.reseller_invitation_url()
        return self._invitation_url
