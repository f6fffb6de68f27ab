"""The statewide page: where every town of a cycle stands, the toolkits, the review queue's age
and the reviewers' work, for the program's reviewers and administrators (staff and coaches see
their own towns' pages instead)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, request

from sct_forms.access import roles_required
from sct_forms.cycles import current_cycle
from sct_forms.domain.roles import REVIEWING_ROLES
from sct_forms.inputs import bounded_int
from sct_forms.models import utcnow
from sct_forms.statewide import queries
from sct_forms.statewide.presenters import AGE_BANDS, statewide_figures
from sct_forms.templating import render

bp = Blueprint("statewide", __name__, url_prefix="/statewide")


@bp.get("/")
@roles_required(*REVIEWING_ROLES)
def overview():
    cycles = queries.all_cycles()
    asked = request.args.get("cycle", type=bounded_int)
    if asked is not None:
        cycle = next((c for c in cycles if c.id == asked), None)
        if cycle is None:
            abort(404)
    else:
        cycle = current_cycle(date.today())
    figures = statewide_figures(cycle, utcnow()) if cycle is not None else None
    return render(
        "statewide/overview.html",
        cycle=cycle,
        cycles=cycles,
        figures=figures,
        age_bands=AGE_BANDS,
    )
