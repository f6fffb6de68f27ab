"""The audit log page and its CSV download, with the same filters.

Administrators only (admin.audit_log refuses everyone else as well).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request, stream_with_context
from flask_login import current_user

from sct_forms.access import roles_required
from sct_forms.admin import audit_log
from sct_forms.domain.roles import Role
from sct_forms.inputs import bounded_int
from sct_forms.templating import render

bp = Blueprint("admin_log", __name__, url_prefix="/admin/log")


@bp.get("/")
@roles_required(Role.ADMIN)
def page():
    filters = audit_log.parse_filters(request.args)
    try:
        events = audit_log.events(current_user, filters, request.args.get("page", type=bounded_int))
        choices = audit_log.choices(current_user)
    except audit_log.AuditLogRefusedError:
        abort(403)
    return render(
        "admin/log.html",
        block="log_results",
        page=events,
        filters=filters,
        choices=choices,
    )


@bp.get("/events.csv")
@roles_required(Role.ADMIN)
def download():
    filters = audit_log.parse_filters(request.args)
    try:
        chunks = audit_log.csv_download(current_user, filters)
    except audit_log.AuditLogRefusedError:
        abort(403)
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="sct-audit-log.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
