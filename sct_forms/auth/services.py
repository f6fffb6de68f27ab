"""Signing in and out: credentials, throttling, sessions and safe redirects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, session
from flask_login import login_user, logout_user
from sqlalchemy import delete, func, select

from sct_forms import audit
from sct_forms.auth.passwords import verify_password
from sct_forms.extensions import db
from sct_forms.models import SignInFailure, User, utcnow


def normalise_email(email: str) -> str:
    return email.strip().lower()


def load_user_from_session_id(session_id: str) -> User | None:
    """Flask-Login's loader: the id carries a nonce so old sessions stop working."""
    user_id, _, nonce = session_id.partition(":")
    if not user_id.isdigit() or not nonce:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_nonce != nonce or not user.active:
        return None
    return user


@dataclass
class SignInResult:
    user: User | None = None
    throttled: bool = False


def _recent_failures(column, value: str) -> int:  # noqa: ANN001
    window = timedelta(seconds=current_app.config["SIGNIN_WINDOW_SECONDS"])
    since = utcnow() - window
    return db.session.scalar(
        select(func.count(SignInFailure.id)).where(column == value, SignInFailure.at >= since)
    )


def is_throttled(email: str, remote_addr: str) -> bool:
    config = current_app.config
    return (
        _recent_failures(SignInFailure.email, email) >= config["SIGNIN_MAX_FAILURES_PER_EMAIL"]
        or _recent_failures(SignInFailure.remote_addr, remote_addr)
        >= config["SIGNIN_MAX_FAILURES_PER_IP"]
    )


def attempt_sign_in(email: str, password: str, remote_addr: str) -> SignInResult:
    """Check credentials; sign the user in on success, record the failure otherwise."""
    email = normalise_email(email)
    if is_throttled(email, remote_addr):
        return SignInResult(throttled=True)
    user = db.session.scalar(select(User).where(User.email == email))
    password_ok = verify_password(user.password_hash if user else None, password)
    if user is None or not password_ok or not user.active:
        db.session.add(SignInFailure(email=email, remote_addr=remote_addr))
        db.session.commit()
        return SignInResult()
    # A fresh session on sign-in: nothing set before authentication carries over.
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language
    login_user(user)
    user.last_signed_in_at = utcnow()
    db.session.execute(delete(SignInFailure).where(SignInFailure.email == email))
    audit.record("user.signed_in", actor=user, object_type="user", object_id=user.id)
    db.session.commit()
    return SignInResult(user=user)


def sign_out() -> None:
    logout_user()
    session.clear()


def safe_next_url(target: str | None) -> str | None:
    """``target`` if it is a path on this site; None for anything that could leave it."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
