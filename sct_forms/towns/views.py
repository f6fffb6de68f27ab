"""A town's page: the cycle's dates, the tier rules in plain words, and the town's work."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, request
from flask_login import current_user
from sqlalchemy import select

from sct_forms.access import municipality_or_404, roles_required
from sct_forms.cycles import current_cycle
from sct_forms.domain.roles import ALL_ROLES, REVIEW_PARTIES, Role, is_town_staff
from sct_forms.extensions import db
from sct_forms.inputs import bounded_int
from sct_forms.models import Cycle
from sct_forms.review.queries import open_request_counts
from sct_forms.templating import render
from sct_forms.toolkits.services import (
    LISTED_LOADS,
    action_records,
    toolkit_completeness,
    toolkits_of,
)
from sct_forms.towns.queries import tiers_for

bp = Blueprint("towns", __name__, url_prefix="/towns")


@bp.get("/<slug>")
@roles_required(*ALL_ROLES)
def show(slug: str):
    town = municipality_or_404(slug)
    cycle_id = request.args.get("cycle", type=bounded_int)
    current = current_cycle(date.today())
    cycle = db.session.get(Cycle, cycle_id) if cycle_id else current
    if cycle_id and cycle is None:
        abort(404)
    cycles = db.session.scalars(select(Cycle).order_by(Cycle.opens_on.desc())).all()
    town_toolkits = toolkits_of(town, cycle, options=LISTED_LOADS) if cycle else []
    toolkits = [(toolkit, toolkit_completeness(toolkit)) for toolkit in town_toolkits]
    records = action_records(town, cycle) if cycle else []
    tiers = tiers_for(town, cycle) if cycle else None
    return render(
        "towns/show.html",
        town=town,
        cycle=cycle,
        cycles=cycles,
        today=date.today(),
        toolkits=toolkits,
        tiers=tiers,
        records=records,
        open_counts=open_request_counts(
            [t.id for t in town_toolkits] + [r.record.id for r in records if r.record]
        ),
        may_ask_history=current_user.role in REVIEW_PARTIES,
        may_invite_teammates=is_town_staff(current_user, town.id),
        may_start=current_user.role == Role.STAFF and cycle is not None and cycle == current,
    )
