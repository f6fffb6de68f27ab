"""The statewide figures of one cycle, computed in Python from a few queries (statewide.queries):
towns by the level reached and by their target, records by state and by category of the paired
action, the age of the review queue, days from submission to decision, and each reviewer's load.

Every town is judged by the same rules as its own page (domain.tiers.assess_tiers, read as
towns.queries.tiers_for reads one town), from one query for all towns together.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from flask_babel import format_decimal

from sct_forms.domain.forms import Form, tier_item_kind
from sct_forms.domain.tiers import TIER_ORDER, Item, assess_tiers
from sct_forms.domain.workflow import STATE_LABELS, STATES, is_with_reviewers
from sct_forms.i18n import gettext as _
from sct_forms.models import Cycle, User
from sct_forms.statewide import queries
from sct_forms.statewide.charts import BarChart, bar_chart

__all__ = ["AGE_BANDS", "StatewideFigures", "age_band", "median_days", "statewide_figures"]

# Queue age bands, in whole days since the last submission: the review queue's own filter
# offers 7, 14 and 30 days, so the bands meet there.
AGE_BANDS: tuple[tuple[int, int | None], ...] = ((0, 6), (7, 13), (14, 29), (30, None))
NO_TIER = "none"


@dataclass(frozen=True)
class ReviewerLoad:
    name: str
    held: int
    decided: int


@dataclass(frozen=True)
class StatewideFigures:
    cycle: Cycle
    towns: int
    towns_taking_part: int
    toolkits: int
    with_reviewers: int
    decisions: int
    median_days: float | None
    median_days_text: str  # the median as the page's language writes numbers ("4.5", "4,5")
    reached: dict[str, int]  # "none", "bronze", ... -> towns
    target: dict[str, int]
    workload: list[ReviewerLoad]
    charts: list[BarChart]


def age_band(days: int) -> int:
    """The index in AGE_BANDS of an item waiting ``days`` whole days."""
    for index, (low, high) in enumerate(AGE_BANDS):
        if days >= low and (high is None or days <= high):
            return index
    return 0  # a submission dated after ``now`` (clocks) counts as just arrived


def median_days(events: list[queries.ReviewEvent]) -> tuple[float | None, int]:
    """The median days from a submission to the decision on it, and how many decisions.

    ``events`` oldest first; each decision is measured from the record's latest submission
    before it (a resubmission starts a new wait).
    """
    submitted: dict[int, datetime] = {}
    waits: list[float] = []
    for event in events:
        if event.action in queries.SUBMISSION_EVENTS:
            submitted[event.record_id] = event.at
        elif event.action in queries.DECISION_EVENTS and event.record_id in submitted:
            seconds = (event.at - submitted.pop(event.record_id)).total_seconds()
            waits.append(max(seconds, 0) / 86400)
    if not waits:
        return None, 0
    return round(statistics.median(waits), 1), len(waits)


def _tier_label(tier: str) -> str:
    return {
        NO_TIER: _("No level yet"),
        "bronze": _("Bronze"),
        "silver": _("Silver"),
        "gold": _("Gold"),
    }[tier]


def _band_label(low: int, high: int | None) -> str:
    if high is None:
        return _("%(num)s days or more", num=low)
    if low == 0:
        return _("Less than %(num)s days", num=high + 1)
    return _("%(low)s to %(high)s days", low=low, high=high)


def statewide_figures(cycle: Cycle, now: datetime) -> StatewideFigures:
    """Every figure and chart of the statewide page for ``cycle``, as of ``now`` (UTC)."""
    rows = queries.cycle_records(cycle)
    items: dict[int, list[Item]] = defaultdict(list)
    taking_part: set[int] = set()
    states: Counter[str] = Counter()
    categories: dict[int, tuple[str, int]] = {}
    ages = [0] * len(AGE_BANDS)
    held: Counter[int] = Counter()
    for row in rows:
        items.setdefault(row.town_id, [])
        if row.record_id is None:
            continue
        items[row.town_id].append(
            Item(tier_item_kind(row.form), row.action_number, row.state, cycle.id)
        )
        taking_part.add(row.town_id)
        if row.form == Form.TOOLKIT:
            states[row.state] += 1
            name, count = categories.get(row.category_number, (row.category_name, 0))
            categories[row.category_number] = (name, count + 1)
        if is_with_reviewers(row.state):
            if row.submitted_at is not None:
                ages[age_band((now.date() - row.submitted_at.date()).days)] += 1
            if row.reviewer_id is not None:
                held[row.reviewer_id] += 1

    rules = cycle.tier_rules
    reached: Counter[str] = Counter()
    target: Counter[str] = Counter()
    for town_items in items.values():
        assessment = assess_tiers(rules, town_items, cycle.id)
        reached[assessment.reached or NO_TIER] += 1
        target[assessment.reachable_with_reviews or NO_TIER] += 1
    tiers = (NO_TIER, *(t for t in TIER_ORDER if any(r.tier == t for r in rules)))

    events = queries.review_events(cycle)
    median, decisions = median_days(events)
    decided: Counter[int] = Counter(
        e.actor_id for e in events if e.action in queries.DECISION_EVENTS and e.actor_id is not None
    )
    people = queries.reviewers(set(held) | set(decided))
    workload = [ReviewerLoad(_person(p), held[p.id], decided[p.id]) for p in people]

    charts = _charts(cycle, tiers, reached, target, states, categories, ages, workload)
    return StatewideFigures(
        cycle=cycle,
        towns=len(items),
        towns_taking_part=len(taking_part),
        toolkits=sum(states.values()),
        with_reviewers=sum(ages),
        decisions=decisions,
        median_days=median,
        median_days_text=format_decimal(median) if median is not None else "",
        reached={tier: reached[tier] for tier in tiers},
        target={tier: target[tier] for tier in tiers},
        workload=workload,
        charts=charts,
    )


def _person(user: User) -> str:
    return user.name if user.active else _("%(name)s (account closed)", name=user.name)


def _charts(
    cycle: Cycle,
    tiers: tuple[str, ...],
    reached: Counter[str],
    target: Counter[str],
    states: Counter[str],
    categories: dict[int, tuple[str, int]],
    ages: list[int],
    workload: list[ReviewerLoad],
) -> list[BarChart]:
    towns = _("Towns")
    level = _("Level")
    return [
        bar_chart(
            "chart-reached",
            _("Towns by the level reached"),
            _(
                "How many towns reached each level of the equity requirement in %(cycle)s, "
                "counting only what reviewers approved.",
                cycle=cycle.name,
            ),
            level,
            [towns],
            [(_tier_label(t), [reached[t]]) for t in tiers],
        ),
        bar_chart(
            "chart-target",
            _("Towns by their target level"),
            _(
                "How many towns would reach each level in %(cycle)s if everything now with "
                "reviewers were approved.",
                cycle=cycle.name,
            ),
            level,
            [towns],
            [(_tier_label(t), [target[t]]) for t in tiers],
        ),
        bar_chart(
            "chart-states",
            _("Equity Toolkits by status"),
            _("How many Equity Toolkits of %(cycle)s are in each status.", cycle=cycle.name),
            _("Status"),
            [_("Equity Toolkits")],
            [(_(STATE_LABELS[s].internal), [states[s]]) for s in STATES],
        ),
        bar_chart(
            "chart-categories",
            _("Equity Toolkits by category of the paired action"),
            _(
                "How many Equity Toolkits of %(cycle)s are paired with an action of each category.",
                cycle=cycle.name,
            ),
            _("Category"),
            [_("Equity Toolkits")],
            [
                (f"{number}. {name}", [count])
                for number, (name, count) in sorted(categories.items())
            ],
        ),
        bar_chart(
            "chart-ages",
            _("Waiting for reviewers, by days since submission"),
            _("How long the records now with reviewers have waited since the town last sent them."),
            _("Waiting"),
            [_("Records")],
            [(_band_label(low, high), [ages[i]]) for i, (low, high) in enumerate(AGE_BANDS)],
        ),
        bar_chart(
            "chart-workload",
            _("Each reviewer's work"),
            _(
                "For each reviewer: the records they hold now, and the decisions they made on "
                "records of %(cycle)s.",
                cycle=cycle.name,
            ),
            _("Reviewer"),
            [_("Held now"), _("Decisions in this cycle")],
            [(load.name, [load.held, load.decided]) for load in workload],
            bar_words=[_("held"), _("decided")],
        ),
    ]
