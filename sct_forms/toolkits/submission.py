"""The town's side of the workflow: submit, withdraw, reopen, answer change requests.

Every POST goes through a form (``sct_forms.forms``, ``toolkits.forms``), so bad input is a 422
with a message.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user

from sct_forms.access import roles_required, visible_or_404
from sct_forms.auth.services import safe_next_url
from sct_forms.domain.roles import ALL_ROLES, Role
from sct_forms.errors import render_error
from sct_forms.evidence.downloads import stored_file_attachment
from sct_forms.extensions import db
from sct_forms.forms import TransitionForm
from sct_forms.i18n import gettext as _
from sct_forms.models import ChangeRequest, Toolkit
from sct_forms.review import services
from sct_forms.review.messages import workflow_message
from sct_forms.toolkits.forms import RespondForm
from sct_forms.toolkits.pages import review_page

bp = Blueprint("submission", __name__)

# A refused answer to a change request: the request and the form as it was sent.
_Answer = tuple[ChangeRequest, RespondForm]


def _refused(toolkit: Toolkit, error: services.WorkflowError, answer: _Answer | None = None):
    if error.status == 403:
        abort(403)
    message = workflow_message(error.code, error.params)
    if error.status == 409:
        return render_error(409, message)
    return _town_page(toolkit, message, answer)


def _town_page(toolkit: Toolkit, message: str | None, answer: _Answer | None = None):
    """The toolkit's page again with the problem; a refused answer is shown as it was typed."""
    if answer is None:
        return review_page(toolkit, error=message, status=422)
    change, form = answer
    form.anchor(change.id)
    return review_page(toolkit, error=message, status=422, form=form, request_id=change.id)


def _invalid(toolkit: Toolkit, form: TransitionForm):
    """The toolkit's page again, saying what was wrong (the first problem of the form)."""
    return _town_page(toolkit, form.first_error())


def _expected_state(form: TransitionForm) -> str | None:
    return form.expected_state.data or None


@bp.post("/toolkits/<int:toolkit_id>/submit")
@roles_required(Role.STAFF)
def submit(toolkit_id: int):
    toolkit = visible_or_404(Toolkit, toolkit_id)
    form = TransitionForm()
    if not form.validate():
        return _invalid(toolkit, form)
    try:
        frozen = services.submit(toolkit, current_user, _expected_state(form))
    except services.WorkflowError as error:
        return _refused(toolkit, error)
    flash(
        _(
            "Revision %(num)s is sent to the reviewers. You will get an email when they decide.",
            num=frozen.number,
        ),
        "info",
    )
    return redirect(url_for("toolkits.review", toolkit_id=toolkit.id), 303)


@bp.post("/toolkits/<int:toolkit_id>/withdraw")
@roles_required(Role.STAFF)
def withdraw(toolkit_id: int):
    toolkit = visible_or_404(Toolkit, toolkit_id)
    form = TransitionForm()
    if not form.validate():
        return _invalid(toolkit, form)
    try:
        services.withdraw(toolkit, current_user, _expected_state(form))
    except services.WorkflowError as error:
        return _refused(toolkit, error)
    flash(_("The toolkit is withdrawn. You can reopen it later."), "info")
    return redirect(url_for("toolkits.review", toolkit_id=toolkit.id), 303)


@bp.post("/toolkits/<int:toolkit_id>/reopen")
@roles_required(Role.STAFF)
def reopen(toolkit_id: int):
    toolkit = visible_or_404(Toolkit, toolkit_id)
    form = TransitionForm()
    if not form.validate():
        return _invalid(toolkit, form)
    try:
        services.reopen(toolkit, current_user, _expected_state(form))
    except services.WorkflowError as error:
        return _refused(toolkit, error)
    return redirect(url_for("toolkits.review", toolkit_id=toolkit.id), 303)


@bp.post("/change-requests/<int:request_id>/respond")
@roles_required(Role.STAFF)
def respond(request_id: int):
    change = db.session.get(ChangeRequest, request_id) or abort(404)
    toolkit = visible_or_404(Toolkit, change.toolkit_id)
    form = RespondForm()
    if not form.validate():
        return _town_page(toolkit, None, (change, form))
    try:
        services.respond_to_request(
            change, toolkit, current_user, form.response.data or "", addressed=form.addressed.data
        )
    except services.WorkflowError as error:
        return _refused(toolkit, error, (change, form))
    back = safe_next_url(form.back.data) if form.back.data else None
    return redirect(
        (back or url_for("toolkits.review", toolkit_id=toolkit.id)) + f"#request-{change.id}", 303
    )


@bp.get("/toolkits/<int:toolkit_id>/revisions/<int:number>/evidence/<sha256>")
@roles_required(*ALL_ROLES)
def revision_evidence(toolkit_id: int, number: int, sha256: str):
    """A file as it was in a submitted revision, even if the draft has changed since."""
    toolkit = visible_or_404(Toolkit, toolkit_id)
    frozen = services.revision(toolkit, number)
    item = next((e for e in (frozen.evidence if frozen else []) if e["sha256"] == sha256), None)
    if item is None:
        abort(404)
    return stored_file_attachment(
        item["storage_name"], item["mime_type"], item["display_name"], item["sha256"]
    )
