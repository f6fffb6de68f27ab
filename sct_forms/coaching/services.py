"""Equity coaching in action: a town asks for a coach, an administrator assigns one, the coach
advises.

Who may do what is decided here, whatever a page shows: a town's own staff ask for a coach and
withdraw the request, administrators assign and end assignments, a coach comments on the records
of the towns assigned to them. Refusals are ``CoachingError`` with a code the views put in words.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from sct_forms import audit
from sct_forms.coaching import notifications, queries
from sct_forms.domain.coaching import (
    AVAILABILITY_MAX_LENGTH,
    COMMENT_MAX_LENGTH,
    MEETINGS,
    TOPICS_MAX_LENGTH,
    RequestStatus,
)
from sct_forms.domain.roles import Role, is_town_staff
from sct_forms.extensions import db
from sct_forms.inputs import has_control_characters
from sct_forms.models import (
    CoachAssignment,
    CoachComment,
    CoachRequest,
    Municipality,
    Toolkit,
    User,
)
from sct_forms.models.types import utcnow
from sct_forms.toolkits.services import definition_for


class CoachingError(Exception):
    """An action that cannot happen; ``code`` says why, ``status`` is the HTTP answer."""

    def __init__(self, code: str, status: int = 409, **params: Any):
        super().__init__(code)
        self.code, self.status, self.params = code, status, params


def _checked_text(text: str | None, limit: int, field: str) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise CoachingError("empty", 422, field=field)
    if len(text) > limit:
        raise CoachingError("too_long", 422, field=field, max=limit, length=len(text))
    if has_control_characters(text):
        raise CoachingError("control_characters", 422, field=field)
    return text


def is_assigned_coach(user: User, municipality_id: int) -> bool:
    """Whether ``user`` is a coach assigned to the town ``municipality_id``."""
    return (
        user.is_authenticated
        and user.role == Role.COACH
        and queries.assignment(user.id, municipality_id) is not None
    )


def may_request(user: User, town: Municipality) -> bool:
    """Only the town's own staff ask for its coach."""
    return user.is_authenticated and is_town_staff(user, town.id)


def may_comment(user: User, toolkit: Toolkit) -> bool:
    """Only a coach assigned to the record's town leaves advice on it."""
    return is_assigned_coach(user, toolkit.municipality_id)


def _require_admin(user: User) -> None:
    if not (user.is_authenticated and user.role == Role.ADMIN):
        raise CoachingError("refused", 403)


# --- the town ---------------------------------------------------------------------------------


def request_coach(
    town: Municipality, user: User, *, topics: str, meeting: str, availability: str
) -> CoachRequest:
    """Ask for a coach for ``town``; the administrators are told by email."""
    if not may_request(user, town):
        raise CoachingError("refused", 403)
    if queries.open_request_of(town) is not None:
        raise CoachingError("already_open")
    topics = _checked_text(topics, TOPICS_MAX_LENGTH, "topics")
    if meeting not in MEETINGS:
        raise CoachingError("meeting", 422, field="meeting")
    availability = _checked_text(availability, AVAILABILITY_MAX_LENGTH, "availability")
    request = CoachRequest(
        municipality_id=town.id,
        requested_by_id=user.id,
        topics=topics,
        meeting=meeting,
        availability=availability,
        status=RequestStatus.OPEN,
        created_at=utcnow(),
    )
    db.session.add(request)
    db.session.flush()
    audit.record(
        "coaching.requested",
        actor=user,
        object_type="coach_request",
        object_id=request.id,
        municipality_id=town.id,
        meeting=meeting,
    )
    notifications.after_request(request)
    db.session.commit()
    return request


def withdraw_open_request(town: Municipality, user: User) -> CoachRequest:
    """The town takes back its open request before a coach is assigned."""
    if not may_request(user, town):
        raise CoachingError("refused", 403)
    request = queries.open_request_of(town)
    if request is None:
        raise CoachingError("not_open")
    _move(request, RequestStatus.WITHDRAWN)
    audit.record(
        "coaching.request_withdrawn",
        actor=user,
        object_type="coach_request",
        object_id=request.id,
        municipality_id=request.municipality_id,
    )
    db.session.commit()
    return request


