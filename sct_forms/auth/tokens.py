"""Single-use tokens for emailed account links (password reset, invitation).

The token goes into the link and nowhere else; the database keeps its SHA-256. A token works
once, until it expires, and only for its purpose.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import delete, func, select, update

from sct_forms.extensions import db
from sct_forms.models import AccountToken, User, utcnow

# A token is 32 random bytes (43 URL-safe characters); longer input is no token of ours.
TOKEN_MAX_LENGTH = 64


class TokenState(Enum):
    USABLE = "usable"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True)
class TokenCheck:
    state: TokenState
    token: AccountToken | None = None

    @property
    def usable(self) -> bool:
        return self.state is TokenState.USABLE


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def issue(user: User, purpose: str, lifetime: timedelta) -> str:
    """A new token for ``user``; earlier unused tokens of the purpose stop working.

    Unused invitations are replaced (deleted); earlier reset links are expired but kept, since
    they count towards the limit of reset emails an hour.
    """
    now = utcnow()
    unused = (
        AccountToken.user_id == user.id,
        AccountToken.purpose == purpose,
        AccountToken.used_at.is_(None),
    )
    if purpose == "invite":
        db.session.execute(delete(AccountToken).where(*unused))
    else:
        db.session.execute(
            update(AccountToken)
            .where(*unused, AccountToken.expires_at > now)
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        )
    raw = secrets.token_urlsafe(32)
    db.session.add(
        AccountToken(
            token_hash=digest(raw),
            purpose=purpose,
            user_id=user.id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return raw


def check(raw: str, purpose: str) -> TokenCheck:
    """Whether ``raw`` is a token for ``purpose`` that can still be used, and if not, why."""
    if not raw or len(raw) > TOKEN_MAX_LENGTH:
        return TokenCheck(TokenState.UNKNOWN)
    token = db.session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == digest(raw), AccountToken.purpose == purpose
        )
    )
    if token is None or not token.user.active:
        return TokenCheck(TokenState.UNKNOWN)
    if token.used_at is not None:
        return TokenCheck(TokenState.USED, token)
    if token.expires_at <= utcnow():
        return TokenCheck(TokenState.EXPIRED, token)
    return TokenCheck(TokenState.USABLE, token)


def consume(token: AccountToken) -> bool:
    """Mark ``token`` used; False when another request used it first (or it just expired)."""
    now = utcnow()
    result = db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.id == token.id,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    token.used_at = now
    return True


def issued_since(user: User, purpose: str, since: datetime) -> int:
    """How many tokens of ``purpose`` were issued to ``user`` since ``since``."""
    return db.session.scalar(
        select(func.count(AccountToken.id)).where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == purpose,
            AccountToken.created_at >= since,
        )
    )


def expire_unused(user: User) -> None:
    """End every link still waiting in ``user``'s mailbox (after the password was set)."""
    now = utcnow()
    db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
