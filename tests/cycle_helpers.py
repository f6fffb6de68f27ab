"""Cycles for tests: one with given dates, and a future and a past one beside the running."""

from __future__ import annotations

from datetime import date, timedelta

from sct_forms.domain.tiers import DEFAULT_TIER_RULES
from sct_forms.extensions import db
from sct_forms.models import Cycle


def make_cycle(name: str, opens: date, deadline: date, **extra) -> Cycle:
    """A cycle on the 2024 catalog with the default tier rules unless ``extra`` says else."""
    cycle = Cycle(
        name=name,
        opens_on=opens,
        submission_deadline=deadline,
        lookback_start=extra.pop("lookback_start", opens - timedelta(days=3 * 365)),
        catalog_year=extra.pop("catalog_year", 2024),
        tier_rules_data=extra.pop("tier_rules_data", DEFAULT_TIER_RULES),
        **extra,
    )
    db.session.add(cycle)
    db.session.commit()
    return cycle


def future_and_past_cycles() -> list[Cycle]:
    """A cycle that opens in a year and one that ended in 2024: neither is the current one."""
    today = date.today()
    return [
        make_cycle("Next Year", today + timedelta(days=365), today + timedelta(days=545)),
        make_cycle("2024 Spring", date(2024, 1, 1), date(2024, 6, 30)),
    ]
