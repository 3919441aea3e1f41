"""The outbox mail backend: mail is kept in the database and shown by `outbox`, never sent.

It is the embedded default, so a demo or a test run can never mail a real customer.
"""

from __future__ import annotations

from sqlalchemy import Engine, insert, select

from bot.ports import Clock
from bot.records import Mail, SentMail
from storage.models import OutboxMailRow
from storage.transactions import joined


class OutboxMailer:
    """Implements `bot.ports.Mailer`, `bot.ports.StoreMailer` and `bot.ports.MailOutbox`."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def send(self, mail: Mail) -> None:
        self.send_all([mail])

    def send_all(self, mails: list[Mail]) -> None:
        """Implements `bot.ports.StoreMailer`: one executemany in the caller's transaction."""
        if not mails:
            return
        at = self.clock.now()
        with joined(self.engine, write=True) as conn:
            conn.execute(
                insert(OutboxMailRow),
                [
                    {
                        "at": at,
                        "to_address": mail.to,
                        "subject": mail.subject,
                        "body": mail.body,
                        "link": mail.link,
                        "onboarding_id": mail.onboarding_id,
                        "kind": mail.kind,
                    }
                    for mail in mails
                ],
            )

    def list(self, onboarding_id: str | None = None, limit: int = 50) -> list[SentMail]:
        """Newest first; only one customer's mail when `onboarding_id` is given."""
        stmt = select(OutboxMailRow)
        if onboarding_id is not None:
            stmt = stmt.where(OutboxMailRow.c.onboarding_id == onboarding_id)
        stmt = stmt.order_by(OutboxMailRow.c.at.desc(), OutboxMailRow.c.id.desc()).limit(limit)
        with joined(self.engine, write=False) as conn:
            rows = conn.execute(stmt).all()
        return [
            SentMail(
                row.at,
                Mail(row.to_address, row.subject, row.body, row.link, row.onboarding_id, row.kind),
            )
            for row in rows
        ]
