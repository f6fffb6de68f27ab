"""Tier rules and tier evaluation: distinct actions, 1.2 and 1.3, cycles, reviews pending."""

from __future__ import annotations

from typing import Any

import pytest

from sct_forms.domain.tiers import (
    DEFAULT_TIER_RULES,
    TIER_ORDER,
    Item,
    RequirementStatus,
    TierAssessment,
    TierRule,
    TierRuleError,
    assess_tiers,
    next_tier,
    parse_tier_rules,
)
from sct_forms.domain.workflow import STATES

CYCLE = 7
OTHER_CYCLE = 8
RULES = parse_tier_rules(DEFAULT_TIER_RULES)
PAIRED = ("3.4", "3.12", "5.4", "5.7", "6.1")


def toolkit(number: str, state: str = "approved", cycle_id: int = CYCLE) -> Item:
    return Item(kind="toolkit", action_number=number, state=state, cycle_id=cycle_id)


def action(number: str, state: str = "approved", cycle_id: int = CYCLE) -> Item:
    return Item(kind="action", action_number=number, state=state, cycle_id=cycle_id)


def approved_toolkits(count: int) -> list[Item]:
    return [toolkit(number) for number in PAIRED[:count]]


def assess(items: list[Item], rules: list[TierRule] = RULES) -> TierAssessment:
    return assess_tiers(rules, items, CYCLE)


def rules(*data: dict[str, Any]) -> list[TierRule]:
    return parse_tier_rules(data)


# --- parsing the stored rules -----------------------------------------------------------------


def test_default_rules_parse_bronze_to_gold() -> None:
    assert RULES == [
        TierRule("bronze", 1),
        TierRule("silver", 3),
        TierRule("gold", 4, ("1.2", "1.3")),
    ]


def test_rules_are_ordered_bronze_to_gold_whatever_the_stored_order() -> None:
    parsed = rules(
        {"tier": "Gold", "distinct_actions": 4},
        {"tier": "bronze", "distinct_actions": 1},
        {"tier": "SILVER", "distinct_actions": 3, "also_required": None},
    )
    assert [rule.tier for rule in parsed] == list(TIER_ORDER)
    assert parsed[1].also_required == ()


def test_action_numbers_are_kept_as_text() -> None:
    (rule,) = rules({"tier": "gold", "distinct_actions": 4, "also_required": [1.2, "1.3"]})
    assert rule.also_required == ("1.2", "1.3")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tier": "platinum", "distinct_actions": 5}, "unknown tier 'platinum'"),
        ({"distinct_actions": 5}, "unknown tier ''"),
        ({"tier": "bronze"}, "bronze: distinct_actions must be a whole number"),
        ({"tier": "bronze", "distinct_actions": -1}, "whole number, 0 or more"),
        ({"tier": "bronze", "distinct_actions": 1.5}, "whole number"),
        ({"tier": "bronze", "distinct_actions": "1"}, "whole number"),
        ({"tier": "bronze", "distinct_actions": True}, "whole number"),
        ({"tier": "gold", "distinct_actions": 4, "also_required": "1.2"}, "must be a list"),
        ({"tier": "gold", "distinct_actions": 4, "also_required": 12}, "must be a list"),
    ],
)
def test_unusable_rules_are_refused_with_a_reason(data: dict[str, Any], message: str) -> None:
    with pytest.raises(TierRuleError, match=message):
        rules(data)


def test_a_tier_may_appear_only_once() -> None:
    with pytest.raises(TierRuleError, match="only once"):
        rules({"tier": "bronze", "distinct_actions": 1}, {"tier": "Bronze", "distinct_actions": 2})


def test_rule_errors_are_value_errors() -> None:
    # Callers that validate forms catch ValueError; TierRuleError must be one.
    assert issubclass(TierRuleError, ValueError)


# --- the default rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "tier"),
    [(0, None), (1, "bronze"), (2, "bronze"), (3, "silver"), (4, "silver"), (5, "silver")],
)
def test_approved_toolkits_on_distinct_actions_reach_a_tier(count: int, tier: str | None) -> None:
    assessment = assess(approved_toolkits(count))
    assert assessment.reached == tier
    assert assessment.tier("bronze").requirement("distinct_actions").approved == count


def test_gold_needs_four_distinct_actions_and_approved_actions_1_2_and_1_3() -> None:
    both = [action("1.2"), action("1.3")]
    assert assess(approved_toolkits(4) + both).reached == "gold"
    assert assess(approved_toolkits(3) + both).reached == "silver"
    assert assess(approved_toolkits(4) + [action("1.2")]).reached == "silver"
    assert assess(approved_toolkits(4) + [action("1.3")]).reached == "silver"


def test_toolkits_paired_with_1_2_and_1_3_do_not_complete_those_actions() -> None:
    # They count as paired actions (distinct 1.2 and 1.3), but 1.2 and 1.3 themselves are not done.
    assessment = assess(approved_toolkits(2) + [toolkit("1.2"), toolkit("1.3")])
    gold = assessment.tier("gold")
    assert gold.requirement("distinct_actions").approved == 4
    assert gold.requirement("action:1.2") == RequirementStatus("action:1.2", 1, 0, 0, 0)
    assert gold.requirement("action:1.3").approved == 0
    assert assessment.reached == "silver"


