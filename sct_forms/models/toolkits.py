"""The town's records: Equity Toolkits (one per paired action) and the records of actions 1.2
and 1.3, each with answers per step and evidence files.

All three are forms of one machinery (domain.forms names them): a versioned definition, answers
per step, evidence, and the same review workflow. ``form`` says which one a row is.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sct_forms.domain.forms import Form
from sct_forms.domain.workflow import State
from sct_forms.extensions import db
from sct_forms.models.reference import Action, Cycle, Municipality
from sct_forms.models.types import UTCDateTime, utcnow
from sct_forms.models.users import User


class Toolkit(db.Model):
    """One record a town documents in one cycle: an Equity Toolkit on a paired action, or the
    record of action 1.2 or 1.3 (then ``paired_action`` is that action itself)."""

    __tablename__ = "toolkit"
    __table_args__ = (UniqueConstraint("municipality_id", "cycle_id", "form", "paired_action_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    # Which definition family this record is read with (domain.forms.Form).
    form: Mapped[str] = mapped_column(String(20), default=Form.TOOLKIT, server_default=Form.TOOLKIT)
    paired_action_id: Mapped[int] = mapped_column(ForeignKey("action.id"))
    # The toolkit keeps the definition it was started with, even when a newer one is published.
    definition_version: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(24), default=State.DRAFT, index=True)
    # Staff confirmed the paired action is part of this cycle's certification submission.
    confirmed_in_submission: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Review bookkeeping: how many revisions were submitted, when the last one was, who reviews.
    revision_count: Mapped[int] = mapped_column(default=0)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    assigned_reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    # Recertification: the earlier cycle's toolkit whose answers this one started from.
    copied_from_id: Mapped[int | None] = mapped_column(ForeignKey("toolkit.id"))

    municipality: Mapped[Municipality] = relationship()
    cycle: Mapped[Cycle] = relationship()
    paired_action: Mapped[Action] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    updated_by: Mapped[User] = relationship(foreign_keys=[updated_by_id])
    assigned_reviewer: Mapped[User | None] = relationship(foreign_keys=[assigned_reviewer_id])
    copied_from: Mapped[Toolkit | None] = relationship(
        remote_side=[id], foreign_keys=[copied_from_id]
    )
    steps: Mapped[list[StepAnswers]] = relationship(
        back_populates="toolkit", cascade="all, delete-orphan"
    )
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="toolkit", cascade="all, delete-orphan", order_by="Evidence.uploaded_at"
    )

    def answers_by_step(self) -> dict[str, dict]:
        return {step.step_key: step.data for step in self.steps}

    def step_answers(self, step_key: str) -> StepAnswers | None:
        return next((s for s in self.steps if s.step_key == step_key), None)


class StepAnswers(db.Model):
    """The answers of one step, with a version number that every save must name."""

    __tablename__ = "step_answers"
    __table_args__ = (UniqueConstraint("toolkit_id", "step_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    toolkit_id: Mapped[int] = mapped_column(ForeignKey("toolkit.id", ondelete="CASCADE"))
    step_key: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    toolkit: Mapped[Toolkit] = relationship(back_populates="steps")
    updated_by: Mapped[User | None] = relationship()


class Evidence(db.Model):
    """A file that supports one step: a flyer, a sign-in sheet, a photo, survey results."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    toolkit_id: Mapped[int] = mapped_column(
        ForeignKey("toolkit.id", ondelete="CASCADE"), index=True
    )
    # Copied from the toolkit so access checks need no join.
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    step_key: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    alt_text: Mapped[str] = mapped_column(String(500), default="")
    people_consented: Mapped[bool] = mapped_column(default=False)
    kind: Mapped[str] = mapped_column(String(20))
    mime_type: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str] = mapped_column(String(160))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # Random names under instance/evidence/: never guessable, never under static/.
    storage_name: Mapped[str] = mapped_column(String(80), unique=True)
    print_storage_name: Mapped[str | None] = mapped_column(String(80))
    width: Mapped[int | None]
    height: Mapped[int | None]
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    toolkit: Mapped[Toolkit] = relationship(back_populates="evidence")
    uploaded_by: Mapped[User] = relationship()

    @property
    def is_image(self) -> bool:
        return self.kind == "image"
