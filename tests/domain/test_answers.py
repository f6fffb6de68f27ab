"""Answers: validation codes, required versus draft mode, and normalising form posts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from sct_forms.domain.answers import (
    PROBLEM_CODES,
    FormData,
    Problem,
    ValidationContext,
    is_answered,
    normalise_step_answers,
    parse_date,
    parse_number,
    validate_step_answers,
    validate_value,
)
from sct_forms.domain.toolkit_definition import (
    CURRENT_VERSION,
    Question,
    load_definition,
    parse_definition,
)

CTX = ValidationContext(lookback_start=date(2023, 7, 1), today=date(2024, 6, 30))
DEFINITION = load_definition(CURRENT_VERSION)
CONTEXT = DEFINITION.step("context")
AFFECTED = DEFINITION.step("affected_and_missing")
OUTREACH = DEFINITION.step("outreach")
ENGAGEMENT = DEFINITION.step("engagement")
REFLECTION = DEFINITION.step("reflection")

GOALS = CONTEXT.question("goals")
START = CONTEXT.question("start_date")
GROUPS = AFFECTED.question("groups")
NAME = GROUPS.field("name")
BARRIERS = GROUPS.field("barriers")
METHOD = OUTREACH.question("activities").field("method")
PARTICIPANTS = ENGAGEMENT.question("events").field("participants")
COACH = REFLECTION.question("coach_used")
REPORT_DATE = DEFINITION.step("outcomes").question("report_back_date")


def custom_step(*questions: dict[str, Any]) -> Any:
    """A one-step definition holding the given questions."""
    data = {
        "version": "9.9",
        "title": "Test",
        "steps": [{"key": "only", "title": "Only", "questions": list(questions)}],
    }
    return parse_definition(data).step("only")


def check(question: Question, raw: Any, *, required: bool = True, path: str = "q") -> list[Problem]:
    return validate_value(question, raw, CTX, path=path, check_required=required)


def codes(problems: list[Problem]) -> list[str]:
    return [problem.code for problem in problems]


def group_row(**values: Any) -> dict[str, Any]:
    row = {"name": "", "effect": "", "usually_missing": "", "barriers": [], "other_barriers": ""}
    row.update(values)
    return row


FULL_ROW = group_row(name="Renters", effect="Rents may rise.", usually_missing="yes")


# --- required and empty --------------------------------------------------------------------------


@pytest.mark.parametrize("empty", [None, "", "   ", "\n\t", [], [""]])
def test_unanswered_required_question_is_required_only_when_checking(empty: Any) -> None:
    assert check(GOALS, empty) == [Problem("q", "required", {})]
    assert check(GOALS, empty, required=False) == []


def test_unanswered_optional_question_is_fine() -> None:
    assert check(REPORT_DATE, "") == []
    assert check(COACH, None) == []
    assert check(BARRIERS, []) == []


def test_is_answered() -> None:
    assert is_answered("x") and is_answered(["a"]) and is_answered([{"a": "", "b": "x"}])
    assert not is_answered(" ") and not is_answered([]) and not is_answered([{"a": "", "b": []}])
    assert not is_answered(None) and not is_answered({})
    assert is_answered(3)


# --- text ----------------------------------------------------------------------------------------


def test_text_length_limits() -> None:
    assert check(NAME, "x" * 200) == []
    assert check(NAME, "x" * 201) == [Problem("q", "too_long", {"max": 200, "length": 201})]
    assert check(GOALS, "y" * 5000) == []
    assert codes(check(GOALS, "y" * 5001)) == ["too_long"]
    step = custom_step({"key": "short", "type": "short_text", "label": "S", "max_length": 5})
    assert check(step.question("short"), "sixsix", required=False)[0].params == {
        "max": 5,
        "length": 6,
    }


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["2023-07-01", "2024-02-29", "2024-06-30", " 2024-01-15 "])
def test_dates_inside_the_window_are_fine(typed: str) -> None:
    assert check(START, typed) == []


@pytest.mark.parametrize(
    "typed", ["2024-02-30", "2023-02-29", "03/15/2024", "2024-3-5", "20240315", "soon", "2024"]
)
def test_malformed_dates(typed: str) -> None:
    assert check(START, typed) == [Problem("q", "not_a_date", {"value": typed})]


def test_date_before_the_lookback_window() -> None:
    assert check(START, "2023-06-30") == [
        Problem("q", "date_before_lookback", {"start": "2023-07-01"})
    ]


def test_date_in_the_future() -> None:
    assert check(START, "2024-07-01") == [Problem("q", "date_in_future", {"today": "2024-06-30"})]


def test_window_follows_the_context() -> None:
    later = ValidationContext(lookback_start=date(2024, 1, 1), today=date(2025, 1, 1))
    assert validate_value(START, "2024-07-01", later, path="d", check_required=True) == []
    assert codes(validate_value(START, "2023-12-31", later, path="d", check_required=True)) == [
        "date_before_lookback"
    ]


def test_parse_date() -> None:
    assert parse_date("2024-03-15") == date(2024, 3, 15)
    assert parse_date("2024-13-01") is None
    assert parse_date(None) is None


# --- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["0", "42", " 17 ", "1,250", "100000", "+5", "3.0"])
def test_good_participant_counts(typed: str) -> None:
    assert check(PARTICIPANTS, typed) == []


@pytest.mark.parametrize("typed", ["abc", "12 people", "1e3", "1,25", "--1", ".", "+", "NaN", "١٢"])
def test_not_a_number(typed: str) -> None:
    assert check(PARTICIPANTS, typed) == [Problem("q", "not_a_number", {"value": typed})]


def test_number_limits_and_whole_numbers() -> None:
    assert check(PARTICIPANTS, "12.5") == [Problem("q", "not_whole", {})]
    assert check(PARTICIPANTS, "-1") == [Problem("q", "below_min", {"min": 0})]
    assert check(PARTICIPANTS, "100001") == [Problem("q", "above_max", {"max": 100000})]
    assert codes(check(PARTICIPANTS, "-0.5")) == ["not_whole", "below_min"]


def test_fractional_numbers_when_allowed() -> None:
    step = custom_step(
        {"key": "acres", "type": "number", "label": "Acres", "min_value": 0.5, "max_value": 2.5}
    )
    acres = step.question("acres")
    assert check(acres, "1.75") == []
    assert check(acres, "0.25") == [Problem("q", "below_min", {"min": 0.5})]
    assert check(acres, "2.6") == [Problem("q", "above_max", {"max": 2.5})]
    unbounded = custom_step({"key": "n", "type": "number", "label": "N"}).question("n")
    assert check(unbounded, "-99999999.125") == []


def test_parse_number() -> None:
    assert parse_number("1,234.5") == Decimal("1234.5")
    assert parse_number(".5") == Decimal("0.5")
    assert parse_number(7) == Decimal(7)
    assert parse_number(True) is None
    assert parse_number(float("inf")) is None
    assert parse_number("") is None


# --- choices -------------------------------------------------------------------------------------


def test_choice_values() -> None:
    assert check(METHOD, "flyers") == []
    assert check(METHOD, "carrier_pigeon") == [
        Problem("q", "unknown_choice", {"value": "carrier_pigeon"})
    ]
    assert check(COACH, "yes") == [] and check(COACH, "no") == []
    assert codes(check(COACH, "maybe")) == ["unknown_choice"]
    assert codes(check(COACH, "Yes")) == ["unknown_choice"]


def test_multi_choice_values() -> None:
    assert check(BARRIERS, ["language", "trust"]) == []
    assert check(BARRIERS, ["language", "weather", "weather", "fog"]) == [
        Problem("q", "unknown_choice", {"value": "weather"}),
        Problem("q", "unknown_choice", {"value": "fog"}),
    ]


@pytest.mark.parametrize(
    ("question", "value"),
    [
        (GOALS, ["a list"]),
        (START, 20240101),
        (PARTICIPANTS, ["3"]),
        (PARTICIPANTS, True),
        (METHOD, ["flyers"]),
        (BARRIERS, "language"),
        (BARRIERS, [1, 2]),
        (GROUPS, "Renters"),
        (GROUPS, {"name": "Renters"}),
    ],
)
def test_values_of_the_wrong_shape_are_invalid(question: Question, value: Any) -> None:
    assert codes(check(question, value)) == ["invalid"]


def test_numbers_stored_as_numbers_are_accepted() -> None:
    assert check(PARTICIPANTS, 12) == []


# --- groups --------------------------------------------------------------------------------------


def test_group_sub_field_paths_name_row_and_field() -> None:
    rows = [FULL_ROW, group_row(name="x" * 201, usually_missing="perhaps", barriers=["wifi"])]
    problems = check(GROUPS, rows, path="groups")
    assert problems == [
        Problem("groups.1.name", "too_long", {"max": 200, "length": 201}),
        Problem("groups.1.effect", "required", {}),
        Problem("groups.1.usually_missing", "unknown_choice", {"value": "perhaps"}),
        Problem("groups.1.barriers", "unknown_choice", {"value": "wifi"}),
    ]


def test_group_rows_in_draft_mode_report_only_format_problems() -> None:
    rows = [group_row(name="Renters"), group_row(usually_missing="perhaps")]
    assert check(GROUPS, rows, path="groups", required=False) == [
        Problem("groups.1.usually_missing", "unknown_choice", {"value": "perhaps"})
    ]


def test_row_that_is_not_a_mapping_is_invalid() -> None:
    assert check(GROUPS, [FULL_ROW, "Renters"], path="groups") == [
        Problem("groups.1", "invalid", {})
    ]


def test_empty_required_group_is_required() -> None:
    assert check(GROUPS, [], path="groups") == [Problem("groups", "required", {})]
    assert check(GROUPS, [group_row()], path="groups") == [Problem("groups", "required", {})]


def test_too_few_rows_only_when_checking_required() -> None:
    step = custom_step(
        {
            "key": "pairs",
            "type": "group",
            "label": "Pairs",
            "required": True,
            "min_rows": 2,
            "fields": [{"key": "what", "type": "short_text", "label": "What"}],
        }
    )
    pairs = step.question("pairs")
    assert check(pairs, [{"what": "one"}], path="pairs") == [
        Problem("pairs", "too_few_rows", {"min": 2})
    ]
    assert check(pairs, [{"what": "one"}], path="pairs", required=False) == []
    assert check(pairs, [{"what": "one"}, {"what": "two"}], path="pairs") == []


@pytest.mark.parametrize("required", [True, False])
def test_too_many_rows_in_both_modes(required: bool) -> None:
    assert check(GROUPS, [FULL_ROW] * 50, path="groups", required=required) == []
    assert check(GROUPS, [FULL_ROW] * 51, path="groups", required=required) == [
        Problem("groups", "too_many_rows", {"max": 50})
    ]


# --- steps and modes -----------------------------------------------------------------------------


def test_validate_step_answers_in_question_order_ignoring_unknown_keys() -> None:
    answers = {
        "goals": "",
        "team": "Ana (planner), Luis (volunteer)",
        "community_data": "x" * 5001,
        "start_date": "2030-01-01",
        "retired_question": "kept from an older version",
    }
    assert validate_step_answers(CONTEXT, answers, CTX, check_required=True) == [
        Problem("goals", "required", {}),
        Problem("community_data", "too_long", {"max": 5000, "length": 5001}),
        Problem("start_date", "date_in_future", {"today": "2024-06-30"}),
    ]
    assert validate_step_answers(CONTEXT, answers, CTX, check_required=False) == [
        Problem("community_data", "too_long", {"max": 5000, "length": 5001}),
        Problem("start_date", "date_in_future", {"today": "2024-06-30"}),
    ]


def test_empty_step_is_fine_as_a_draft_but_not_when_required() -> None:
    assert validate_step_answers(CONTEXT, {}, CTX, check_required=False) == []
    assert validate_step_answers(CONTEXT, {}, CTX, check_required=True) == [
        Problem(key, "required", {}) for key in ("goals", "team", "community_data", "start_date")
    ]


@pytest.mark.parametrize(
    ("question", "value", "code"),
    [
        (NAME, "x" * 201, "too_long"),
        (START, "yesterday", "not_a_date"),
        (START, "2020-01-01", "date_before_lookback"),
        (START, "2099-01-01", "date_in_future"),
        (PARTICIPANTS, "lots", "not_a_number"),
        (PARTICIPANTS, "1.5", "not_whole"),
        (PARTICIPANTS, "-3", "below_min"),
        (PARTICIPANTS, "999999", "above_max"),
        (METHOD, "fax", "unknown_choice"),
        (GROUPS, [FULL_ROW] * 60, "too_many_rows"),
        (GOALS, 5, "invalid"),
    ],
)
def test_format_problems_are_reported_in_draft_mode_too(
    question: Question, value: Any, code: str
) -> None:
    assert codes(check(question, value, required=False)) == [code]
    assert codes(check(question, value, required=True)) == [code]


def test_every_problem_code_is_produced() -> None:
    pairs = custom_step(
        {
            "key": "pairs",
            "type": "group",
            "label": "Pairs",
            "required": True,
            "min_rows": 2,
            "fields": [{"key": "what", "type": "short_text", "label": "What"}],
        }
    ).question("pairs")
    cases = [
        (GOALS, ""),
        (NAME, "x" * 201),
        (START, "2024-02-30"),
        (START, "2023-01-01"),
        (START, "2025-01-01"),
        (PARTICIPANTS, "many"),
        (PARTICIPANTS, "2.5"),
        (PARTICIPANTS, "-2"),
        (PARTICIPANTS, "100001"),
        (METHOD, "fax"),
        (pairs, [{"what": "one"}]),
        (GROUPS, [FULL_ROW] * 51),
        (BARRIERS, "language"),
    ]
    produced = {problem.code for question, value in cases for problem in check(question, value)}
    assert produced == set(PROBLEM_CODES)


# --- normalising ---------------------------------------------------------------------------------


def test_normalise_strips_and_fixes_newlines() -> None:
    form = FormData(
        {
            "goals": "  Safer crossings.\r\nFor kids.\rAnd elders.\n\n  ",
            "team": "\x00Ana\x00",
            "community_data": "   ",
            "start_date": " 2024-01-15 ",
        }
    )
    assert normalise_step_answers(CONTEXT, form) == {
        "goals": "Safer crossings.\nFor kids.\nAnd elders.",
        "team": "Ana",
        "community_data": "",
        "start_date": "2024-01-15",
    }


def test_normalise_gives_every_question_a_value_and_ignores_unknown_fields() -> None:
    form = FormData([("csrf_token", "abc"), ("lessons", "Start early."), ("surprise", "x")])
    assert normalise_step_answers(REFLECTION, form) == {
        "lessons": "Start early.",
        "do_differently": "",
        "continuing_engagement": "",
        "coach_used": "",
    }


def test_normalise_keeps_what_was_typed_even_if_invalid() -> None:
    form = FormData({"start_date": "next Tuesday", "goals": "x" * 6000})
    answers = normalise_step_answers(CONTEXT, form)
    assert answers["start_date"] == "next Tuesday"
    assert answers["goals"] == "x" * 6000


def test_normalise_multi_choice_lists() -> None:
    form = FormData(
        [
            ("accommodations", "food"),
            ("accommodations", " childcare "),
            ("accommodations", ""),
            ("accommodations", "food"),
            ("accommodations_detail", "Spanish interpreter at both meetings."),
        ]
    )
    answers = normalise_step_answers(OUTREACH, form)
    assert answers["accommodations"] == ["food", "childcare"]
    assert answers["activities"] == []
    assert normalise_step_answers(OUTREACH, FormData())["accommodations"] == []


def test_normalise_renumbers_group_rows_in_order_and_drops_blank_rows() -> None:
    form = FormData(
        [
            ("groups-5-name", "Seniors"),
            ("groups-5-barriers", "transport"),
            ("groups-5-barriers", "digital_access"),
            ("groups-0-name", " Renters "),
            ("groups-0-effect", "Rents may rise."),
            ("groups-0-usually_missing", "yes"),
            ("groups-3-name", "   "),
            ("groups-3-effect", ""),
            ("groups-3-usually_missing", ""),
            ("groups-10-name", "Teens"),
            ("groups-2-other_barriers", "Night shifts"),
            ("groups-7-unknown", "not a field"),
            ("groups-x-name", "not a row"),
            ("groups--1-name", "not a row"),
            ("how_identified", "Census tracts and the school survey."),
        ]
    )
    answers = normalise_step_answers(AFFECTED, form)
    assert answers["how_identified"] == "Census tracts and the school survey."
    assert answers["groups"] == [
        group_row(name="Renters", effect="Rents may rise.", usually_missing="yes"),
        group_row(other_barriers="Night shifts"),
        group_row(name="Seniors", barriers=["transport", "digital_access"]),
        group_row(name="Teens"),
    ]


def test_normalised_group_then_validates_with_renumbered_paths() -> None:
    form = FormData(
        [
            ("groups-4-name", "Renters"),
            ("groups-4-effect", "Rents may rise."),
            ("groups-4-usually_missing", "yes"),
            ("groups-9-name", "Teens"),
        ]
    )
    answers = normalise_step_answers(AFFECTED, form)
    assert codes(validate_step_answers(AFFECTED, answers, CTX, check_required=False)) == []
    assert validate_step_answers(AFFECTED, answers, CTX, check_required=True) == [
        Problem("groups.1.effect", "required", {}),
        Problem("groups.1.usually_missing", "required", {}),
        Problem("how_identified", "required", {}),
    ]


def test_normalise_accepts_any_getlist_object() -> None:
    class Posted:
        """Shaped like Werkzeug's MultiDict, without depending on it."""

        def __init__(self, pairs: list[tuple[str, str]]) -> None:
            self.pairs = pairs

        def get(self, name: str, default: Any = None) -> Any:
            return next((v for k, v in self.pairs if k == name), default)

        def getlist(self, name: str) -> list[str]:
            return [v for k, v in self.pairs if k == name]

        def __iter__(self):
            return iter(dict.fromkeys(k for k, _ in self.pairs))

    posted = Posted([("events-1-date", "2024-03-02"), ("events-1-format", "workshop")])
    answers = normalise_step_answers(ENGAGEMENT, posted)
    assert answers["events"] == [
        {
            "date": "2024-03-02",
            "format": "workshop",
            "participants": "",
            "groups_represented": "",
            "languages": "",
            "accommodations": "",
        }
    ]


def test_form_data_helper() -> None:
    form = FormData([("a", "1"), ("b", "2"), ("a", "3")])
    assert form.get("a") == "1" and form.getlist("a") == ["1", "3"]
    assert form.get("z") is None and form.get("z", "") == "" and form.getlist("z") == []
    assert list(form) == ["a", "b"]
    assert FormData({"m": ["x", "y"]}).getlist("m") == ["x", "y"]
