"""Tier rules of a cycle, as data.

A cycle stores its rules as a list of mappings so that program staff can change them for a
future cycle without touching code, and a past cycle keeps the rules it was judged by.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sct_forms.domain.workflow import STATES, State, whose_turn

TIER_ORDER = ("bronze", "silver", "gold")


@dataclass(frozen=True)
class TierRule:
    """What one tier requires of the equity process."""

    tier: str
    # How many different paired actions need an approved Equity Toolkit.
    distinct_actions: int
    # Action numbers (such as "1.2") that must also be approved.
    also_required: tuple[str, ...] = field(default_factory=tuple)


DEFAULT_TIER_RULES: list[dict[str, Any]] = [
    {"tier": "bronze", "distinct_actions": 1, "also_required": []},
    {"tier": "silver", "distinct_actions": 3, "also_required": []},
    {"tier": "gold", "distinct_actions": 4, "also_required": ["1.2", "1.3"]},
]


class TierRuleError(ValueError):
    """Tier rules that cannot be used, with a plain explanation."""


def parse_tier_rules(data: Iterable[Mapping[str, Any]]) -> list[TierRule]:
    """Turn stored rules into TierRule objects, ordered bronze to gold, checking them."""
    rules: list[TierRule] = []
    for item in data:
        tier = str(item.get("tier", "")).lower()
        if tier not in TIER_ORDER:
            raise TierRuleError(f"unknown tier {tier!r}; expected one of {', '.join(TIER_ORDER)}")
        count = item.get("distinct_actions")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise TierRuleError(f"{tier}: distinct_actions must be a whole number, 0 or more")
        also_data = item.get("also_required", []) or []
        # A bare string would otherwise be split into characters: "1.2" -> ("1", ".", "2").
        if isinstance(also_data, str | bytes) or not isinstance(also_data, Iterable):
            raise TierRuleError(f"{tier}: also_required must be a list of action numbers")
        also = tuple(str(number) for number in also_data)
        rules.append(TierRule(tier=tier, distinct_actions=count, also_required=also))
    rules.sort(key=lambda rule: TIER_ORDER.index(rule.tier))
    if len({rule.tier for rule in rules}) != len(rules):
        raise TierRuleError("each tier may appear only once")
    return rules


# --- Evaluating a town's items against a cycle's rules ---------------------------------------

ITEM_KINDS = ("toolkit", "action")

# How far an action number got, by its best item; higher wins.
_APPROVED, _WITH_REVIEWERS, _IN_PROGRESS, _NOWHERE = 3, 2, 1, 0


@dataclass(frozen=True)
class Item:
    """An Equity Toolkit on a paired action, or an action such as 1.2, submitted in a cycle."""

    kind: str  # "toolkit" or "action"
    # Toolkit: the PAIRED action's number, such as "3.4"; action: its own number, such as "1.2".
    action_number: str
    state: str  # a workflow state
    cycle_id: int


@dataclass(frozen=True)
class RequirementStatus:
    """How far a town is on one requirement of a tier, counted in distinct action numbers."""

    key: str  # "distinct_actions" or "action:1.2"
    needed: int
    approved: int
    # Not yet approved, best item submitted or in review.
    with_reviewers: int
    # Neither approved nor with reviewers, best item a draft or changes requested.
    in_progress: int

    @property
    def met(self) -> bool:
        """Whether enough is approved."""
        return self.approved >= self.needed

    @property
    def would_be_met_if_reviews_pass(self) -> bool:
        """Whether it would be met if everything now with reviewers were approved."""
        return self.approved + self.with_reviewers >= self.needed


@dataclass(frozen=True)
class TierStatus:
    """One tier's requirements, judged on their own (lower tiers are not considered here)."""

    tier: str
    requirements: tuple[RequirementStatus, ...]

    @property
    def met(self) -> bool:
        """Whether every requirement of this tier is met."""
        return all(requirement.met for requirement in self.requirements)

    @property
    def would_be_met_if_reviews_pass(self) -> bool:
        """Whether every requirement would be met if everything with reviewers were approved."""
        return all(r.would_be_met_if_reviews_pass for r in self.requirements)

    def requirement(self, key: str) -> RequirementStatus:
        """The requirement with ``key``; KeyError if this tier has none such."""
        for requirement in self.requirements:
            if requirement.key == key:
                return requirement
        raise KeyError(key)


