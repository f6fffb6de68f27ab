"""Certification cycles: which one is running, and where each one stands.

A cycle is a window in which towns submit and reviewers decide (its dates and tier rules are
program settings, stored with it). Loading the default cycles is reference data's job
(``reference_data.ensure_cycle``); this module answers questions about the stored ones. The
phase of a cycle (future, running, past) is the rule of ``domain.cycle_phases``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from sct_forms.domain.cycle_phases import Phase, cycle_phase
from sct_forms.extensions import db
from sct_forms.models import Cycle


def phase_of(cycle: Cycle, today: date) -> Phase:
    """The phase of ``cycle`` on ``today``."""
    return cycle_phase(cycle.opens_on, cycle.submission_deadline, today)


def current_cycle(today: date) -> Cycle | None:
    """The cycle open on ``today``: the latest one that has opened, else the next to open.

    "Has opened" is a phase other than future; a program has a few cycles a year, so they
    are read whole and the phase rule is asked here rather than restated in SQL.
    """
    cycles = db.session.scalars(select(Cycle).order_by(Cycle.opens_on, Cycle.id)).all()
    opened = [cycle for cycle in cycles if phase_of(cycle, today) is not Phase.FUTURE]
    if opened:
        return opened[-1]
    return cycles[0] if cycles else None
