"""Certification cycles: which one is running.

A cycle is a window in which towns submit and reviewers decide (its dates and tier rules are
program settings, stored with it). Loading the default cycles is reference data's job
(``reference_data.ensure_cycle``); this module answers questions about the stored ones.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from sct_forms.extensions import db
from sct_forms.models import Cycle


def current_cycle(today: date) -> Cycle | None:
    """The cycle open on ``today``: the latest one that has opened, else the next to open."""
    opened = db.session.scalar(
        select(Cycle)
        .where(Cycle.opens_on <= today)
        .order_by(Cycle.opens_on.desc(), Cycle.id.desc())
        .limit(1)
    )
    if opened is not None:
        return opened
    return db.session.scalar(select(Cycle).order_by(Cycle.opens_on).limit(1))
