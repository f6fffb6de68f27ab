"""Reviewers: the queue, the review page, the changes view, claims and decisions.

Every POST goes through a form from ``review.forms``; what may be done is the service's answer
(``review.services``, asking ``domain.claims``), never the view's.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from sct_forms.access import roles_required, visible_or_404
from sct_forms.auth.services import safe_next_url
from sct_forms.cycles import current_cycle
from sct_forms.domain.roles import REVIEWING_ROLES, Role
from sct_forms.errors import render_error
from sct_forms.extensions import db
from sct_forms.forms import ButtonForm, TransitionForm
from sct_forms.i18n import get_locale_language
from sct_forms.i18n import gettext as _
from sct_forms.inputs import bounded_int
from sct_forms.models import Category, ChangeRequest, Toolkit, User
from sct_forms.review import queries, services
from sct_forms.review.forms import (
    AssignForm,
    ChangeRequestForm,
    CommentForm,
    DecisionForm,
    TakeOverForm,
    VerdictForm,
)
from sct_forms.review.messages import workflow_message
from sct_forms.review.pages import review_page_context
from sct_forms.review.snapshots import compare
from sct_forms.templating import render
from sct_forms.toolkits.services import definition_for

bp = Blueprint("review", __name__, url_prefix="/review")
REVIEW_ROLES = REVIEWING_ROLES


def _int_arg(name: str) -> int | None:
    """A whole-number query parameter the database can hold; None when missing or not one."""
    return request.args.get(name, type=bounded_int)


def _number_arg_or_404(name: str) -> int | None:
    """A revision number from the query: None when absent, 404 when it cannot be one."""
    raw = request.args.get(name, "")
    if raw == "":
        return None
    try:
        return bounded_int(raw)
    except ValueError:
        abort(404)


@bp.get("/queue")
@roles_required(*REVIEW_ROLES)
def queue():
    return _queue_page()


def _queue_page(error: str | None = None, form: AssignForm | None = None, status: int = 200):
    cycle = current_cycle(date.today())
    status_filter, age = request.args.get("status"), _int_arg("age")
    filters = queries.QueueFilters(
        town_id=_int_arg("town"),
        state=status_filter if status_filter in queries.QUEUE_STATES else None,
        category=_int_arg("category"),
        min_days=age if age is not None and age <= queries.MAX_AGE_DAYS else None,
    )
    # A page number that is missing, not a number or past the end shows the first or last page.
    number = request.args.get("page", type=bounded_int)
    page = queries.review_queue(cycle, filters, number) if cycle else None
    items = page.items if page else []
    categories = db.session.query(Category).order_by(Category.number).all()
    html = render(
        "review/queue.html",
        block="queue_results",
        cycle=cycle,
        page=page,
        items=items,
        filters=filters,
        # What each link of the page repeats so that the reviewer stays on the same list.
        queue_args=filters.query_args(),
        queue_states=queries.QUEUE_STATES,
        towns=queries.queue_towns(cycle) if cycle else [],
        categories=categories,
        reviewers=queries.active_reviewers(),
        held_since=queries.held_since([t.id for t in items]),
        today=date.today(),
        error=error,
        failed_form=form,
    )
    return html, status


def _toolkit(toolkit_id: int) -> Toolkit:
    toolkit = visible_or_404(Toolkit, toolkit_id)
    if toolkit.revision_count == 0:
        abort(404)  # nothing submitted yet: nothing to review
    return toolkit


@bp.get("/toolkits/<int:toolkit_id>")
@roles_required(*REVIEW_ROLES)
def toolkit_review(toolkit_id: int):
    return _review_page(_toolkit(toolkit_id), _number_arg_or_404("revision"))


def _review_page(
    toolkit: Toolkit,
    number: int | None = None,
    *,
    error: str | None = None,
    kept: tuple[str, str | None, ButtonForm] | None = None,
    status: int = 200,
):
    """The review page; ``kept`` is (form kind, step, form) of a refused post, shown as typed."""
    frozen = services.revision(toolkit, number or toolkit.revision_count)
    if frozen is None:
        abort(404)
    context = review_page_context(toolkit, frozen, get_locale_language())

    def kept_form(kind: str, step_key: str | None = None) -> ButtonForm | None:
        return kept[2] if kept is not None and kept[:2] == (kind, step_key) else None

    return render(
        "review/toolkit.html",
        error=error,
        failed_form=kept[2] if kept else None,
        kept_form=kept_form,
        **context,
    ), status


def _invalid(toolkit: Toolkit, form: ButtonForm, kind: str, step_key: str | None = None):
    """The page again, with what was typed and what is wrong with it."""
    form.anchor(step_key)
    return _review_page(toolkit, kept=(kind, step_key, form), status=422)


def _back(toolkit: Toolkit, anchor: str = ""):
    return redirect(url_for("review.toolkit_review", toolkit_id=toolkit.id) + anchor, 303)


def _refused(
    toolkit: Toolkit,
    error: services.WorkflowError,
    form: ButtonForm | None = None,
    kind: str = "",
    step_key: str | None = None,
):
    if error.status == 403:
        abort(403)
    message = workflow_message(error.code, error.params)
    if error.status == 409:
        return render_error(409, message)
    if form is not None:
        form.anchor(step_key)
    kept = (kind, step_key, form) if form is not None else None
    return _review_page(toolkit, error=message, kept=kept, status=422)


# --- claims -----------------------------------------------------------------------------------


@bp.post("/toolkits/<int:toolkit_id>/claim")
@roles_required(Role.REVIEWER)
def claim(toolkit_id: int):
    toolkit = _toolkit(toolkit_id)
    form = TransitionForm()
    if not form.validate():
        return _invalid(toolkit, form, "claim")
    try:
        services.start_review(toolkit, current_user, form.expected_state.data or None)
    except services.WorkflowError as error:
        return _refused(toolkit, error)
    flash(_("You are reviewing this toolkit."), "info")
    return _back(toolkit)


@bp.post("/toolkits/<int:toolkit_id>/release")
@roles_required(*REVIEW_ROLES)
def release(toolkit_id: int):
    toolkit = _toolkit(toolkit_id)
    form = TransitionForm()
    if not form.validate():
        return _invalid(toolkit, form, "release")
    try:
        services.release(toolkit, current_user, form.expected_state.data or None)
    except services.WorkflowError as error:
        return _refused(toolkit, error)
    flash(_("The toolkit is back in the queue."), "info")
    return redirect(url_for("review.queue"), 303)


@bp.post("/toolkits/<int:toolkit_id>/take-over")
@roles_required(Role.REVIEWER)
def take_over(toolkit_id: int):
    """Another reviewer holds the toolkit; this reviewer takes the review over, openly."""
    toolkit = _toolkit(toolkit_id)
    form = TakeOverForm()
    if not form.validate():
        return _invalid(toolkit, form, "take_over")
    previous = toolkit.assigned_reviewer
    try:
        services.take_over(
            toolkit, current_user, form.expected_reviewer_id.data, form.reason.data or ""
        )
    except services.WorkflowError as error:
        return _refused(toolkit, error, form, "take_over")
    flash(
        _(
            "You are now reviewing this toolkit instead of %(name)s.",
            name=previous.name if previous else _("another reviewer"),
        ),
        "info",
    )
    return _back(toolkit)


@bp.post("/toolkits/<int:toolkit_id>/assign")
@roles_required(*REVIEW_ROLES)
def assign(toolkit_id: int):
    toolkit = _toolkit(toolkit_id)
    form = AssignForm()
    if not form.validate():
        form.anchor(toolkit.id)
        return _queue_page(form=form, status=422)
    reviewer_id = form.reviewer_id.data
    reviewer = db.session.get(User, reviewer_id) if reviewer_id else None
    if reviewer_id and reviewer is None:
        return _queue_page(error=workflow_message("not_a_reviewer", {}), status=422)
    try:
        services.assign(toolkit, reviewer, current_user)
    except services.WorkflowError as error:
        if error.status == 422:
            return _queue_page(error=workflow_message(error.code, error.params), status=422)
        return _refused(toolkit, error)
    return redirect(request.referrer if _same_site_referrer() else url_for("review.queue"), 303)


def _same_site_referrer() -> bool:
    ref = request.referrer or ""
    host = request.host_url
    return ref.startswith(host) and safe_next_url("/" + ref[len(host) :]) is not None


# --- the holder's work ------------------------------------------------------------------------


@bp.post("/toolkits/<int:toolkit_id>/steps/<step_key>/verdict")
@roles_required(*REVIEW_ROLES)
def verdict(toolkit_id: int, step_key: str):
    toolkit = _toolkit(toolkit_id)
    _step_or_404(toolkit, step_key)
    form = VerdictForm()
    if not form.validate():
        return _invalid(toolkit, form, "verdict", step_key)
    try:
        services.set_verdict(toolkit, step_key, form.verdict.data, current_user)
    except services.WorkflowError as error:
        return _refused(toolkit, error, form, "verdict", step_key)
    return _back(toolkit, f"#step-{step_key}")


def _step_or_404(toolkit: Toolkit, step_key: str | None) -> None:
    if step_key is None:
        return
    try:
        definition_for(toolkit).step(step_key)
    except KeyError:
        abort(404)


@bp.post("/toolkits/<int:toolkit_id>/comments")
@roles_required(*REVIEW_ROLES)
def comment(toolkit_id: int):
    toolkit = _toolkit(toolkit_id)
    form = CommentForm()
    step_key = form.step_key.data or None
    _step_or_404(toolkit, step_key)
    if not form.validate():
        return _invalid(toolkit, form, "comment", step_key)
    try:
        services.add_comment(toolkit, step_key, form.body.data, form.visibility.data, current_user)
    except services.WorkflowError as error:
        return _refused(toolkit, error, form, "comment", step_key)
    return _back(toolkit, f"#step-{step_key}" if step_key else "#comments")


@bp.post("/toolkits/<int:toolkit_id>/requests")
@roles_required(*REVIEW_ROLES)
def add_request(toolkit_id: int):
    toolkit = _toolkit(toolkit_id)
    form = ChangeRequestForm()
    step_key = form.step_key.data or ""
    _step_or_404(toolkit, step_key)
    if not form.validate():
        return _invalid(toolkit, form, "request", step_key)
    try:
        services.add_change_request(
            toolkit, step_key, form.target.data, form.body.data, current_user
        )
    except services.WorkflowError as error:
        return _refused(toolkit, error, form, "request", step_key)
    return _back(toolkit, f"#step-{step_key}")


@bp.post("/requests/<int:request_id>/close")
@roles_required(*REVIEW_ROLES)
def close_request(request_id: int):
    change = db.session.get(ChangeRequest, request_id) or abort(404)
    toolkit = _toolkit(change.toolkit_id)
    form = ButtonForm()
    if not form.validate():
        return _invalid(toolkit, form, "close")
    try:
        services.close_request(change, toolkit, current_user)
    except services.WorkflowError as error:
        return _refused(toolkit, error)
    return _back(toolkit, f"#step-{change.step_key}")


@bp.post("/toolkits/<int:toolkit_id>/decision")
@roles_required(*REVIEW_ROLES)
def decision(toolkit_id: int):
    toolkit = _toolkit(toolkit_id)
    form = DecisionForm()
    if not form.validate():
        return _invalid(toolkit, form, "decision")
    try:
        services.decide(
            toolkit,
            form.decision.data,
            current_user,
            form.expected_state.data or None,
            form.reason.data or "",
        )
    except services.WorkflowError as error:
        return _refused(toolkit, error, form, "decision")
    flash(_("Your decision is recorded and the town has been told."), "info")
    return redirect(url_for("review.queue"), 303)


@bp.get("/toolkits/<int:toolkit_id>/changes")
@roles_required(*REVIEW_ROLES)
def changes(toolkit_id: int):
    """What changed between two revisions: answers before/after and evidence by hash."""
    toolkit = _toolkit(toolkit_id)
    to_number = _number_arg_or_404("to") or toolkit.revision_count
    since = _number_arg_or_404("since") or max(1, to_number - 1)
    old, new = services.revision(toolkit, since), services.revision(toolkit, to_number)
    if old is None or new is None:
        abort(404)
    definition = definition_for(toolkit)
    language = get_locale_language()
    step_changes = compare(old.snapshot, new.snapshot, [s.key for s in definition.steps])
    # What the reviewers asked of the revisions in between, each with the town's answer.
    requests = [
        r for r in queries.requests_of(toolkit) if old.number <= r.revision_number < new.number
    ]
    return render(
        "review/changes.html",
        toolkit=toolkit,
        old=old,
        new=new,
        definition=definition,
        language=language,
        step_changes=step_changes,
        requests=requests,
    )
