"""Reminders already sent, so that each reminder reaches each person once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sct_forms.extensions import db
from sct_forms.models.types import UTCDateTime, utcnow


class ReminderSent(db.Model):
    """One reminder of one kind, about one thing, queued for one person.

    ``subject_key`` names what the reminder is about and when, such as "toolkit:12:deadline-7"
    or "queue:2026-W48"; the unique constraint makes a second run of the schedule a no-op even
    when two workers run it at once.
    """

    __tablename__ = "reminder_sent"
    __table_args__ = (UniqueConstraint("kind", "user_id", "subject_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    subject_key: Mapped[str] = mapped_column(String(80))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The outbox row the reminder became (kept for the audit of who was told what).
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_message.id"))
