"""Read-side queries for the review queue and toolkit history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, joinedload

from sct_forms.admin.paging import Page, paginate
from sct_forms.domain import workflow
from sct_forms.domain.roles import Role
from sct_forms.extensions import db
from sct_forms.models import (
    Action,
    AuditEvent,
    ChangeRequest,
    Cycle,
    Municipality,
    ReviewComment,
    Revision,
    Toolkit,
    User,
    utcnow,
)

QUEUE_STATES = workflow.WITH_REVIEWERS
# "Waiting at least N days" beyond a century means nothing and would overflow the date arithmetic.
MAX_AGE_DAYS = 36500
# The events that give a toolkit its reviewer; the last one says since when they hold it.
CLAIM_EVENTS = ("toolkit.review_started", "toolkit.assigned", "toolkit.review_taken_over")
# Toolkits per page of the queue: a reviewer's screenful, and a page that stays quick to build.
QUEUE_PAGE_SIZE = 50


@dataclass
class QueueFilters:
    town_id: int | None = None
    state: str | None = None
    category: int | None = None
    min_days: int | None = None

    def query_args(self) -> dict[str, int | str]:
        """The filters as the queue's query string writes them (for its page links)."""
        args = {
            "town": self.town_id,
            "status": self.state,
            "category": self.category,
            "age": self.min_days,
        }
        return {name: value for name, value in args.items() if value}


def review_queue(cycle: Cycle, filters: QueueFilters, page: int | None = None) -> Page:
    """Page ``page`` of the toolkits with reviewers in ``cycle``, oldest submission first.

    Two statements whatever the page holds: the count, and the page's toolkits with their town,
    paired action and reviewer loaded in the same query (the rows name all three).
    """
    query = (
        select(Toolkit)
        .join(Toolkit.paired_action)
        .options(
            contains_eager(Toolkit.paired_action),
            joinedload(Toolkit.municipality),
            joinedload(Toolkit.assigned_reviewer),
        )
        .where(Toolkit.cycle_id == cycle.id, Toolkit.state.in_(QUEUE_STATES))
        .order_by(Toolkit.submitted_at, Toolkit.id)
    )
    if filters.town_id:
        query = query.where(Toolkit.municipality_id == filters.town_id)
    if filters.state in QUEUE_STATES:
        query = query.where(Toolkit.state == filters.state)
    if filters.category:
        query = query.where(Action.number.like(f"{filters.category}.%"))
    if filters.min_days:
        query = query.where(Toolkit.submitted_at <= utcnow() - timedelta(days=filters.min_days))
    return paginate(query, page, QUEUE_PAGE_SIZE)


def queue_towns(cycle: Cycle) -> list[Municipality]:
    return list(
        db.session.scalars(
            select(Municipality)
            .join(Toolkit, Toolkit.municipality_id == Municipality.id)
            .where(Toolkit.cycle_id == cycle.id, Toolkit.state.in_(QUEUE_STATES))
            .distinct()
            .order_by(Municipality.name)
        )
    )


def active_reviewers() -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.role == Role.REVIEWER, User.active).order_by(User.name)
        )
    )


# Events the town sees in a toolkit's history; everything else is for reviewers only.
TOWN_VISIBLE_EVENTS = {
    "toolkit.started",
    "toolkit.submitted",
    "toolkit.resubmitted",
    "toolkit.review_started",
    "toolkit.changes_requested",
    "toolkit.approved",
    "toolkit.not_approved",
    "toolkit.withdrawn",
    "toolkit.reopened",
    "toolkit.commented",
    "change_request.created",
    "change_request.answered",
    "change_request.closed",
}
# Saves and uploads are many and small; the history shows the steps of the workflow.
HISTORY_EVENTS = TOWN_VISIBLE_EVENTS | {
    "toolkit.assigned",
    "toolkit.review_taken_over",
    "toolkit.step_verdict",
    "toolkit.released",
}


def timeline(toolkit: Toolkit, *, for_town: bool) -> list[AuditEvent]:
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "toolkit", AuditEvent.object_id == str(toolkit.id))
        .where(AuditEvent.action.in_(TOWN_VISIBLE_EVENTS if for_town else HISTORY_EVENTS))
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    if for_town:
        return [e for e in events if not (e.details or {}).get("internal")]
    return list(events)


def revisions_of(toolkit: Toolkit) -> list[Revision]:
    """Every submitted revision of ``toolkit``, the first first."""
    return list(
        db.session.scalars(
            select(Revision).where(Revision.toolkit_id == toolkit.id).order_by(Revision.number)
        )
    )


def comments_of(toolkit: Toolkit, *, include_internal: bool) -> list[ReviewComment]:
    query = select(ReviewComment).where(ReviewComment.toolkit_id == toolkit.id)
    if not include_internal:
        query = query.where(ReviewComment.visibility == "town")
    return list(db.session.scalars(query.order_by(ReviewComment.created_at, ReviewComment.id)))


def requests_of(toolkit: Toolkit) -> list[ChangeRequest]:
    return list(
        db.session.scalars(
            select(ChangeRequest)
            .where(ChangeRequest.toolkit_id == toolkit.id)
            .order_by(ChangeRequest.id)
        )
    )


def held_since(toolkit_ids: list[int]) -> dict[int, datetime]:
    """Since when each toolkit's reviewer holds it: its last claim, assignment or take-over."""
    if not toolkit_ids:
        return {}
    rows = db.session.execute(
        select(AuditEvent.object_id, func.max(AuditEvent.at))
        .where(
            AuditEvent.object_type == "toolkit",
            AuditEvent.object_id.in_([str(i) for i in toolkit_ids]),
            AuditEvent.action.in_(CLAIM_EVENTS),
        )
        .group_by(AuditEvent.object_id)
    )
    return {int(object_id): at for object_id, at in rows}


def open_request_counts(toolkit_ids: list[int]) -> dict[int, int]:
    """How many change requests wait for the town, per toolkit."""
    if not toolkit_ids:
        return {}
    rows = db.session.execute(
        select(ChangeRequest.toolkit_id, func.count(ChangeRequest.id))
        .where(ChangeRequest.toolkit_id.in_(toolkit_ids), ChangeRequest.status == "open")
        .group_by(ChangeRequest.toolkit_id)
    )
    return dict(rows.all())
