"""Uploading, downloading and deleting evidence files."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, url_for
from flask_login import current_user

from sct_forms.access import roles_required, toolkit_and_step, visible_or_404
from sct_forms.domain.roles import ALL_ROLES, Role
from sct_forms.evidence import services
from sct_forms.evidence.downloads import stored_file_attachment
from sct_forms.evidence.forms import UploadForm
from sct_forms.evidence.messages import refused_message
from sct_forms.forms import ButtonForm
from sct_forms.models import Evidence
from sct_forms.toolkits import services as toolkit_services
from sct_forms.toolkits.pages import step_page_with_upload_form

bp = Blueprint("evidence", __name__)


@bp.post("/toolkits/<int:toolkit_id>/steps/<step_key>/evidence")
@roles_required(Role.STAFF)
def upload(toolkit_id: int, step_key: str):
    toolkit, definition, step = toolkit_and_step(toolkit_id, step_key)
    if not toolkit_services.may_edit(current_user, toolkit):
        abort(409)
    form = UploadForm()
    if not form.validate():
        return step_page_with_upload_form(toolkit, definition, step, form)
    file = form.file.data
    try:
        services.add_evidence(
            toolkit,
            step.key,
            data=file.read() if file else b"",
            filename=(file.filename or "") if file else "",
            title=form.title.data or "",
            alt_text=form.alt_text.data or "",
            people_consented=form.people_consented.data,
            user=current_user,
        )
    except services.EvidenceRefused as refused:
        form[refused.field].errors.append(refused_message(refused))
        return step_page_with_upload_form(toolkit, definition, step, form)
    return redirect(
        url_for("toolkits.step", toolkit_id=toolkit.id, step_key=step.key, uploaded=1)
        + "#evidence",
        303,
    )


@bp.get("/evidence/<int:evidence_id>/download")
@roles_required(*ALL_ROLES)
def download(evidence_id: int):
    evidence = visible_or_404(Evidence, evidence_id)
    return stored_file_attachment(
        evidence.storage_name, evidence.mime_type, evidence.display_name, evidence.sha256
    )


@bp.post("/evidence/<int:evidence_id>/delete")
@roles_required(Role.STAFF)
def delete(evidence_id: int):
    evidence = visible_or_404(Evidence, evidence_id)
    toolkit = evidence.toolkit
    if not toolkit_services.may_edit(current_user, toolkit):
        abort(409)
    ButtonForm().validate_button()
    step_key = evidence.step_key
    services.delete_evidence(evidence, current_user)
    return redirect(
        url_for("toolkits.step", toolkit_id=toolkit.id, step_key=step_key, deleted=1) + "#evidence",
        303,
    )
