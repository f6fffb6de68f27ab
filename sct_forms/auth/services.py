"""Signing in and out: credentials, throttling, sessions and safe redirects."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import session
from flask_login import current_user, login_user
from sqlalchemy import select

from sct_forms import audit
from sct_forms.access import get_by_id
from sct_forms.auth import clock, sessions, throttle
from sct_forms.auth.passwords import verify_password
from sct_forms.extensions import db
from sct_forms.models import AuditEvent, User
from sct_forms.models.users import new_session_nonce

# Longest stored forms of what a client sends (the columns' sizes).
_EMAIL_MAX = 254
_ADDRESS_MAX = 64


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _has_control_character(text: str) -> bool:
    return any(unicodedata.category(character)[0] == "C" for character in text)


def _storable(text: str, limit: int) -> str:
    """``text`` cut to ``limit``, control characters (NUL included) shown as U+FFFD."""
    if _has_control_character(text):
        text = "".join("\ufffd" if unicodedata.category(c)[0] == "C" else c for c in text)
    return text[:limit]


def load_user_from_session_id(session_id: str) -> User | None:
    """Flask-Login's loader: the id carries a nonce so old sessions stop working."""
    user_id, _, nonce = session_id.partition(":")
    if not user_id.isdigit() or not nonce:
        return None
    user = get_by_id(User, int(user_id))  # read at the start of every signed-in request
    if user is None or user.session_nonce != nonce or not user.active:
        return None
    return user


@dataclass
class SignInResult:
    user: User | None = None
    wait_seconds: int = 0  # refused without checking the password: try again after this

    @property
    def throttled(self) -> bool:
        return self.wait_seconds > 0


def _record(action: str, user: User | None, actor: User | None, **details: Any) -> AuditEvent:
    event = audit.record(
        action,
        actor=actor,
        object_type="user",
        object_id=user.id if user is not None else "unknown",
        **details,
    )
    event.at = clock.now()  # the clock the throttle reads these back with
    return event


def attempt_sign_in(email: str, password: str, remote_addr: str) -> SignInResult:
    """Check credentials; sign the user in on success, record the failure otherwise."""
    email = _storable(normalise_email(email), _EMAIL_MAX)
    address = _storable(remote_addr, _ADDRESS_MAX)
    user = db.session.scalar(select(User).where(User.email == email))
    wait = throttle.wait_seconds(email, address, user)
    if wait:
        _record(
            "user.sign_in_failed",
            user,
            None,
            email=email,
            address=address,
            reason="throttled",
            wait_seconds=wait,
        )
        db.session.commit()
        return SignInResult(wait_seconds=wait)
    password_ok = verify_password(user.password_hash if user else None, password)
    if user is None or not password_ok or not user.active:
        reason = "unknown" if user is None else "wrong_password" if not password_ok else "inactive"
        throttle.record_failure(email, address)
        _record("user.sign_in_failed", user, None, email=email, address=address, reason=reason)
        db.session.commit()
        return SignInResult()
    # A fresh session on sign-in: nothing set before authentication carries over.
    sessions.clear_session()
    login_user(user)
    sessions.start()
    user.last_signed_in_at = clock.now()
    _record("user.signed_in", user, user, address=address)
    db.session.commit()
    return SignInResult(user=user)


def sign_out() -> None:
    """End this session and every copy of it: the user's session nonce changes."""
    if current_user.is_authenticated:
        user = current_user._get_current_object()  # noqa: SLF001
        user.session_nonce = new_session_nonce()
        _record("user.signed_out", user, user)
        db.session.commit()
    sessions.clear_session()


def end_other_sessions(user: User) -> None:
    """End every session of ``user`` but the current one (after a password change).

    The caller commits. The current session, if it is the user's, moves to the new nonce and
    keeps its sign-in time, so its lifetime still counts from the original sign-in.
    """
    user.session_nonce = new_session_nonce()
    if current_user.is_authenticated and current_user.id == user.id:
        signed_in_at = session.get(sessions.SIGNED_IN_AT)
        login_user(user)
        if signed_in_at is not None:
            session[sessions.SIGNED_IN_AT] = signed_in_at


def safe_next_url(target: str | None) -> str | None:
    """``target`` if it is a path on this site; None for anything that could leave it.

    Control characters (CR, LF, NUL, tab ...) are refused, typed or percent-encoded at any
    depth, so a redirect can never carry a header of its own.
    """
    if not target:
        return None
    decoded = target
    for _ in range(5):
        if (
            not decoded.startswith("/")
            or decoded.startswith("//")
            or "\\" in decoded
            or _has_control_character(decoded)
        ):
            return None
        if unquote(decoded) == decoded:
            break
        decoded = unquote(decoded)
    else:
        return None  # encoded more deeply than any real link
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
