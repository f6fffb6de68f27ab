"""The administrators' overview of cycles, towns and accounts."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import func, select

from sct_forms.access import roles_required
from sct_forms.domain.roles import Role
from sct_forms.extensions import db
from sct_forms.models import Cycle, Municipality, User
from sct_forms.templating import render

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@roles_required(Role.ADMIN)
def overview():
    cycles = db.session.scalars(select(Cycle).order_by(Cycle.opens_on.desc())).all()
    towns = db.session.execute(
        select(Municipality, func.count(User.id))
        .outerjoin(User, (User.municipality_id == Municipality.id) & (User.role == Role.STAFF))
        .group_by(Municipality.id)
        .order_by(Municipality.name)
    ).all()
    users = db.session.scalars(select(User).order_by(User.role, User.email)).all()
    return render(
        "admin/overview.html",
        cycles=cycles,
        towns=towns,
        users=users,
    )
