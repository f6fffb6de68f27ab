"""Uploading, downloading and deleting evidence files."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

from sct_forms.access import roles_required, toolkit_and_step, visible_or_404
from sct_forms.domain.roles import ALL_ROLES, Role
from sct_forms.evidence import services
from sct_forms.evidence.downloads import stored_file_attachment
from sct_forms.evidence.messages import refused_message
from sct_forms.models import Evidence
from sct_forms.toolkits import services as toolkit_services
from sct_forms.toolkits.pages import step_page_with_upload_error

bp = Blueprint("evidence", __name__)


@bp.post("/toolkits/<int:toolkit_id>/steps/<step_key>/evidence")
@roles_required(Role.STAFF)
def upload(toolkit_id: int, step_key: str):
    toolkit, definition, step = toolkit_and_step(toolkit_id, step_key)
    if not toolkit_services.may_edit(current_user, toolkit):
        abort(409)
    file = request.files.get("file")
    form = request.form
    try:
        services.add_evidence(
            toolkit,
            step.key,
            data=file.read() if file else b"",
            filename=file.filename if file else "",
            title=form.get("title", ""),
            alt_text=form.get("alt_text", ""),
            people_consented=form.get("people_consented") == "y",
            user=current_user,
        )
    except services.EvidenceRefused as refused:
        return step_page_with_upload_error(
            toolkit, definition, step, refused.field, refused_message(refused), form
        )
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
    step_key = evidence.step_key
    services.delete_evidence(evidence, current_user)
    return redirect(
        url_for("toolkits.step", toolkit_id=toolkit.id, step_key=step_key, deleted=1) + "#evidence",
        303,
    )
