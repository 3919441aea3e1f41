"""The mails the onboarding sends: invitations, approval requests, transfer requests, reminders.

One template per kind, rendered twice from the same content: a plain-text part and an HTML
part. Each mail carries the one link the recipient must open (as a button and as text), so
the outbox can show it and a reminder repeats exactly the same request. Every value that
came from a user (names, domains, role names) is escaped in the HTML, and isolated so a
right-to-left mark in a customer's name cannot reorder the text around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from bot.domain import GDAP_AUTO_EXTEND_DAYS, REMINDER_DELAYS, Onboarding, Step
from bot.gdap_roles import role_names
from bot.records import Mail

# Characters that change the direction of the text after them: a value holding one is
# wrapped in FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE in text, <bdi> in HTML.
_BIDI_CONTROLS = frozenset(
    "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_FSI, _PDI = "\u2068", "\u2069"

# What each kind of mail is, in the words the log and a bounce notice use.
MAIL_TITLES: dict[str, str] = {
    Step.RESELLER.value: "invitation",
    Step.GDAP.value: "GDAP approval request",
    Step.P2P.value: "transfer request",
}


class _Value(str):
    """A user-supplied value: isolated in text, escaped (and isolated) in HTML."""


def _iso(value: str) -> str:
    return f"{_FSI}{value}{_PDI}" if any(ch in _BIDI_CONTROLS for ch in value) else value


Piece = str | _Value


@dataclass(frozen=True)
class _Line:
    """One paragraph made of literal text and user values."""

    pieces: tuple[Piece, ...]

    def text(self) -> str:
        return "".join(_iso(p) if isinstance(p, _Value) else p for p in self.pieces)

    def html(self) -> str:
        return "".join(
            f'<bdi dir="auto">{escape(p)}</bdi>' if isinstance(p, _Value) else escape(p)
            for p in self.pieces
        )


def _line(*pieces: Piece) -> _Line:
    return _Line(tuple(pieces))


@dataclass(frozen=True)
class _Template:
    greeting: _Line
    before: list[_Line]
    action: str  # the button's label
    link: str
    after: list[_Line] = field(default_factory=list)
    bullets: list[_Line] = field(default_factory=list)  # listed after the first paragraph
    partner: str = ""

    def _contact(self) -> _Line:
        return _line(
            "Questions? Reply to this email to reach ",
            _Value(self.partner),
            ". You receive this email because your address was given to ",
            _Value(self.partner),
            " for this request.",
        )

    def text(self) -> str:
        parts = [self.greeting.text(), ""]
        for i, line in enumerate(self.before):
            parts += [line.text(), ""]
            if i == 0 and self.bullets:
                parts += [f"  - {b.text()}" for b in self.bullets] + [""]
        parts += [f"{self.action}:", self.link, ""]
        for line in self.after:
            parts += [line.text(), ""]
        parts += ["Thank you,", _iso(self.partner), "", "--", self._contact().text()]
        return "\n".join(parts) + "\n"

    def html(self, subject: str) -> str:
        p = '<p style="margin:0 0 16px 0">'
        body = [f"{p}{self.greeting.html()}</p>"]
        for i, line in enumerate(self.before):
            body.append(f"{p}{line.html()}</p>")
            if i == 0 and self.bullets:
                items = "".join(f"<li>{b.html()}</li>" for b in self.bullets)
                body.append(f'<ul style="margin:0 0 16px 0">{items}</ul>')
        href = escape(self.link, quote=True)
        body.append(
            '<table role="presentation" cellpadding="0" cellspacing="0" border="0" '
            'style="margin:8px 0 24px 0"><tr><td style="border-radius:4px;background:#0f6cbd">'
            f'<a href="{href}" style="display:inline-block;padding:12px 24px;color:#ffffff;'
            'text-decoration:none;font-weight:bold;border-radius:4px">'
            f"{escape(self.action)}</a></td></tr></table>"
        )
        body.append(
            f"{p}If the button does not work, copy this link into your browser:<br>"
            f'<a href="{href}" style="color:#0f6cbd;word-break:break-all">{escape(self.link)}</a>'
            "</p>"
        )
        body += [f"{p}{line.html()}</p>" for line in self.after]
        body.append(f"{p}Thank you,<br>{_line(_Value(self.partner)).html()}</p>")
        body.append(
            '<p style="margin:24px 0 0 0;padding-top:12px;border-top:1px solid #e0e0e0;'
            f'color:#616161;font-size:12px">{self._contact().html()}</p>'
        )
        return (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width">'
            f"<title>{escape(subject)}</title></head>\n"
            '<body style="margin:0;padding:24px;font-family:Segoe UI,Helvetica,Arial,sans-serif;'
            'font-size:14px;line-height:1.5;color:#242424">\n'
            '<div style="max-width:600px;margin:0 auto">\n' + "\n".join(body) + "\n</div>\n"
            "</body></html>\n"
        )


def _reminder_line(onboarding: Onboarding, step: Step, reminder: str) -> list[_Line]:
    """The opening of a reminder: which one it is, and since when the request waits."""
    if not reminder:
        return []
    label = reminder.removesuffix(": ").strip()
    started = onboarding.step_started_at(step)
    since = f" We sent it on {started:%d %B %Y}." if isinstance(started, datetime) else ""
    if label == "Reminder":
        return [_line("A reminder: the request below is still waiting for you.", since)]
    return [_line(f"{label}: the request below is still waiting for you.", since)]


def _mail(
    to: str,
    subject: str,
    template: _Template,
    onboarding: Onboarding,
    kind: str,
    reminder: str,
) -> Mail:
    return Mail(
        to,
        subject,
        template.text(),
        template.link,
        onboarding.id,
        kind,
        html=template.html(subject),
        reminder=reminder.removesuffix(": ").strip(),
    )


def reseller_invitation(
    onboarding: Onboarding, partner_name: str, link: str, reminder: str = ""
) -> Mail:
    name, partner = _Value(onboarding.name), _Value(partner_name)
    subject = (
        f"{reminder}{_iso(partner_name)} invites {_iso(onboarding.name)} to a reseller relationship"
    )
    template = _Template(
        greeting=_line("Hello,"),
        before=[
            *_reminder_line(onboarding, Step.RESELLER, reminder),
            _line(
                partner,
                " would like to become the Microsoft Cloud Solution Provider for ",
                name,
                " (",
                _Value(onboarding.domain),
                ").",
            ),
            _line(
                "A Global Administrator of your Microsoft 365 tenant can accept the invitation "
                "and the Microsoft Customer Agreement in the Microsoft 365 admin center."
            ),
        ],
        action="Accept the invitation",
        link=link,
        after=[_line("Until it is accepted, we cannot manage your subscriptions.")],
        partner=partner_name,
    )
    return _mail(onboarding.email, subject, template, onboarding, Step.RESELLER.value, reminder)


def gdap_approval(onboarding: Onboarding, partner_name: str, reminder: str = "") -> Mail:
    gdap = onboarding.gdap
    assert gdap is not None and gdap.approval_url
    name, partner = _Value(onboarding.name), _Value(partner_name)
    extend = (
        f"It extends itself by {GDAP_AUTO_EXTEND_DAYS} days when it ends, until you or we end it."
        if gdap.auto_extend
        else "It does not extend itself, because it includes the Global Administrator role."
    )
    subject = (
        f"{reminder}Approve {_iso(partner_name)}'s admin access request for {_iso(onboarding.name)}"
    )
    template = _Template(
        greeting=_line("Hello,"),
        before=[
            *_reminder_line(onboarding, Step.GDAP, reminder),
            _line(
                partner,
                " asks for granular delegated admin privileges (GDAP) in the tenant of ",
                name,
                ': admin relationship "',
                _Value(gdap.relationship_name),
                f'" for {gdap.duration_days} days, with these least-privilege roles:',
            ),
            _line(extend),
            _line("A Global Administrator can review and approve it in the admin center."),
            *(
                [
                    _line(
                        "Microsoft withdraws the request if it is not approved by "
                        f"{gdap.ends_unapproved_at:%d %B %Y}."
                    )
                ]
                if gdap.ends_unapproved_at
                else []
            ),
        ],
        bullets=[_line(_Value(role)) for role in role_names(gdap.role_ids)],
        action="Review and approve the request",
        link=gdap.approval_url,
        partner=partner_name,
    )
    return _mail(onboarding.email, subject, template, onboarding, Step.GDAP.value, reminder)


def p2p_request(onboarding: Onboarding, partner_name: str, link: str, reminder: str = "") -> Mail:
    transfer = onboarding.p2p
    assert transfer is not None and transfer.expires_at is not None
    name, partner = _Value(onboarding.name), _Value(partner_name)
    subject = (
        f"{reminder}Billing transfer request for {_iso(onboarding.name)} from {_iso(partner_name)}"
    )
    template = _Template(
        greeting=_line("Hello ", _Value(transfer.partner_name), ","),
        before=[
            *_reminder_line(onboarding, Step.P2P, reminder),
            _line(
                partner,
                " has requested a partner-to-partner transfer of the billing ownership of ",
                name,
                " (",
                _Value(onboarding.domain),
                ") subscriptions from you.",
            ),
            _line(
                "Please review and accept the transfer in Partner Center (Customers > ",
                name,
                " > Transfer requests).",
            ),
        ],
        action="Review the transfer in Partner Center",
        link=link,
        after=[
            _line(f"The request expires on {transfer.expires_at:%d %B %Y} if no action is taken.")
        ],
        partner=partner_name,
    )
    return _mail(transfer.partner_email, subject, template, onboarding, Step.P2P.value, reminder)


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


def describe(mail: Mail) -> str:
    """What the mail was, for the log: "the invitation", "reminder 2 of 3 of the invitation"."""
    title = MAIL_TITLES.get(mail.kind, "mail")
    if not mail.reminder:
        return f"the {title}"
    if mail.reminder == "Reminder":
        return f"the reminder of the {title}"
    return f"{mail.reminder.lower()} of the {title}"
