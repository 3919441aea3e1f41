"""The mails the onboarding sends: invitations, approval requests, transfer requests, reminders.

Each mail carries the one link the recipient must open, so the outbox can show it and a
reminder repeats exactly the same request.
"""

from __future__ import annotations

from bot.domain import GDAP_AUTO_EXTEND_DAYS, REMINDER_DELAYS, Onboarding, Step
from bot.gdap_roles import role_names
from bot.records import Mail


def reseller_invitation(
    onboarding: Onboarding, partner_name: str, link: str, reminder: str = ""
) -> Mail:
    subject = f"{reminder}{partner_name} invites {onboarding.name} to a reseller relationship"
    body = (
        f"Hello,\n\n{partner_name} would like to become the Microsoft Cloud Solution Provider "
        f"for {onboarding.name} ({onboarding.domain}).\n\n"
        "A Global Administrator of your Microsoft 365 tenant can accept the invitation and the "
        f"Microsoft Customer Agreement here:\n\n{link}\n\n"
        "Until it is accepted, we cannot manage your subscriptions.\n\n"
        f"Thank you,\n{partner_name}"
    )
    return Mail(onboarding.email, subject, body, link, onboarding.id, "reseller")


def gdap_approval(onboarding: Onboarding, partner_name: str, reminder: str = "") -> Mail:
    gdap = onboarding.gdap
    assert gdap is not None and gdap.approval_url
    roles = "\n".join(f"  - {name}" for name in role_names(gdap.role_ids))
    extend = (
        f"It extends itself by {GDAP_AUTO_EXTEND_DAYS} days when it ends, until you or we end it."
        if gdap.auto_extend
        else "It does not extend itself, because it includes the Global Administrator role."
    )
    subject = f"{reminder}Approve {partner_name}'s admin access request for {onboarding.name}"
    body = (
        f"Hello,\n\n{partner_name} asks for granular delegated admin privileges (GDAP) in the "
        f'tenant of {onboarding.name}: admin relationship "{gdap.relationship_name}" for '
        f"{gdap.duration_days} days, with these least-privilege roles:\n\n{roles}\n\n"
        f"{extend}\n\nA Global Administrator can review and approve it here:\n\n"
        f"{gdap.approval_url}\n\nThank you,\n{partner_name}"
    )
    return Mail(onboarding.email, subject, body, gdap.approval_url, onboarding.id, "gdap")


def p2p_request(onboarding: Onboarding, partner_name: str, link: str, reminder: str = "") -> Mail:
    transfer = onboarding.p2p
    assert transfer is not None and transfer.expires_at is not None
    subject = f"{reminder}Billing transfer request for {onboarding.name} from {partner_name}"
    body = (
        f"Hello {transfer.partner_name},\n\n{partner_name} has requested a partner-to-partner "
        f"transfer of the billing ownership of {onboarding.name} ({onboarding.domain}) "
        "subscriptions from you.\n\nPlease review and accept the transfer in Partner Center "
        f"(Customers > {onboarding.name} > Transfer requests):\n\n{link}\n\n"
        f"The request expires on {transfer.expires_at:%d %B %Y} if no action is taken.\n\n"
        f"Thank you,\n{partner_name}"
    )
    return Mail(transfer.partner_email, subject, body, link, onboarding.id, "p2p")


def reminder_prefix(slot: int | None) -> str:
    if slot is None:
        return "Reminder: "
    return f"Reminder {slot} of {len(REMINDER_DELAYS)}: "


def mail_for_step(
    onboarding: Onboarding,
    step: Step,
    partner_name: str,
    reseller_link: str,
    transfer_link: str,
    reminder: str = "",
) -> Mail:
    """The mail (first or reminder) that asks the recipient to act on a waiting step."""
    if step is Step.RESELLER:
        return reseller_invitation(onboarding, partner_name, reseller_link, reminder)
    if step is Step.GDAP:
        return gdap_approval(onboarding, partner_name, reminder)
    if step is Step.P2P:
        return p2p_request(onboarding, partner_name, transfer_link, reminder)
    raise ValueError(f"{step} has no mail")