def test_approved_actions_1_2_and_1_3_do_not_count_as_paired_actions() -> None:
    assessment = assess([action("1.2"), action("1.3"), action("3.4")])
    assert assessment.tier("bronze").requirement("distinct_actions").approved == 0
    assert assessment.reached is None


def test_three_toolkits_on_two_actions_count_two() -> None:
    items = [toolkit("3.4"), toolkit("3.4"), toolkit("5.4")]
    assessment = assess(items)
    assert assessment.tier("silver").requirement("distinct_actions").approved == 2
    assert assessment.reached == "bronze"


@pytest.mark.parametrize("state", ["withdrawn", "not_approved"])
def test_withdrawn_and_not_approved_items_count_nowhere(state: str) -> None:
    items = [toolkit(number, state) for number in PAIRED] + [action("1.2", state)]
    assessment = assess(items)
    for status in assessment.tiers:
        for requirement in status.requirements:
            assert (requirement.approved, requirement.with_reviewers) == (0, 0)
            assert requirement.in_progress == 0
    assert assessment.reached is None
    assert assessment.reachable_with_reviews is None


def test_items_of_another_cycle_do_not_leak() -> None:
    earlier = [toolkit(n, cycle_id=OTHER_CYCLE) for n in PAIRED]
    earlier += [action("1.2", cycle_id=OTHER_CYCLE), action("1.3", cycle_id=OTHER_CYCLE)]
    assessment = assess(earlier + [toolkit("3.4")])
    assert assessment.reached == "bronze"
    assert assessment.tier("gold").requirement("distinct_actions").approved == 1
    assert assessment.tier("gold").requirement("action:1.2").approved == 0
    assert assess_tiers(RULES, earlier, OTHER_CYCLE).reached == "gold"


def test_another_cycles_rules_give_another_result_for_the_same_items() -> None:
    stricter = rules(
        {"tier": "bronze", "distinct_actions": 2},
        {"tier": "silver", "distinct_actions": 4},
        {"tier": "gold", "distinct_actions": 6, "also_required": ["1.2", "1.3"]},
    )
    one = approved_toolkits(1)
    assert assess(one).reached == "bronze"
    assert assess(one, stricter).reached is None
    three = approved_toolkits(3)
    assert assess(three).reached == "silver"
    assert assess(three, stricter).reached == "bronze"
    assert assess(three, stricter).tier("bronze").requirement("distinct_actions").needed == 2


# --- several items on one action: the best state decides --------------------------------------


@pytest.mark.parametrize(
    ("states", "counted_as"),
    [
        (["draft", "approved", "withdrawn"], "approved"),
        (["not_approved", "approved"], "approved"),
        (["changes_requested", "in_review"], "with_reviewers"),
        (["draft", "submitted"], "with_reviewers"),
        (["withdrawn", "changes_requested"], "in_progress"),
        (["not_approved", "draft"], "in_progress"),
        (["not_approved", "withdrawn"], None),
    ],
)
def test_an_action_counts_once_by_its_best_item(states: list[str], counted_as: str | None) -> None:
    requirement = (
        assess([toolkit("3.4", state) for state in states])
        .tier("bronze")
        .requirement("distinct_actions")
    )
    counts = {
        "approved": requirement.approved,
        "with_reviewers": requirement.with_reviewers,
        "in_progress": requirement.in_progress,
    }
    assert counts == {key: int(key == counted_as) for key in counts}


@pytest.mark.parametrize("state", STATES)
def test_every_workflow_state_is_counted_in_exactly_one_place_or_none(state: str) -> None:
    requirement = assess([toolkit("3.4", state)]).tier("bronze").requirement("distinct_actions")
    total = requirement.approved + requirement.with_reviewers + requirement.in_progress
    assert total == (0 if state in ("withdrawn", "not_approved") else 1)


# --- work still with reviewers or with the town -----------------------------------------------


def test_counts_of_work_with_reviewers_and_in_progress() -> None:
    items = [
        toolkit("3.4"),
        toolkit("3.12", "submitted"),
        toolkit("5.4", "in_review"),
        toolkit("5.7", "draft"),
        toolkit("6.1", "changes_requested"),
        toolkit("6.2", "withdrawn"),
        action("1.2", "in_review"),
        action("1.3", "draft"),
    ]
    assessment = assess(items)
    gold = assessment.tier("gold")
    assert gold.requirement("distinct_actions") == RequirementStatus(
        "distinct_actions", needed=4, approved=1, with_reviewers=2, in_progress=2
    )
    assert gold.requirement("action:1.2") == RequirementStatus("action:1.2", 1, 0, 1, 0)
    assert gold.requirement("action:1.3") == RequirementStatus("action:1.3", 1, 0, 0, 1)
    assert assessment.reached == "bronze"
    # 1 approved + 2 with reviewers = 3: silver if the reviews pass; gold needs 4 and 1.3.
    assert assessment.reachable_with_reviews == "silver"
    assert not gold.would_be_met_if_reviews_pass


