"""Single-use account tokens: password reset and invitation links sent by email.

Only the SHA-256 of a token is stored, so a copy of the database cannot be used to take over
an account; the token itself exists only in the email that was sent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sct_forms.extensions import db
from sct_forms.models.types import UTCDateTime, utcnow
from sct_forms.models.users import User

TOKEN_PURPOSES = ("reset", "invite")


class AccountToken(db.Model):
    """One emailed link: whose account it opens, for what, until when, and whether it was used."""

    __tablename__ = "account_token"
    __table_args__ = (CheckConstraint("purpose IN ('reset', 'invite')", name="purpose_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<AccountToken {self.id} {self.purpose} user={self.user_id}>"
