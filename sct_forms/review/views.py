"""Reviewers: the queue, the review page, the changes view and decisions."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from sct_forms.access import roles_required, visible_or_404
from sct_forms.errors import render_error
from sct_forms.extensions import db
from sct_forms.i18n import get_locale_language
from sct_forms.i18n import gettext as _
from sct_forms.models import Category, ChangeRequest, Toolkit, User
from sct_forms.reference_data import current_cycle
from sct_forms.review import queries, services
from sct_forms.review.messages import workflow_message
from sct_forms.review.notifications import after_decision
from sct_forms.review.presenters import review_page_context
from sct_forms.review.snapshots import compare
from sct_forms.templating import render
from sct_forms.toolkits.services import definition_for

bp = Blueprint("review", __name__, url_prefix="/review")
REVIEW_ROLES = ("reviewer", "admin")


@bp.get("/queue")
@roles_required(*REVIEW_ROLES)
def queue():
    cycle = current_cycle(date.today())
    filters = queries.QueueFilters(
        town_id=request.args.get("town", type=int),
        state=request.args.get("status") or None,
        category=request.args.get("category", type=int),
        min_days=request.args.get("age", type=int),
    )
    items = queries.review_queue(cycle, filters) if cycle else []
    categories = db.session.query(Category).order_by(Category.number).all()
    return render(
        "review/queue.html",
        block="queue_results",
        cycle=cycle,
        items=items,
        filters=filters,
        towns=queries.queue_towns(cycle) if cycle else [],
        categories=categories,
        reviewers=queries.active_reviewers(),
        today=date.today(),
    )


def _toolkit(toolkit_id: int) -> Toolkit:
    toolkit = visible_or_404(Toolkit, toolkit_id)
    if toolkit.revision_count == 0:
        abort(404)  # nothing submitted yet: nothing to review
    return toolkit


@bp.get("/toolkits/<int:toolkit_id>")
@roles_required(*REVIEW_ROLES)
def toolkit_review(toolkit_id: int, error: str | None = None, status: int = 200):
    toolkit = _toolkit(toolkit_id)
    number = request.args.get("revision", type=int) or toolkit.revision_count
    frozen = services.revision(toolkit, number)
    if frozen is None:
        abort(404)
    context = review_page_context(toolkit, frozen, get_locale_language())
    return render("review/toolkit.html", error=error, **context), status


def _back(toolkit: Toolkit, anchor: str = ""):
    return redirect(url_for("review.toolkit_review", toolkit_id=toolkit.id) + anchor, 303)


def _refused(toolkit: Toolkit, error: services.WorkflowError):
    if error.status == 403:
        abort(403)
    message = workflow_message(error.code, error.params)
    if error.status == 409:
        return render_error(409, message)
    return toolkit_review(toolkit.id, error=message, status=422)


@bp.post("/toolkits/<int:toolkit_id>/claim")
@roles_required("reviewer")
def claim(toolkit_id: int):
    toolkit = _toolkit(toolkit_id)
    try:
        services.start_review(toolkit, current_user, request.form.get("expected_state"))
    except services.WorkflowError as error:
        return _refused(toolkit, error)
    flash(_("You are reviewing this toolkit."), "info")
    return _back(toolkit)


@bp.post("/toolkits/<int:toolkit_id>/release")
@roles_required(*REVIEW_ROLES)
def release(toolkit_id: int):
    toolkit = _toolkit(toolkit_id)
    try:
        services.release(toolkit, current_user, request.form.get("expected_state"))
    except services.WorkflowError as error:
        return _refused(toolkit, error)
    flash(_("The toolkit is back in the queue."), "info")
    return redirect(url_for("review.queue"), 303)


@bp.post("/toolkits/<int:toolkit_id>/assign")
@roles_required(*REVIEW_ROLES)
def assign(toolkit_id: int):
    toolkit = _toolkit(toolkit_id)
    reviewer_id = request.form.get("reviewer_id", type=int)
    reviewer = db.session.get(User, reviewer_id) if reviewer_id else None
    try:
        services.assign(toolkit, reviewer, current_user)
    except services.WorkflowError as error:
        return _refused(toolkit, error)
    return redirect(request.referrer if _same_site_referrer() else url_for("review.queue"), 303)


def _same_site_referrer() -> bool:
    from sct_forms.auth.services import safe_next_url

    ref = request.referrer or ""
    host = request.host_url
    return ref.startswith(host) and safe_next_url("/" + ref[len(host) :]) is not None


@bp.post("/toolkits/<int:toolkit_id>/steps/<step_key>/verdict")
@roles_required(*REVIEW_ROLES)
def verdict(toolkit_id: int, step_key: str):
    toolkit = _toolkit(toolkit_id)
    try:
        services.set_verdict(toolkit, step_key, request.form.get("verdict", ""), current_user)
    except KeyError:
        abort(404)
    except services.WorkflowError as error:
        return _refused(toolkit, error)
    return _back(toolkit, f"#step-{step_key}")


@bp.post("/toolkits/<int:toolkit_id>/comments")
@roles_required(*REVIEW_ROLES)
def comment(toolkit_id: int):
    toolkit = _toolkit(toolkit_id)
    step_key = request.form.get("step_key") or None
    try:
        services.add_comment(
            toolkit,
            step_key,
            request.form.get("body", ""),
            request.form.get("visibility", "town"),
            current_user,
        )
    except KeyError:
        abort(404)
    except services.WorkflowError as error:
        return _refused(toolkit, error)
    return _back(toolkit, f"#step-{step_key}" if step_key else "#comments")


@bp.post("/toolkits/<int:toolkit_id>/requests")
@roles_required(*REVIEW_ROLES)
def add_request(toolkit_id: int):
    toolkit = _toolkit(toolkit_id)
    step_key = request.form.get("step_key", "")
    try:
        services.add_change_request(
            toolkit,
            step_key,
            request.form.get("target"),
            request.form.get("body", ""),
            current_user,
        )
    except KeyError:
        abort(404)
    except services.WorkflowError as error:
        return _refused(toolkit, error)
    return _back(toolkit, f"#step-{step_key}")


@bp.post("/requests/<int:request_id>/close")
@roles_required(*REVIEW_ROLES)
def close_request(request_id: int):
    change = db.session.get(ChangeRequest, request_id) or abort(404)
    toolkit = _toolkit(change.toolkit_id)
    try:
        services.close_request(change, toolkit, current_user)
    except services.WorkflowError as error:
        return _refused(toolkit, error)
    return _back(toolkit, f"#step-{change.step_key}")


@bp.post("/toolkits/<int:toolkit_id>/decision")
@roles_required(*REVIEW_ROLES)
def decision(toolkit_id: int):
    toolkit = _toolkit(toolkit_id)
    choice = request.form.get("decision", "")
    try:
        services.decide(
            toolkit,
            choice,
            current_user,
            request.form.get("expected_state"),
            request.form.get("reason", ""),
        )
    except services.WorkflowError as error:
        return _refused(toolkit, error)
    after_decision(toolkit)
    flash(_("Your decision is recorded and the town has been told."), "info")
    return redirect(url_for("review.queue"), 303)


@bp.get("/toolkits/<int:toolkit_id>/changes")
@roles_required(*REVIEW_ROLES)
def changes(toolkit_id: int):
    """What changed between two revisions: answers before/after and evidence by hash."""
    toolkit = _toolkit(toolkit_id)
    to_number = request.args.get("to", type=int) or toolkit.revision_count
    since = request.args.get("since", type=int) or max(1, to_number - 1)
    old, new = services.revision(toolkit, since), services.revision(toolkit, to_number)
    if old is None or new is None:
        abort(404)
    definition = definition_for(toolkit)
    language = get_locale_language()
    step_changes = compare(old.snapshot, new.snapshot, [s.key for s in definition.steps])
    return render(
        "review/changes.html",
        toolkit=toolkit,
        old=old,
        new=new,
        definition=definition,
        language=language,
        step_changes=step_changes,
    )
