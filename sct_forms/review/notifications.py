"""Who is told what after a workflow step: emails added to the step's own transaction."""

from __future__ import annotations

from sqlalchemy import select

from sct_forms.domain import workflow
from sct_forms.domain.roles import Role
from sct_forms.extensions import db
from sct_forms.mail import outbox
from sct_forms.models import Toolkit, User
from sct_forms.review.queries import active_reviewers


def town_staff(toolkit: Toolkit) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(
                User.role == Role.STAFF,
                User.active,
                User.municipality_id == toolkit.municipality_id,
            )
        )
    )


def after_submission(toolkit: Toolkit) -> None:
    """Tell the reviewers (the assigned one, on a resubmission); the caller commits."""
    reviewers = active_reviewers()
    if toolkit.assigned_reviewer is not None and toolkit.assigned_reviewer.active:
        reviewers = [toolkit.assigned_reviewer]
    outbox.notify_reviewers_of_submission(
        toolkit, reviewers, outbox.public_url("review.toolkit_review", toolkit_id=toolkit.id)
    )


def after_decision(toolkit: Toolkit, open_requests: int) -> None:
    """Tell the town's staff what was decided and what to do next; the caller commits."""
    if not workflow.is_decision(toolkit.state):
        return
    outbox.notify_town_of_decision(
        toolkit,
        town_staff(toolkit),
        toolkit.state,
        outbox.public_url("toolkits.review", toolkit_id=toolkit.id),
        open_requests=open_requests,
        reason=toolkit.decision_reason,
    )
