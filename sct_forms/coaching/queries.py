"""Read-side queries of equity coaching: requests, assignments, coaches and their comments."""

from __future__ import annotations

from sqlalchemy import select

from sct_forms.domain.coaching import RequestStatus
from sct_forms.domain.roles import Role
from sct_forms.extensions import db
from sct_forms.models import (
    CoachAssignment,
    CoachComment,
    CoachRequest,
    Municipality,
    Toolkit,
    User,
)

RECENT_REQUESTS = 50


def open_request_of(town: Municipality) -> CoachRequest | None:
    """The town's request still waiting for a coach, if any (one at a time)."""
    return db.session.scalar(
        select(CoachRequest)
        .where(
            CoachRequest.municipality_id == town.id,
            CoachRequest.status == RequestStatus.OPEN,
        )
        .order_by(CoachRequest.id.desc())
        .limit(1)
    )


def requests_of_town(town: Municipality, limit: int = 10) -> list[CoachRequest]:
    return list(
        db.session.scalars(
            select(CoachRequest)
            .where(CoachRequest.municipality_id == town.id)
            .order_by(CoachRequest.created_at.desc(), CoachRequest.id.desc())
            .limit(limit)
        )
    )


def open_requests() -> list[CoachRequest]:
    """Requests waiting for a coach, oldest first: the first asked is the first served."""
    return list(
        db.session.scalars(
            select(CoachRequest)
            .where(CoachRequest.status == RequestStatus.OPEN)
            .order_by(CoachRequest.created_at, CoachRequest.id)
        )
    )


def recent_closed_requests(limit: int = RECENT_REQUESTS) -> list[CoachRequest]:
    """Requests assigned or withdrawn, newest first."""
    return list(
        db.session.scalars(
            select(CoachRequest)
            .where(CoachRequest.status != RequestStatus.OPEN)
            .order_by(CoachRequest.created_at.desc(), CoachRequest.id.desc())
            .limit(limit)
        )
    )


def active_coaches() -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.role == Role.COACH, User.active).order_by(User.name, User.id)
        )
    )


def towns() -> list[Municipality]:
    """Every town, by name: any of them may be given a coach."""
    return list(db.session.scalars(select(Municipality).order_by(Municipality.name)))


def admins() -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.role == Role.ADMIN, User.active).order_by(User.id)
        )
    )


def town_staff(municipality_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.STAFF, User.active, User.municipality_id == municipality_id)
            .order_by(User.id)
        )
    )


def assignments() -> list[CoachAssignment]:
    """Every coach-to-town assignment, by town then coach."""
    return list(
        db.session.scalars(
            select(CoachAssignment)
            .join(Municipality, CoachAssignment.municipality_id == Municipality.id)
            .join(User, CoachAssignment.coach_id == User.id)
            .order_by(Municipality.name, User.name)
        )
    )


def assignment(coach_id: int, municipality_id: int) -> CoachAssignment | None:
    return db.session.scalar(
        select(CoachAssignment).where(
            CoachAssignment.coach_id == coach_id,
            CoachAssignment.municipality_id == municipality_id,
        )
    )


def coaches_of(town: Municipality) -> list[User]:
    """The active coaches assigned to ``town``."""
    return list(
        db.session.scalars(
            select(User)
            .join(CoachAssignment, CoachAssignment.coach_id == User.id)
            .where(CoachAssignment.municipality_id == town.id, User.active)
            .order_by(User.name)
        )
    )


def towns_of_coach(coach: User) -> list[Municipality]:
    return list(
        db.session.scalars(
            select(Municipality)
            .join(CoachAssignment, CoachAssignment.municipality_id == Municipality.id)
            .where(CoachAssignment.coach_id == coach.id)
            .order_by(Municipality.name)
        )
    )


def toolkits_of_town(town: Municipality, cycle_id: int) -> list[Toolkit]:
    """Every record of the town in the cycle, whatever its state."""
    return list(
        db.session.scalars(
            select(Toolkit)
            .where(Toolkit.municipality_id == town.id, Toolkit.cycle_id == cycle_id)
            .order_by(Toolkit.created_at, Toolkit.id)
        )
    )


def coach_comments(toolkit: Toolkit, step_key: str | None = None) -> list[CoachComment]:
    """Coaches' comments on a record, oldest first: those on one step, or every one."""
    query = select(CoachComment).where(CoachComment.toolkit_id == toolkit.id)
    if step_key is not None:
        query = query.where(CoachComment.step_key == step_key)
    return list(db.session.scalars(query.order_by(CoachComment.created_at, CoachComment.id)))
