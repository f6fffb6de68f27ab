"""Who is told what after a workflow step, through the email outbox."""

from __future__ import annotations

from flask import current_app, url_for
from sqlalchemy import select

from sct_forms import notify
from sct_forms.extensions import db
from sct_forms.models import Toolkit, User
from sct_forms.review.queries import active_reviewers
from sct_forms.review.services import open_requests


def public_url(endpoint: str, **values) -> str:  # noqa: ANN003
    """An absolute link for an email, on the address the program publishes."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def town_staff(toolkit: Toolkit) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(
                User.role == "staff", User.active, User.municipality_id == toolkit.municipality_id
            )
        )
    )


def after_submission(toolkit: Toolkit) -> None:
    """Tell the reviewers (the assigned one, on a resubmission) and start delivery."""
    reviewers = active_reviewers()
    if toolkit.assigned_reviewer is not None and toolkit.assigned_reviewer.active:
        reviewers = [toolkit.assigned_reviewer]
    notify.notify_reviewers_of_submission(
        toolkit, reviewers, public_url("review.toolkit_review", toolkit_id=toolkit.id)
    )
    db.session.commit()
    notify.deliver_soon(current_app._get_current_object())  # noqa: SLF001


def after_decision(toolkit: Toolkit) -> None:
    """Tell the town's staff what was decided and what to do next."""
    if toolkit.state not in ("changes_requested", "approved", "not_approved"):
        return
    link = public_url("toolkits.review", toolkit_id=toolkit.id)
    notify.notify_town_of_decision(
        toolkit,
        town_staff(toolkit),
        toolkit.state,
        link,
        open_requests=len([r for r in open_requests(toolkit) if r.status == "open"]),
        reason=toolkit.decision_reason,
    )
    db.session.commit()
    notify.deliver_soon(current_app._get_current_object())  # noqa: SLF001
