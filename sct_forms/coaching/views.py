"""A coach's list of the towns assigned to them."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user
from sqlalchemy import select

from sct_forms.access import roles_required
from sct_forms.domain.roles import Role
from sct_forms.extensions import db
from sct_forms.models import CoachAssignment, Municipality
from sct_forms.templating import render

bp = Blueprint("coaching", __name__, url_prefix="/coaching")


@bp.get("/towns")
@roles_required(Role.COACH)
def my_towns():
    towns = db.session.scalars(
        select(Municipality)
        .join(CoachAssignment, CoachAssignment.municipality_id == Municipality.id)
        .where(CoachAssignment.coach_id == current_user.id)
        .order_by(Municipality.name)
    ).all()
    return render("coaching/my_towns.html", towns=towns)
