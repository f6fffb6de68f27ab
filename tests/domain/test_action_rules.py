"""The rules of actions 1.2 and 1.3 that their definitions cannot state: who must attend."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from sct_forms.domain.action_rules import (
    DEFAULT_TRAINING_RULE,
    TrainingRule,
    TrainingRuleError,
    parse_training_rule,
    training_gaps,
)
from sct_forms.domain.answers import ValidationContext
from sct_forms.domain.completeness import EvidenceSummary, completeness
from sct_forms.domain.forms import Form, form_for_action, tier_item_kind
from sct_forms.domain.toolkit_definition import available_versions, load_definition
from tests.toolkit_helpers import STATEMENT_COMPLETE_ANSWERS, TRAINING_COMPLETE_ANSWERS

TRAINING = load_definition("2024.1", Form.TRAINING)
STATEMENT = load_definition("2024.1", Form.STATEMENT)
DEFAULT = parse_training_rule(None)
CTX = ValidationContext(lookback_start=date(2023, 7, 1), today=date(2026, 12, 1))


def answers() -> dict:
    return copy.deepcopy(TRAINING_COMPLETE_ANSWERS)


def codes(gaps: dict) -> list[tuple[str, str]]:
    return [(step, gap.code) for step, found in gaps.items() for gap in found]


def test_the_default_rule_is_one_elected_official_one_staff_one_commissioner_three_sessions():
    assert DEFAULT == TrainingRule(
        roles=(("elected_official", 1), ("municipal_staff", 1), ("commissioner", 1)), sessions=3
    )
    assert parse_training_rule(DEFAULT_TRAINING_RULE) == DEFAULT


def test_a_full_delegation_at_every_session_leaves_no_gap():
    assert training_gaps(TRAINING, answers(), DEFAULT) == {}


def test_a_missing_commissioner_is_named_by_role():
    data = answers()
    data["delegation"]["members"] = data["delegation"]["members"][:2]
    gaps = training_gaps(TRAINING, data, DEFAULT)
    assert codes(gaps) == [("delegation", "delegation_role_short")]
    (gap,) = gaps["delegation"]
    assert gap.path == "members"
    assert gap.params["role"].en == "Member of a board or commission"
    assert gap.params["role"].es == "Miembro de una junta o comisión"
    assert (gap.params["needed"], gap.params["have"], gap.params["sessions"]) == (1, 0, 3)


def test_a_person_who_missed_a_session_is_named_and_does_not_count():
    data = answers()
    data["delegation"]["members"][2]["attended"] = ["session_1", "session_3"]
    gaps = training_gaps(TRAINING, data, DEFAULT)
    assert codes(gaps) == [
        ("delegation", "delegation_role_short"),
        ("delegation", "member_sessions_short"),
    ]
    person = gaps["delegation"][1]
    assert person.params["name"] == "Lee Park"
    assert (person.params["attended"], person.params["sessions"]) == (2, 3)


def test_too_few_sessions_listed_is_a_gap_of_the_series_step():
    data = answers()
    data["series"]["sessions"] = data["series"]["sessions"][:2]
    assert codes(training_gaps(TRAINING, data, DEFAULT)) == [("series", "training_sessions_short")]


def test_the_cycle_may_ask_for_other_roles_and_fewer_sessions():
    rule = parse_training_rule({"roles": {"municipal_staff": 2}, "sessions": 2})
    data = answers()
    data["series"]["sessions"] = data["series"]["sessions"][:2]
    for member in data["delegation"]["members"]:
        member["attended"] = ["session_1", "session_2"]
    gaps = training_gaps(TRAINING, data, rule)
    assert codes(gaps) == [("delegation", "delegation_role_short")]
    assert gaps["delegation"][0].params["have"] == 1
    data["delegation"]["members"][0]["role"] = "municipal_staff"
    assert training_gaps(TRAINING, data, rule) == {}


@pytest.mark.parametrize(
    "data, message",
    [
        ([], "must be a mapping"),
        ({"roles": {"commissioner": 1}, "sessions": 0}, "sessions must be"),
        ({"roles": {"commissioner": 1}, "sessions": True}, "sessions must be"),
        ({"roles": {}, "sessions": 3}, "roles must map"),
        ({"roles": {"commissioner": 0}, "sessions": 3}, "1 or more"),
        ({"roles": ["commissioner"], "sessions": 3}, "roles must map"),
    ],
)
def test_unusable_training_rules_are_refused_in_words(data, message):
    with pytest.raises(TrainingRuleError, match=message):
        parse_training_rule(data)


def test_rule_gaps_keep_the_form_from_being_complete():
    data = answers()
    data["delegation"]["members"] = data["delegation"]["members"][:2]
    evidence = {"confirmation": [EvidenceSummary(kind="document")]}
    whole = completeness(
        TRAINING, answers(), evidence, CTX, training_gaps(TRAINING, answers(), DEFAULT)
    )
    assert whole.is_complete
    short = completeness(TRAINING, data, evidence, CTX, training_gaps(TRAINING, data, DEFAULT))
    assert not short.is_complete
    assert [m.code for m in short.step("delegation").missing] == ["delegation_role_short"]
    assert short.step("delegation").state == "in_progress"


def test_a_statement_adopted_before_the_lookback_window_is_not_complete():
    evidence = {"adoption_record": [EvidenceSummary(kind="document")]}
    data = copy.deepcopy(STATEMENT_COMPLETE_ANSWERS)
    assert completeness(STATEMENT, data, evidence, CTX).is_complete
    data["statement"]["adopted_on"] = "2023-06-30"
    early = completeness(STATEMENT, data, evidence, CTX)
    assert [m.code for m in early.step("statement").missing] == ["date_before_lookback"]


def test_every_form_ships_a_definition_in_english_and_spanish():
    for form in Form:
        assert available_versions(form) == ["2024.1"]
        definition = load_definition("2024.1", form)
        assert definition.title.es
        for step in definition.steps:
            assert step.title.es
            for question in step.questions:
                assert question.label.es, (form, step.key, question.key)
                for sub in question.fields:
                    assert sub.label.es, (form, step.key, sub.key)
                for choice in question.choices:
                    assert choice.label.es


def test_forms_name_the_action_they_document_and_how_tiers_count_them():
    assert form_for_action("1.2") is Form.TRAINING
    assert form_for_action("1.3") is Form.STATEMENT
    assert form_for_action("3.4") is None
    assert tier_item_kind(Form.TOOLKIT) == "toolkit"
    assert tier_item_kind(Form.TRAINING) == tier_item_kind(Form.STATEMENT) == "action"
