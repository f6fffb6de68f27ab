"""Tier rules of a cycle, as data.

A cycle stores its rules as a list of mappings so that program staff can change them for a
future cycle without touching code, and a past cycle keeps the rules it was judged by.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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
        also = tuple(str(number) for number in item.get("also_required", []) or [])
        rules.append(TierRule(tier=tier, distinct_actions=count, also_required=also))
    rules.sort(key=lambda rule: TIER_ORDER.index(rule.tier))
    if len({rule.tier for rule in rules}) != len(rules):
        raise TierRuleError("each tier may appear only once")
    return rules
