"""Inviting people: the account is created without a password, and its owner sets one by email.

Nobody but the owner ever knows the password, and an address that does not work never gets
an account that can be used.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from sct_forms import audit
from sct_forms.admin.services import AccountError, create_user
from sct_forms.auth import tokens
from sct_forms.auth.account_emails import queue_account_email
from sct_forms.auth.passwords import has_usable_password, unusable_password_hash
from sct_forms.auth.services import normalise_email
from sct_forms.domain.accounts import may_invite
from sct_forms.domain.roles import Role, is_town_staff
from sct_forms.extensions import db
from sct_forms.mail.outbox import public_url
from sct_forms.models import Municipality, User

# Who may invite whom is domain.accounts.may_invite (administrators anyone, town staff their own
# town's staff); the command line passes invited_by=None: whoever runs it has the server, and
# with it the database.


def invitation_lifetime() -> timedelta:
    return timedelta(days=current_app.config["INVITATION_DAYS"])


def invite_user(
    email: str,
    name: str,
    role: str,
    town: Municipality | None,
    invited_by: User | None,
    *,
    language: str = "en",
) -> User:
    """Create an account without a password and email its owner a link to set one.

    Inviting again someone who has not accepted yet sends a new link; the old one stops working.
    The caller commits: the email is queued in the same transaction, and sent once it commits.
    """
    town_id = town.id if town is not None else None
    if invited_by is not None and not may_invite(invited_by, role, town_id):
        raise AccountError(
            "only administrators can invite people, and town staff their own town's staff",
            code="refused",
            status=403,
        )
    email = normalise_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user, _ = create_user(
            email=email,
            name=name,
            role=role,
            municipality=town,
            language=language,
            actor=invited_by,
        )
        user.password_hash = unusable_password_hash()
        again = False
    else:
        _check_reinvitation(user, role, town)
        again = True
    raw = tokens.issue(user, "invite", invitation_lifetime())
    inviter = (invited_by.name or invited_by.email) if invited_by is not None else None
    queue_account_email(
        user,
        "invitation",
        kind="account.invitation",
        link=public_url("account.accept_invitation", token=raw),
        days=current_app.config["INVITATION_DAYS"],
        role=role,
        town=town.name if town is not None and role == Role.STAFF else None,
        inviter=inviter,
    )
    audit.record(
        "user.reinvited" if again else "user.invited",
        actor=invited_by,
        object_type="user",
        object_id=user.id,
        municipality_id=user.municipality_id,
        role=role,
        email=email,
    )
    return user


def _check_reinvitation(user: User, role: str, town: Municipality | None) -> None:
    if has_usable_password(user.password_hash):
        raise AccountError(
            f"an account for {user.email} already exists and has a password; "
            "its owner can use 'Forgot your password?' on the sign-in page",
            code="has_password",
            field="email",
        )
    if not user.active:
        raise AccountError(
            f"the account for {user.email} is deactivated", code="deactivated", field="email"
        )
    if user.role != role:
        raise AccountError(
            f"{user.email} was invited as {user.role}; invite them again with --role {user.role}",
            code="invited_as_other_role",
            field="role",
        )
    if role == Role.STAFF and town is not None and not is_town_staff(user, town.id):
        raise AccountError(
            f"{user.email} was invited for {user.municipality.name}, not {town.name}",
            code="invited_for_other_town",
            field="town",
        )
