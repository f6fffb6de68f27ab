"""Toolkits of an earlier cycle, for the recertification tests."""

from __future__ import annotations

import copy
from datetime import date

from sqlalchemy import select

from sct_forms.domain.tiers import DEFAULT_TIER_RULES
from sct_forms.evidence.services import add_evidence
from sct_forms.extensions import db
from sct_forms.models import Action, Cycle, Toolkit
from sct_forms.toolkits import recertification
from tests.evidence.samples import pdf_bytes
from tests.toolkit_helpers import COMPLETE_ANSWERS, make_toolkit

# Answers of a toolkit done in 2023: complete then, but before the 2026 cycle's lookback start
# (July 1, 2023) wherever they carry a date.
EARLIER_ANSWERS = copy.deepcopy(COMPLETE_ANSWERS)
EARLIER_ANSWERS["context"]["start_date"] = "2023-01-15"
EARLIER_ANSWERS["outreach"]["activities"][0]["date"] = "2023-02-10"
EARLIER_ANSWERS["engagement"]["events"][0]["date"] = "2023-03-04"


def add_earlier_cycle() -> Cycle:
    """The 2023 Fall cycle (added once)."""
    existing = db.session.scalar(select(Cycle).filter_by(name="2023 Fall"))
    if existing is not None:
        return existing
    earlier = Cycle(
        name="2023 Fall",
        opens_on=date(2023, 7, 1),
        submission_deadline=date(2023, 12, 31),
        lookback_start=date(2020, 7, 1),
        catalog_year=2024,
        tier_rules_data=DEFAULT_TIER_RULES,
    )
    db.session.add(earlier)
    db.session.commit()
    return earlier


def earlier_toolkit(town, action, user, state: str = "approved") -> Toolkit:
    """A toolkit of the 2023 cycle on ``action``, filled in, with one stored flyer."""
    toolkit = make_toolkit(town, add_earlier_cycle(), action, user)
    for row in toolkit.steps:
        row.data = EARLIER_ANSWERS[row.step_key]
        row.version += 1
    add_evidence(
        toolkit,
        "outreach",
        data=pdf_bytes(2),
        filename="flyer.pdf",
        title="Bilingual flyer",
        alt_text="",
        people_consented=False,
        user=user,
    )
    toolkit.state = state
    db.session.commit()
    return toolkit


def copy_on_a_new_action(town, cycle, source: Toolkit, user) -> Toolkit:  # noqa: ANN001
    """This cycle's toolkit copied from ``source``, on an action added to the catalog for it
    (5.1), so a catalog whose actions all have a toolkit still takes a copy."""
    category = source.paired_action.category
    action = Action(
        catalog_year=cycle.catalog_year, number="5.1", title="Plan for Walking", category=category
    )
    db.session.add(action)
    db.session.commit()
    return recertification.copy_toolkit(town, cycle, source.id, action.id, True, user)
