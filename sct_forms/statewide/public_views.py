"""The public list of certified towns: anyone, without signing in, sees each cycle's towns
holding a valid certificate, with its level and a link to check it (/verify/<serial>).

Superseded and revoked certificates are left out (a superseded one's town is listed with the
higher level that replaced it). A valid certificate whose term is over stays listed under its
cycle, marked expired in words, as the verification page says it.
"""

from __future__ import annotations

from datetime import date
from itertools import groupby

from flask import Blueprint

from sct_forms.statewide.queries import certified_towns
from sct_forms.templating import render

bp = Blueprint("certified_towns", __name__)


@bp.get("/certified-towns")
def index():
    certificates = certified_towns()
    cycles = [
        (name, list(group))
        for (_, name), group in groupby(certificates, key=lambda c: (c.cycle_id, c.cycle_name))
    ]
    return render("statewide/certified_towns.html", cycles=cycles, today=date.today())
