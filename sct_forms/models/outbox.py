"""The email outbox: messages are queued with the change they report and sent afterwards."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sct_forms.extensions import db
from sct_forms.models.types import UTCDateTime, utcnow

LAST_ERROR_MAX = 500


class OutboxMessage(db.Model):
    """One email to one recipient, kept after sending so admins can see what went out."""

    __tablename__ = "outbox_message"
    # Delivery looks for unsent messages that are due; this index serves exactly that query.
    __table_args__ = (Index("ix_outbox_message_due", "sent_at", "send_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # A dotted name such as "toolkit.submitted", like the audit trail's actions.
    kind: Mapped[str] = mapped_column(String(60))
    to_address: Mapped[str] = mapped_column(String(254))
    to_name: Mapped[str] = mapped_column(String(120), default="")
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(LAST_ERROR_MAX))
    # Lets an admin trace a message back to its toolkit; the message outlives a deleted toolkit.
    toolkit_id: Mapped[int | None] = mapped_column(
        ForeignKey("toolkit.id", ondelete="SET NULL"), index=True
    )

    def status(self, max_attempts: int) -> str:
        """Whether the message was sent, is waiting for a (next) try, or failed too often."""
        if self.sent_at is not None:
            return "sent"
        if self.attempts >= max_attempts:
            return "gave_up"
        return "waiting"

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.kind} to {self.to_address}>"
