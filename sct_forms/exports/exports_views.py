"""Downloading a cycle's tables: the page that offers them, and the CSV and XLSX files.

Reviewers and administrators only (exports.services refuses everyone else as well).
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, request, send_file, stream_with_context
from flask_login import current_user
from sqlalchemy import select

from sct_forms.access import roles_required
from sct_forms.cycles import current_cycle
from sct_forms.domain.roles import REVIEWING_ROLES
from sct_forms.exports.services import ExportRefusedError, csv_download, xlsx_download
from sct_forms.exports.tables import TABLES
from sct_forms.exports.xlsx_file import MIMETYPE
from sct_forms.extensions import db
from sct_forms.inputs import bounded_int
from sct_forms.models import Cycle
from sct_forms.templating import render

bp = Blueprint("exports", __name__, url_prefix="/exports")


def _cycle(cycle_id: int) -> Cycle:
    return db.session.get(Cycle, cycle_id) or abort(404)


@bp.get("/")
@roles_required(*REVIEWING_ROLES)
def page():
    cycles = db.session.scalars(select(Cycle).order_by(Cycle.opens_on.desc())).all()
    asked = request.args.get("cycle", type=bounded_int)
    cycle = db.session.get(Cycle, asked) if asked else current_cycle(date.today())
    return render("exports/page.html", cycles=cycles, cycle=cycle, tables=TABLES)


def _csv(cycle_id: int, key: str) -> Response:
    try:
        name, chunks = csv_download(current_user, _cycle(cycle_id), key)
    except ExportRefusedError:
        abort(403)
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/cycles/<int:cycle_id>/toolkits.csv")
@roles_required(*REVIEWING_ROLES)
def toolkits_csv(cycle_id: int):
    return _csv(cycle_id, "toolkits")


@bp.get("/cycles/<int:cycle_id>/records.csv")
@roles_required(*REVIEWING_ROLES)
def records_csv(cycle_id: int):
    return _csv(cycle_id, "records")


@bp.get("/cycles/<int:cycle_id>/certificates.csv")
@roles_required(*REVIEWING_ROLES)
def certificates_csv(cycle_id: int):
    return _csv(cycle_id, "certificates")


@bp.get("/cycles/<int:cycle_id>/data.xlsx")
@roles_required(*REVIEWING_ROLES)
def workbook(cycle_id: int):
    try:
        name, data = xlsx_download(current_user, _cycle(cycle_id))
    except ExportRefusedError:
        abort(403)
    response = send_file(data, mimetype=MIMETYPE, as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "private, no-store"
    return response