@dataclass(frozen=True)
class TierAssessment:
    """Where a town stands in one cycle: the tier reached and every tier's requirements."""

    # Tiers are cumulative: a tier counts only when every lower tier of the rules is met too.
    reached: str | None
    tiers: tuple[TierStatus, ...]  # bronze to gold, as far as the rules go
    reachable_with_reviews: str | None

    def tier(self, name: str) -> TierStatus:
        """The status of tier ``name``; KeyError if the cycle's rules have no such tier."""
        for status in self.tiers:
            if status.tier == name:
                return status
        raise KeyError(name)


def _progress(state: str) -> int:
    """Where an item in ``state`` counts; withdrawn and not approved count nowhere."""
    if state == State.APPROVED:
        return _APPROVED
    turn = whose_turn(state)
    if turn == "reviewers":
        return _WITH_REVIEWERS
    if turn == "town":
        return _IN_PROGRESS
    return _NOWHERE


def _best_progress(items: Iterable[Item]) -> dict[str, int]:
    """Each action number's best progress among ``items``: one action counts once."""
    best: dict[str, int] = {}
    for item in items:
        number = item.action_number
        best[number] = max(best.get(number, _NOWHERE), _progress(item.state))
    return best


def _requirement(key: str, needed: int, progress: Iterable[int]) -> RequirementStatus:
    """A requirement's counts from the best progress of each action number it looks at."""
    values = list(progress)
    return RequirementStatus(
        key=key,
        needed=needed,
        approved=values.count(_APPROVED),
        with_reviewers=values.count(_WITH_REVIEWERS),
        in_progress=values.count(_IN_PROGRESS),
    )


def _highest_cumulative(
    tiers: Sequence[TierStatus], passes: Callable[[TierStatus], bool]
) -> str | None:
    """The last tier of an unbroken run, from the lowest, for which ``passes`` holds."""
    reached = None
    for status in tiers:
        if not passes(status):
            break
        reached = status.tier
    return reached


def assess_tiers(rules: Sequence[TierRule], items: Iterable[Item], cycle_id: int) -> TierAssessment:
    """Judge the items of cycle ``cycle_id`` against that cycle's ``rules``."""
    ordered = sorted(rules, key=lambda rule: _tier_index(rule.tier))
    if len({rule.tier for rule in ordered}) != len(ordered):
        raise TierRuleError("each tier may appear only once")
    toolkits: list[Item] = []
    actions: list[Item] = []
    for item in items:
        if item.kind not in ITEM_KINDS:
            raise ValueError(f"unknown item kind {item.kind!r}")
        if item.state not in STATES:
            raise ValueError(f"unknown workflow state {item.state!r}")
        # Another cycle's items belong to another certification; they never count here.
        if item.cycle_id != cycle_id:
            continue
        (toolkits if item.kind == "toolkit" else actions).append(item)
    toolkit_progress = _best_progress(toolkits)
    # Only items of kind "action" fulfil 1.2 and 1.3: those are actions in their own right
    # (a training attended, a statement adopted), and domain.md says neither replaces 1.1. A
    # toolkit paired with action 1.2 is equity work on 1.2, not proof that 1.2 itself is done.
    action_progress = _best_progress(actions)
    tiers = []
    for rule in ordered:
        requirements = [
            _requirement("distinct_actions", rule.distinct_actions, toolkit_progress.values())
        ]
        for number in rule.also_required:
            progress = action_progress.get(number, _NOWHERE)
            requirements.append(_requirement(f"action:{number}", 1, [progress]))
        tiers.append(TierStatus(tier=rule.tier, requirements=tuple(requirements)))
    return TierAssessment(
        reached=_highest_cumulative(tiers, lambda status: status.met),
        tiers=tuple(tiers),
        reachable_with_reviews=_highest_cumulative(
            tiers, lambda status: status.would_be_met_if_reviews_pass
        ),
    )


def _tier_index(tier: str) -> int:
    """A tier's place in TIER_ORDER, so rules built by hand are judged bronze first."""
    if tier not in TIER_ORDER:
        raise TierRuleError(f"unknown tier {tier!r}; expected one of {', '.join(TIER_ORDER)}")
    return TIER_ORDER.index(tier)


def next_tier(assessment: TierAssessment) -> TierStatus | None:
    """The first tier not met, which is the next one to work on; None when all are met."""
    # Because tiers are cumulative this is always the tier right above ``reached``.
    for status in assessment.tiers:
        if not status.met:
            return status
    return None