def test_reviews_pending_can_lift_a_town_to_gold() -> None:
    items = [toolkit(number, "submitted") for number in PAIRED[:4]]
    items += [action("1.2", "in_review"), action("1.3")]
    assessment = assess(items)
    assert assessment.reached is None
    assert assessment.reachable_with_reviews == "gold"
    assert [status.would_be_met_if_reviews_pass for status in assessment.tiers] == [True] * 3


def test_work_still_with_the_town_does_not_count_as_reachable() -> None:
    assessment = assess([toolkit("3.4", "draft"), toolkit("5.4", "changes_requested")])
    assert assessment.reached is None
    assert assessment.reachable_with_reviews is None
    assert assessment.tier("bronze").requirement("distinct_actions").in_progress == 2


def test_requirement_status_properties() -> None:
    assert RequirementStatus("distinct_actions", 3, 3, 0, 0).met
    assert not RequirementStatus("distinct_actions", 3, 2, 0, 5).met
    assert RequirementStatus("distinct_actions", 3, 2, 1, 0).would_be_met_if_reviews_pass
    assert not RequirementStatus("distinct_actions", 3, 1, 1, 4).would_be_met_if_reviews_pass
    assert RequirementStatus("distinct_actions", 0, 0, 0, 0).met


# --- tiers are cumulative ---------------------------------------------------------------------


def test_a_higher_tier_counts_only_when_the_lower_ones_are_met() -> None:
    # A cycle whose gold asks fewer distinct actions than silver: gold still needs silver first.
    odd = rules(
        {"tier": "bronze", "distinct_actions": 1},
        {"tier": "silver", "distinct_actions": 3},
        {"tier": "gold", "distinct_actions": 2, "also_required": ["1.2", "1.3"]},
    )
    assessment = assess(approved_toolkits(2) + [action("1.2"), action("1.3")], odd)
    assert assessment.tier("gold").met  # judged on its own
    assert not assessment.tier("silver").met
    assert assessment.reached == "bronze"
    assert next_tier(assessment).tier == "silver"


def test_reachable_with_reviews_is_cumulative_too() -> None:
    items = [toolkit("3.4", "submitted"), action("1.2"), action("1.3")]
    no_bronze_yet = rules(
        {"tier": "bronze", "distinct_actions": 2},
        {"tier": "silver", "distinct_actions": 1, "also_required": ["1.2", "1.3"]},
    )
    assessment = assess(items, no_bronze_yet)
    assert assessment.tier("silver").would_be_met_if_reviews_pass
    assert assessment.reachable_with_reviews is None


def test_rules_built_by_hand_are_judged_bronze_first() -> None:
    backwards = [TierRule("silver", 3), TierRule("bronze", 1)]
    assessment = assess(approved_toolkits(3), backwards)
    assert [status.tier for status in assessment.tiers] == ["bronze", "silver"]
    assert assessment.reached == "silver"


def test_rules_built_by_hand_are_checked() -> None:
    with pytest.raises(TierRuleError, match="unknown tier"):
        assess([], [TierRule("platinum", 9)])
    with pytest.raises(TierRuleError, match="only once"):
        assess([], [TierRule("bronze", 1), TierRule("bronze", 2)])


def test_a_cycle_may_have_fewer_tiers() -> None:
    bronze_only = rules({"tier": "bronze", "distinct_actions": 1})
    assessment = assess(approved_toolkits(4), bronze_only)
    assert assessment.reached == "bronze"
    assert next_tier(assessment) is None
    with pytest.raises(KeyError):
        assessment.tier("gold")


def test_no_rules_no_tier() -> None:
    assessment = assess(approved_toolkits(4), [])
    assert (assessment.reached, assessment.tiers, assessment.reachable_with_reviews) == (
        None,
        (),
        None,
    )
    assert next_tier(assessment) is None


# --- next tier --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], "bronze"),
        (approved_toolkits(1), "silver"),
        (approved_toolkits(4), "gold"),
        (approved_toolkits(4) + [action("1.2"), action("1.3")], None),
    ],
)
def test_next_tier_is_the_first_not_met(items: list[Item], expected: str | None) -> None:
    found = next_tier(assess(items))
    assert (found.tier if found else None) == expected
    if found is not None:
        assert not found.met


def test_next_tier_shows_what_is_missing() -> None:
    gold = next_tier(assess(approved_toolkits(4) + [action("1.2")]))
    assert gold is not None and gold.tier == "gold"
    assert [r.key for r in gold.requirements if not r.met] == ["action:1.3"]


# --- bad input --------------------------------------------------------------------------------


def test_unknown_kinds_and_states_are_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        assess([Item(kind="training", action_number="1.2", state="approved", cycle_id=CYCLE)])
    with pytest.raises(ValueError, match="state"):
        assess([toolkit("3.4", state="accepted")])


def test_items_may_be_any_iterable() -> None:
    assert assess_tiers(RULES, iter(approved_toolkits(3)), CYCLE).reached == "silver"
