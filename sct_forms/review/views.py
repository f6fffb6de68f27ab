"""The reviewers' queue."""

from __future__ import annotations

from datetime import date

from flask import Blueprint

from sct_forms.access import roles_required
from sct_forms.reference_data import current_cycle
from sct_forms.templating import render

bp = Blueprint("review", __name__, url_prefix="/review")


@bp.get("/queue")
@roles_required("reviewer", "admin")
def queue():
    cycle = current_cycle(date.today())
    return render("review/queue.html", cycle=cycle, items=[])
