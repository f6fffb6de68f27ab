"""Running accounts from the browser: the list, invitations, role and town, deactivation.

Who may do what is asked of ``domain.accounts`` here, whatever a page shows: administrators run
every account; town staff invite teammates to their own town (``invite_user`` holds that rule).
Every change is audited and commits once. A change of role or town, and a deactivation, end
every session of the person (a new session nonce), as a new password does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select

from sct_forms import audit
from sct_forms.admin.services import AccountError
from sct_forms.auth import tokens
from sct_forms.auth.invitations import invite_user
from sct_forms.auth.passwords import has_usable_password
from sct_forms.domain.accounts import (
    is_demotion,
    may_have_town,
    may_manage_accounts,
    needs_town,
)
from sct_forms.domain.roles import Role
from sct_forms.extensions import db
from sct_forms.models import (
    ROLES,
    AccountToken,
    CoachAssignment,
    Municipality,
    User,
    new_session_nonce,
    utcnow,
)

# Longest search text read from the address; longer searches are cut (it only filters a list).
SEARCH_MAX_LENGTH = 100


class Invitation(enum.StrEnum):
    """Where an account's invitation stands; an account with a password has none."""

    PENDING = "pending"  # the link works until it expires
    EXPIRED = "expired"  # never accepted, and no link works: invite again


@dataclass(frozen=True)
class AccountRow:
    user: User
    invitation: Invitation | None
    invitation_expires_at: datetime | None


@dataclass(frozen=True)
class Filters:
    role: str | None = None
    town_id: int | None = None
    active: bool | None = None
    search: str = ""


def _require_admin(actor: User) -> None:
    if not may_manage_accounts(actor):
        raise AccountError("only administrators manage accounts", code="refused", status=403)


# --- reading --------------------------------------------------------------------------------


def _invitation_ends(user_ids: list[int]) -> dict[int, datetime]:
    """For each account, when its newest unused invitation link expires."""
    if not user_ids:
        return {}
    rows = db.session.execute(
        select(AccountToken.user_id, func.max(AccountToken.expires_at))
        .where(
            AccountToken.user_id.in_(user_ids),
            AccountToken.purpose == "invite",
            AccountToken.used_at.is_(None),
        )
        .group_by(AccountToken.user_id)
    )
    return {user_id: ends_at for user_id, ends_at in rows}


def _rows(users: list[User]) -> list[AccountRow]:
    ends = _invitation_ends([user.id for user in users])
    now = utcnow()
    rows = []
    for user in users:
        if has_usable_password(user.password_hash):
            rows.append(AccountRow(user, None, None))
            continue
        ends_at = ends.get(user.id)
        state = Invitation.PENDING if ends_at is not None and ends_at > now else Invitation.EXPIRED
        rows.append(AccountRow(user, state, ends_at))
    return rows


def accounts(filters: Filters) -> list[AccountRow]:
    """Every account that matches ``filters``, by name."""
    query = select(User).order_by(func.lower(User.name), User.id)
    if filters.role:
        query = query.where(User.role == filters.role)
    if filters.town_id:
        coached = select(CoachAssignment.coach_id).where(
            CoachAssignment.municipality_id == filters.town_id
        )
        query = query.where(or_(User.municipality_id == filters.town_id, User.id.in_(coached)))
    if filters.active is not None:
        query = query.where(User.active == filters.active)
    words = filters.search.strip()[:SEARCH_MAX_LENGTH].lower()
    if words:
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                func.lower(User.name).like(pattern, escape="\\"),
                User.email.like(pattern, escape="\\"),
            )
        )
    return _rows(list(db.session.scalars(query)))


def account_row(user: User) -> AccountRow:
    return _rows([user])[0]


def town_team(town: Municipality) -> list[AccountRow]:
    """The town's staff, active ones first, by name."""
    users = db.session.scalars(
        select(User)
        .where(User.role == Role.STAFF, User.municipality_id == town.id)
        .order_by(User.active.desc(), func.lower(User.name), User.id)
    )
    return _rows(list(users))


def coach_towns(user: User) -> list[Municipality]:
    return list(
        db.session.scalars(
            select(Municipality)
            .join(CoachAssignment, CoachAssignment.municipality_id == Municipality.id)
            .where(CoachAssignment.coach_id == user.id)
            .order_by(Municipality.name)
        )
    )


# --- inviting -------------------------------------------------------------------------------


def invite(
    *, email: str, name: str, role: str, town: Municipality | None, actor: User
) -> tuple[User, bool]:
    """Invite someone (or send a new link to someone who has not accepted yet); commits.

    Returns the account and whether it was invited before. Who may invite whom is
    ``invite_user``'s rule; its refusals are ``AccountError`` with a code and a field.
    """
    email_taken = db.session.scalar(select(User.id).where(User.email == email.strip().lower()))
    user = invite_user(email, name, role, town, actor)
    db.session.commit()
    return user, email_taken is not None


