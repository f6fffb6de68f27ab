"""Equity coaching: a town's request for a coach, and the comments a coach leaves on its work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sct_forms.extensions import db
from sct_forms.models.reference import Municipality
from sct_forms.models.toolkits import Toolkit
from sct_forms.models.types import UTCDateTime, utcnow
from sct_forms.models.users import User


class CoachRequest(db.Model):
    """A town staff member asks for an equity coach; an administrator assigns one."""

    __tablename__ = "coach_request"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'assigned', 'withdrawn')", name="status_known"),
        CheckConstraint("meeting IN ('phone', 'video', 'in_person')", name="meeting_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    # What the town wants help with, in its own words.
    topics: Mapped[str] = mapped_column(Text)
    # How the town would like to meet: "phone", "video" or "in_person".
    meeting: Mapped[str] = mapped_column(String(12))
    availability: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    municipality: Mapped[Municipality] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    coach: Mapped[User | None] = relationship(foreign_keys=[coach_id])
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])


class CoachComment(db.Model):
    """Advice a coach leaves on a town's record, on one step or on the whole record."""

    __tablename__ = "coach_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    toolkit_id: Mapped[int] = mapped_column(
        ForeignKey("toolkit.id", ondelete="CASCADE"), index=True
    )
    # Copied from the record so access checks need no join.
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    # None: a comment on the whole record.
    step_key: Mapped[str | None] = mapped_column(String(40))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    toolkit: Mapped[Toolkit] = relationship()
    author: Mapped[User] = relationship()
