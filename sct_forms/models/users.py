"""Accounts, coach-to-town assignments and failed sign-in records."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sct_forms.domain.roles import Role
from sct_forms.extensions import db
from sct_forms.models.reference import Municipality
from sct_forms.models.types import UTCDateTime, utcnow

ROLES = tuple(role.value for role in Role)
# The constraints are built from Role, word for word the text the migrations gave the database.
_QUOTED_ROLES = ", ".join(f"'{role}'" for role in ROLES)


def new_session_nonce() -> str:
    return secrets.token_urlsafe(16)


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(f"role IN ({_QUOTED_ROLES})", name="role_known"),
        CheckConstraint(
            f"role != '{Role.STAFF}' OR municipality_id IS NOT NULL",
            name="staff_has_municipality",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))
    preferred_language: Mapped[str] = mapped_column(String(5), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    # Whether the program's reminder emails (deadlines, waiting change requests, digests) go out
    # to this person; each person may turn them off.
    reminders_enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Part of the session identity: changing it signs the user out everywhere.
    session_nonce: Mapped[str] = mapped_column(String(40), default=new_session_nonce)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_signed_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    municipality: Mapped[Municipality | None] = relationship()

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class CoachAssignment(db.Model):
    """A coach advises the towns assigned to them and may read their work."""

    __tablename__ = "coach_assignment"
    __table_args__ = (UniqueConstraint("coach_id", "municipality_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The administrator who assigned the coach (None for accounts made with a first town).
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    coach: Mapped[User] = relationship(foreign_keys=[coach_id])
    municipality: Mapped[Municipality] = relationship()


class SignInFailure(db.Model):
    """One failed sign-in; kept in the database so throttling holds across app servers."""

    __tablename__ = "sign_in_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
