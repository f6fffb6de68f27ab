"""Where a town stands: the one reading of its tiers that its page, packet and certificate share."""

from __future__ import annotations

from sqlalchemy import select

from sct_forms.domain.forms import tier_item_kind
from sct_forms.domain.tiers import Item, TierAssessment, assess_tiers
from sct_forms.extensions import db
from sct_forms.models import Action, Cycle, Municipality, Toolkit

__all__ = ["tiers_for"]


def tiers_for(town: Municipality, cycle: Cycle) -> TierAssessment:
    """The town's records of ``cycle`` judged by the cycle's tier rules (domain.tiers): its
    toolkits count by paired action, its records of 1.2 and 1.3 as those actions."""
    rows = db.session.execute(
        select(Toolkit.form, Action.number, Toolkit.state)
        .join(Toolkit.paired_action)
        .where(Toolkit.municipality_id == town.id, Toolkit.cycle_id == cycle.id)
    )
    items = [Item(tier_item_kind(form), number, state, cycle.id) for form, number, state in rows]
    return assess_tiers(cycle.tier_rules, items, cycle.id)
