"""Uploading, downloading and deleting evidence files."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, request, send_file, url_for
from flask_login import current_user

from sct_forms.access import roles_required, visible_or_404
from sct_forms.errors import render_error
from sct_forms.evidence import services, storage
from sct_forms.evidence.messages import refused_message
from sct_forms.i18n import gettext as _
from sct_forms.models import Evidence
from sct_forms.templating import render
from sct_forms.toolkits import services as toolkit_services

bp = Blueprint("evidence", __name__)


@bp.post("/toolkits/<int:toolkit_id>/steps/<step_key>/evidence")
@roles_required("staff")
def upload(toolkit_id: int, step_key: str):
    from sct_forms.toolkits.views import toolkit_and_step

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
        from sct_forms.toolkits.views import step_page_with_upload_error

        return step_page_with_upload_error(
            toolkit, definition, step, refused.field, refused_message(refused), form
        )
    return redirect(
        url_for("toolkits.step", toolkit_id=toolkit.id, step_key=step.key, uploaded=1)
        + "#evidence",
        303,
    )


@bp.get("/evidence/<int:evidence_id>/download")
@roles_required("staff", "reviewer", "coach", "admin")
def download(evidence_id: int):
    evidence = visible_or_404(Evidence, evidence_id)
    return stored_file_attachment(
        evidence.storage_name, evidence.mime_type, evidence.display_name, evidence.sha256
    )


def stored_file_attachment(storage_name: str, mime_type: str, name: str, sha256: str):
    """An evidence file as a download that browsers never open or sniff in place."""
    path = storage.path_for(storage_name)
    if not path.is_file():
        # The row outlived its file (a restore without files, a disk fault): say so, never a 500.
        current_app.logger.error("evidence file missing from storage: %s", storage_name)
        return render_error(
            404,
            _(
                "This file is missing from storage. Tell the program: they can restore it "
                "from a backup."
            ),
        )
    response = send_file(
        path,
        mimetype=mime_type,
        as_attachment=True,
        download_name=name,
        etag=sha256,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.post("/evidence/<int:evidence_id>/delete")
@roles_required("staff")
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


def render_evidence_section(view, upload_error=None):  # noqa: ANN001, ANN201
    return render("toolkits/_evidence.html", view=view, upload_error=upload_error)
