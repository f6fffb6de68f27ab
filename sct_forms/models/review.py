"""Review of submitted toolkits: frozen revisions, verdicts, comments and change requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sct_forms.extensions import db
from sct_forms.models.toolkits import Toolkit
from sct_forms.models.types import UTCDateTime, utcnow
from sct_forms.models.users import User


class Revision(db.Model):
    """What the town submitted, frozen: answers, definition version and evidence hashes."""

    __tablename__ = "revision"
    __table_args__ = (UniqueConstraint("toolkit_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    toolkit_id: Mapped[int] = mapped_column(ForeignKey("toolkit.id", ondelete="CASCADE"))
    number: Mapped[int]
    definition_version: Mapped[str] = mapped_column(String(20))
    # {"answers": {step: {...}}, "evidence": [{"id", "step_key", "title", "alt_text", "sha256",
    #   "display_name", "size", "kind", "mime_type", "storage_name", "print_storage_name"}]}
    snapshot: Mapped[dict] = mapped_column(JSON)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    toolkit: Mapped[Toolkit] = relationship()
    submitted_by: Mapped[User] = relationship()

    @property
    def answers(self) -> dict:
        return self.snapshot.get("answers", {})

    @property
    def evidence(self) -> list[dict]:
        return self.snapshot.get("evidence", [])


class StepVerdict(db.Model):
    """A reviewer's judgement of one step of one revision."""

    __tablename__ = "step_verdict"
    __table_args__ = (UniqueConstraint("toolkit_id", "revision_number", "step_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    toolkit_id: Mapped[int] = mapped_column(ForeignKey("toolkit.id", ondelete="CASCADE"))
    revision_number: Mapped[int]
    step_key: Mapped[str] = mapped_column(String(40))
    verdict: Mapped[str] = mapped_column(String(20))  # "meets" or "needs_changes"
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewComment(db.Model):
    """A comment on a toolkit or one of its steps, for the town or for reviewers only."""

    __tablename__ = "review_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    toolkit_id: Mapped[int] = mapped_column(
        ForeignKey("toolkit.id", ondelete="CASCADE"), index=True
    )
    revision_number: Mapped[int]
    step_key: Mapped[str | None] = mapped_column(String(40))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    # "town": staff of the town see it; "internal": reviewers and admins only.
    visibility: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship()


class ChangeRequest(db.Model):
    """Something the town must change, pinned to a step, a question or an evidence file."""

    __tablename__ = "change_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    toolkit_id: Mapped[int] = mapped_column(
        ForeignKey("toolkit.id", ondelete="CASCADE"), index=True
    )
    revision_number: Mapped[int]
    step_key: Mapped[str] = mapped_column(String(40))
    # A question path ("goals", "activities.0.date"), "evidence:<sha256>", or None: the step.
    target: Mapped[str | None] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    # open -> addressed (the town answered) -> closed (the reviewer agreed)
    status: Mapped[str] = mapped_column(String(12), default="open")
    town_response: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    addressed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    addressed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    addressed_by: Mapped[User | None] = relationship(foreign_keys=[addressed_by_id])
