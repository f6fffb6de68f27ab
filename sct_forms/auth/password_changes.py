"""Changing a password: by knowing the current one, or through an emailed single-use link.

Every change ends the account's other sessions (a new session nonce), expires the links still
waiting in the mailbox, is recorded in the audit trail, and tells the owner by email.
"""

from __future__ import annotations

from datetime import timedelta
from enum import Enum

from flask import current_app
from sqlalchemy import func, select

from sct_forms import audit
from sct_forms.auth import tokens
from sct_forms.auth.account_emails import queue_account_email, render_only
from sct_forms.auth.password_policy import password_error, personal_words
from sct_forms.auth.passwords import hash_password, verify_password
from sct_forms.auth.services import end_other_sessions, normalise_email
from sct_forms.extensions import db
from sct_forms.mail.outbox import public_url
from sct_forms.models import AuditEvent, User, new_session_nonce, utcnow

# Wrong current passwords on the change page: past this many in the window, wait. Someone
# holding a stolen session must not be able to guess the password behind it at full speed.
CHANGE_MAX_WRONG = 5
CHANGE_WINDOW = timedelta(minutes=15)

PURPOSE_AUDIT = {"reset": "user.password_reset_by_link", "invite": "user.invitation_accepted"}


class WeakPasswordError(ValueError):
    """The new password does not meet the policy; the message says why and what works."""


class LinkNotUsableError(Exception):
    """The link was used (or expired) between opening the page and sending the form."""


def policy_error_for(user: User, password: str) -> str | None:
    town = user.municipality.name if user.municipality is not None else None
    return password_error(password, personal_words(user.email, user.name, town))


def _refuse_weak(user: User, new_password: str) -> None:
    problem = policy_error_for(user, new_password)
    if problem:
        raise WeakPasswordError(problem)


def _store_password(user: User, new_password: str) -> None:
    user.password_hash = hash_password(new_password)
    tokens.expire_unused(user)


def _tell_owner_password_changed(user: User) -> None:
    queue_account_email(
        user,
        "password_changed",
        kind="account.password_changed",
        changed_at=utcnow(),
        forgot_link=public_url("account.forgot_password"),
    )


# --- knowing the current password ----------------------------------------------------------------


class ChangeOutcome(Enum):
    CHANGED = "changed"
    WRONG_CURRENT = "wrong_current"
    TOO_MANY_TRIES = "too_many_tries"


def _recent_wrong_current(user: User) -> int:
    return db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "user.password_change_refused",
            AuditEvent.object_type == "user",
            AuditEvent.object_id == str(user.id),
            AuditEvent.at >= utcnow() - CHANGE_WINDOW,
        )
    )


def change_password(user: User, current_password: str, new_password: str) -> ChangeOutcome:
    """Change the signed-in ``user``'s own password; commits.

    Raises WeakPasswordError for a weak new password. Every other session of the account ends;
    the current one goes on.
    """
    if _recent_wrong_current(user) >= CHANGE_MAX_WRONG:
        return ChangeOutcome.TOO_MANY_TRIES
    if not verify_password(user.password_hash, current_password):
        audit.record(
            "user.password_change_refused",
            actor=user,
            object_type="user",
            object_id=user.id,
            reason="wrong current password",
        )
        db.session.commit()
        return ChangeOutcome.WRONG_CURRENT
    _refuse_weak(user, new_password)
    _store_password(user, new_password)
    # Other sessions end (a new nonce); this browser stays signed in on the new one.
    end_other_sessions(user)
    audit.record("user.password_changed", actor=user, object_type="user", object_id=user.id)
    _tell_owner_password_changed(user)
    db.session.commit()
    return ChangeOutcome.CHANGED


# --- the emailed link ----------------------------------------------------------------------------


def reset_link_lifetime() -> timedelta:
    return timedelta(minutes=current_app.config["PASSWORD_RESET_MINUTES"])


def request_password_reset(email: str, remote_addr: str) -> None:
    """Email a reset link to the account using ``email``, if there is one; commits.

    The caller answers the same whatever happened here, and every path does about the same
    work, so neither the page nor its timing tells whether an account exists.
    """
    email = normalise_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    if user is None or not user.active:
        outcome = "no_account"
    elif _reset_emails_last_hour(user) >= current_app.config["PASSWORD_RESET_EMAILS_PER_HOUR"]:
        outcome = "throttled"
    else:
        outcome = "sent"
    if outcome == "sent":
        raw = tokens.issue(user, "reset", reset_link_lifetime())
        queue_account_email(
            user,
            "password_reset",
            kind="account.password_reset",
            link=public_url("account.reset_password", token=raw),
            minutes=minutes,
        )
    else:
        render_only(
            "password_reset",
            link=public_url("account.reset_password", token="x" * 43),
            minutes=minutes,
        )
    audit.record(
        "user.password_reset_requested",
        actor=None,
        object_type="user",
        object_id=user.id if user is not None else "-",
        email=email,
        outcome=outcome,
        remote_addr=remote_addr,
    )
    db.session.commit()


def _reset_emails_last_hour(user: User) -> int:
    return tokens.issued_since(user, "reset", utcnow() - timedelta(hours=1))


def set_password_from_link(check: tokens.TokenCheck, new_password: str) -> User:
    """Set the password of the link's account and use up the link; commits.

    Raises WeakPasswordError for a weak password (the link stays usable) and LinkNotUsableError
    when the link was used or expired meanwhile.
    """
    token = check.token
    if not check.usable or token is None:
        raise LinkNotUsableError
    user = token.user
    _refuse_weak(user, new_password)
    if not tokens.consume(token):
        db.session.rollback()
        raise LinkNotUsableError
    _store_password(user, new_password)
    # The nonce is part of every session's id: changing it signs the account out everywhere.
    user.session_nonce = new_session_nonce()
    audit.record(
        PURPOSE_AUDIT[token.purpose],
        actor=user,
        object_type="user",
        object_id=user.id,
        municipality_id=user.municipality_id,
        token_id=token.id,
    )
    if token.purpose == "reset":
        _tell_owner_password_changed(user)
    db.session.commit()
    return user


def link_owner_email(check: tokens.TokenCheck) -> str | None:
    """The address a still usable link belongs to, for the password manager's username field."""
    return check.token.user.email if check.usable and check.token is not None else None