def reinvite(user: User, actor: User) -> User:
    """A new invitation link for someone who has not chosen a password yet; commits."""
    _require_admin(actor)
    town = user.municipality if user.role == Role.STAFF else None
    invite_user(user.email, user.name, user.role, town, actor, language=user.preferred_language)
    db.session.commit()
    return user


# --- role, town, active ---------------------------------------------------------------------


def change_access(user: User, role: str, town: Municipality | None, actor: User) -> bool:
    """Give ``user`` the role ``role`` (and ``town``); commits. False when nothing changed.

    Staff need a town; a coach may be given a town, which is assigned to them; reviewers and
    administrators have none. Leaving the coach role ends the person's coaching assignments.
    """
    _require_admin(actor)
    if role not in ROLES:
        raise AccountError("unknown role", code="unknown_role", field="role")
    if needs_town(role) and town is None:
        raise AccountError("staff accounts need a town", code="town_needed", field="town")
    if not may_have_town(role) and town is not None:
        raise AccountError(
            "only staff accounts belong to a town", code="no_town_for_role", field="town"
        )
    if user.id == actor.id and is_demotion(user, role):
        raise AccountError("you cannot change your own role", code="self_demotion", field="role")
    old_role, old_town_id = user.role, user.municipality_id
    new_town_id = town.id if town is not None and needs_town(role) else None
    coach_town = town if town is not None and role == Role.COACH else None
    adds_coach_town = coach_town is not None and not _is_assigned(user, coach_town)
    if (role, new_town_id) == (old_role, old_town_id) and not adds_coach_town:
        return False
    ended = _end_coaching(user, actor) if old_role == Role.COACH and role != Role.COACH else []
    user.role, user.municipality_id = role, new_town_id
    if adds_coach_town:
        db.session.add(
            CoachAssignment(
                coach_id=user.id, municipality_id=coach_town.id, assigned_by_id=actor.id
            )
        )
    # Whatever the person's open pages allowed is decided again at their next sign-in.
    user.session_nonce = new_session_nonce()
    audit.record(
        "user.role_changed" if role != old_role else "user.town_changed",
        actor=actor,
        object_type="user",
        object_id=user.id,
        municipality_id=new_town_id or old_town_id,
        old_role=old_role,
        role=role,
        old_municipality_id=old_town_id,
        new_municipality_id=new_town_id,
        coach_town_id=coach_town.id if adds_coach_town else None,
        ended_coaching_town_ids=ended,
    )
    db.session.commit()
    return True


def _is_assigned(user: User, town: Municipality) -> bool:
    return (
        db.session.scalar(
            select(CoachAssignment.id).where(
                CoachAssignment.coach_id == user.id, CoachAssignment.municipality_id == town.id
            )
        )
        is not None
    )


def _end_coaching(user: User, actor: User) -> list[int]:
    """End every coaching assignment of ``user``; the town ids, for the audit record."""
    assignments = db.session.scalars(
        select(CoachAssignment).where(CoachAssignment.coach_id == user.id)
    ).all()
    for assignment in assignments:
        audit.record(
            "coaching.assignment_ended",
            actor=actor,
            object_type="coach_assignment",
            object_id=assignment.id,
            municipality_id=assignment.municipality_id,
            coach_id=user.id,
            reason="role_changed",
        )
    db.session.execute(delete(CoachAssignment).where(CoachAssignment.coach_id == user.id))
    return [assignment.municipality_id for assignment in assignments]


def deactivate(user: User, actor: User) -> None:
    """The person can no longer sign in, and every session of theirs ends now; commits.

    Their work, comments and audit records stay as they are.
    """
    _require_admin(actor)
    if user.id == actor.id:
        raise AccountError("you cannot deactivate yourself", code="self_deactivation", status=409)
    if not user.active:
        raise AccountError("already deactivated", code="already_inactive", status=409)
    user.active = False
    user.session_nonce = new_session_nonce()
    tokens.expire_unused(user)
    audit.record(
        "user.deactivated",
        actor=actor,
        object_type="user",
        object_id=user.id,
        municipality_id=user.municipality_id,
    )
    db.session.commit()


def reactivate(user: User, actor: User) -> None:
    """The person may sign in again with their password; commits."""
    _require_admin(actor)
    if user.active:
        raise AccountError("already active", code="already_active", status=409)
    user.active = True
    user.session_nonce = new_session_nonce()
    audit.record(
        "user.reactivated",
        actor=actor,
        object_type="user",
        object_id=user.id,
        municipality_id=user.municipality_id,
    )
    db.session.commit()