def _move(request: CoachRequest, target: RequestStatus, **values: Any) -> None:
    """Open to ``target`` as one compare-and-set update: a second click or a second
    administrator finds the request no longer open, and nothing happens twice."""
    result = db.session.execute(
        update(CoachRequest)
        .where(CoachRequest.id == request.id, CoachRequest.status == RequestStatus.OPEN)
        .values(status=target, **values)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise CoachingError("not_open")
    db.session.refresh(request)


# --- administrators ---------------------------------------------------------------------------


def _active_coach(coach_id: int | None) -> User:
    """The account ``coach_id``, which must be an active coach."""
    coach = db.session.get(User, coach_id) if coach_id else None
    if coach is None or coach.role != Role.COACH or not coach.active:
        raise CoachingError("not_a_coach", 422, field="coach_id")
    return coach


def _give_coach(
    town: Municipality, coach: User, admin: User, request: CoachRequest | None
) -> CoachAssignment:
    """The coach advises the town from now on; its open request, if any, is answered by it.

    Both ways of assigning come here, so the request, the assignment, the audit record and the
    emails to the coach and the town's staff always go together, in one commit.
    """
    if request is not None:
        _move(
            request,
            RequestStatus.ASSIGNED,
            coach_id=coach.id,
            assigned_by_id=admin.id,
            assigned_at=utcnow(),
        )
    assignment = queries.assignment(coach.id, town.id)
    if assignment is None:
        assignment = CoachAssignment(
            coach_id=coach.id, municipality_id=town.id, assigned_by_id=admin.id
        )
        db.session.add(assignment)
        try:
            db.session.flush()
        except IntegrityError:
            # Another administrator assigned this coach to the town a moment earlier.
            db.session.rollback()
            raise CoachingError(
                "already_assigned", 409, field="coach_id", coach_name=coach.name, town=town.name
            ) from None
    audit.record(
        "coaching.assigned",
        actor=admin,
        object_type="coach_request" if request is not None else "coach_assignment",
        object_id=request.id if request is not None else assignment.id,
        municipality_id=town.id,
        coach_id=coach.id,
        assignment_id=assignment.id,
        request_id=request.id if request is not None else None,
    )
    notifications.after_assignment(town, coach, request)
    db.session.commit()
    return assignment


def assign_coach(request: CoachRequest, coach_id: int | None, admin: User) -> CoachAssignment:
    """Give the town of ``request`` the coach ``coach_id``; the coach and the town are told."""
    _require_admin(admin)
    if request.status != RequestStatus.OPEN:
        raise CoachingError("not_open")
    coach = _active_coach(coach_id)
    return _give_coach(request.municipality, coach, admin, request)


def assign_coach_to_town(town: Municipality, coach_id: int | None, admin: User) -> CoachAssignment:
    """Give ``town`` the coach ``coach_id`` without waiting for a request (towns also ask by
    email); an open request of the town is answered by this coach too. Told as ``assign_coach``.
    """
    _require_admin(admin)
    coach = _active_coach(coach_id)
    if queries.assignment(coach.id, town.id) is not None:
        raise CoachingError(
            "already_assigned", 409, field="coach_id", coach_name=coach.name, town=town.name
        )
    return _give_coach(town, coach, admin, queries.open_request_of(town))


def end_assignment(assignment: CoachAssignment, admin: User) -> None:
    """The coach no longer advises the town and can no longer read its records."""
    _require_admin(admin)
    audit.record(
        "coaching.assignment_ended",
        actor=admin,
        object_type="coach_assignment",
        object_id=assignment.id,
        municipality_id=assignment.municipality_id,
        coach_id=assignment.coach_id,
    )
    db.session.delete(assignment)
    db.session.commit()


# --- the coach --------------------------------------------------------------------------------


def add_comment(toolkit: Toolkit, step_key: str | None, body: str, user: User) -> CoachComment:
    """Advice for the town on one step of ``toolkit`` (or on all of it); its staff are told."""
    if not may_comment(user, toolkit):
        raise CoachingError("refused", 403)
    step_number = None
    if step_key:
        try:
            step_number = definition_for(toolkit).step(step_key).number
        except KeyError:
            raise CoachingError("bad_step", 422, field="step_key") from None
    body = _checked_text(body, COMMENT_MAX_LENGTH, "body")
    comment = CoachComment(
        toolkit_id=toolkit.id,
        municipality_id=toolkit.municipality_id,
        step_key=step_key or None,
        author_id=user.id,
        body=body,
        created_at=utcnow(),
    )
    db.session.add(comment)
    db.session.flush()
    audit.record_toolkit_event(
        "toolkit.coach_commented", toolkit, user, comment_id=comment.id, step=step_key or None
    )
    notifications.after_comment(comment, toolkit, step_number)
    db.session.commit()
    return comment
