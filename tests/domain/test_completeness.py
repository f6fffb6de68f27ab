"""Completeness: required items, evidence, states and percentages."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from sct_forms.domain.answers import ValidationContext, validate_step_answers
from sct_forms.domain.completeness import (
    STEP_STATES,
    EvidenceSummary,
    Missing,
    StepCompleteness,
    ToolkitCompleteness,
    completeness,
    step_completeness,
)
from sct_forms.domain.toolkit_definition import (
    CURRENT_VERSION,
    ToolkitDefinition,
    load_definition,
    parse_definition,
    read_definition_data,
)

CTX = ValidationContext(lookback_start=date(2023, 7, 1), today=date(2024, 6, 30))
DEFINITION = load_definition(CURRENT_VERSION)
SHIPPED_DATA = read_definition_data(CURRENT_VERSION)

DOC = EvidenceSummary("document")
IMAGE = EvidenceSummary("image")
SHEET = EvidenceSummary("spreadsheet")
TEXT = EvidenceSummary("text")

# Required items of an untouched toolkit: context 4; groups 1 row x 3 + how_identified;
# activities 1 row x 4 + evidence; events 1 row x 4 + 2 + evidence; changes 1 row x 3 + 1; 3.
EMPTY_TOTALS = {
    "context": 4,
    "affected_and_missing": 4,
    "outreach": 5,
    "engagement": 7,
    "outcomes": 4,
    "reflection": 3,
}


def complete_answers() -> dict[str, dict[str, Any]]:
    """Answers that complete every step of the shipped definition."""
    return {
        "context": {
            "goals": "Make the Elm Street crossing safe for children walking to school.",
            "team": "Ana Ruiz (town planner), Luis Ortiz (PTA), Mei Chen (library).",
            "community_data": "Census tract data and crash maps from 2019 to 2023.",
            "start_date": "2023-09-05",
        },
        "affected_and_missing": {
            "groups": [
                {
                    "name": "Spanish-speaking parents",
                    "effect": "Their children cross Elm Street every day.",
                    "usually_missing": "yes",
                    "barriers": ["language", "schedule"],
                    "other_barriers": "",
                },
                {
                    "name": "Older adults",
                    "effect": "They use the bus stop at the corner.",
                    "usually_missing": "no",
                    "barriers": [],
                    "other_barriers": "",
                },
            ],
            "how_identified": "School enrolment data and talks with the senior centre.",
        },
        "outreach": {
            "activities": [
                {
                    "date": "2023-10-02",
                    "method": "flyers",
                    "languages": "English, Spanish",
                    "groups_reached": "Parents",
                    "partners": "Elm School PTA",
                }
            ],
            "accommodations": ["interpretation", "childcare"],
            "accommodations_detail": "",
        },
        "engagement": {
            "events": [
                {
                    "date": "2023-11-14",
                    "format": "workshop",
                    "participants": "38",
                    "groups_represented": "Parents, older adults",
                    "languages": "English, Spanish",
                    "accommodations": "Childcare, food",
                }
            ],
            "what_people_said": "Cars drive too fast; the crossing light is too short.",
            "shared_decisions": "Parents voted between three crossing designs.",
        },
        "outcomes": {
            "changes": [
                {
                    "what_changed": "The crossing light was made 10 seconds longer.",
                    "because_of": "Older adults said they could not cross in time.",
                    "who_benefits": "Older adults, children",
                }
            ],
            "closing_the_loop": "A bilingual letter went home with every student.",
            "report_back_date": "",
        },
        "reflection": {
            "lessons": "Partnering with the PTA brought in far more parents.",
            "do_differently": "Start outreach a month earlier.",
            "continuing_engagement": "A parent seat on the traffic committee.",
            "coach_used": "yes",
        },
    }


FULL_EVIDENCE = {"outreach": [IMAGE], "engagement": [SHEET, DOC]}


def resolves(definition: ToolkitDefinition, step_key: str, path: str) -> bool:
    """Whether a Missing path points at a field of the step (or is "" for evidence)."""
    step = definition.step(step_key)
    if path == "":
        return step.evidence is not None
    parts = path.split(".")
    question = step.question(parts[0])
    if len(parts) == 1:
        return True
    return len(parts) == 3 and parts[1].isdigit() and question.field(parts[2]) is not None


# --- whole toolkit -------------------------------------------------------------------------------


def test_complete_answers_with_evidence_complete_the_toolkit() -> None:
    result = completeness(DEFINITION, complete_answers(), FULL_EVIDENCE, CTX)
    assert result.is_complete
    assert result.percent == 100
    assert [step.state for step in result.steps] == ["complete"] * 6
    assert all(step.missing == () and step.percent == 100 for step in result.steps)
    # Two rows of groups, so affected_and_missing counts 2 x 3 + 1 items.
    assert result.step("affected_and_missing").required_total == 7
    assert result.required_done == result.required_total == 30


def test_empty_toolkit_is_not_started_everywhere() -> None:
    result = completeness(DEFINITION, {}, {}, CTX)
    assert [step.state for step in result.steps] == ["not_started"] * 6
    assert {step.step_key: step.required_total for step in result.steps} == EMPTY_TOTALS
    assert result.required_total == 27 and result.required_done == 0
    assert result.percent == 0 and not result.is_complete
    assert [s.step_key for s in result.steps] == [s.key for s in DEFINITION.steps]


def test_every_missing_path_is_an_anchor_to_a_field() -> None:
    answers = complete_answers()
    answers["affected_and_missing"]["groups"][1]["effect"] = ""
    answers["engagement"]["events"][0]["participants"] = "lots"
    answers["context"]["goals"] = ""
    for result in (
        completeness(DEFINITION, {}, {}, CTX),
        completeness(DEFINITION, answers, {}, CTX),
    ):
        for step in result.steps:
            for missing in step.missing:
                assert resolves(DEFINITION, step.step_key, missing.path), missing


def test_unknown_step_key_raises() -> None:
    with pytest.raises(KeyError):
        completeness(DEFINITION, {}, {}, CTX).step("nope")


def test_answers_for_unknown_steps_are_ignored() -> None:
    result = completeness(DEFINITION, {"retired_step": {"x": "y"}}, {"retired_step": [DOC]}, CTX)
    assert [step.state for step in result.steps] == ["not_started"] * 6


# --- states --------------------------------------------------------------------------------------


def test_state_moves_from_not_started_to_in_progress_to_complete() -> None:
    step = DEFINITION.step("context")
    answers: dict[str, Any] = {}
    assert step_completeness(step, answers, [], CTX).state == "not_started"
    answers["team"] = "Ana"
    middle = step_completeness(step, answers, [], CTX)
    assert middle.state == "in_progress"
    assert (middle.required_done, middle.required_total) == (1, 4)
    answers.update(complete_answers()["context"])
    assert step_completeness(step, answers, [], CTX).state == "complete"
    assert set(STEP_STATES) == {"not_started", "in_progress", "complete"}


def test_blank_answers_do_not_start_a_step() -> None:
    step = DEFINITION.step("affected_and_missing")
    blank = {"groups": [{"name": " ", "barriers": []}], "how_identified": "  "}
    assert step_completeness(step, blank, [], CTX).state == "not_started"


def test_evidence_alone_starts_a_step() -> None:
    result = step_completeness(DEFINITION.step("outreach"), {}, [IMAGE], CTX)
    assert result.state == "in_progress"
    assert (result.required_done, result.required_total) == (1, 5)
    assert all(missing.code != "evidence_missing" for missing in result.missing)


def test_invalid_answer_started_but_not_done() -> None:
    answers = complete_answers()["context"]
    answers["start_date"] = "2024-07-04"
    result = step_completeness(DEFINITION.step("context"), answers, [], CTX)
    assert result.state == "in_progress"
    assert result.missing == (Missing("start_date", "date_in_future", {"today": "2024-06-30"}),)
    assert (result.required_done, result.required_total) == (3, 4)
    assert result.percent == 75


def test_step_that_requires_nothing_is_complete_when_untouched() -> None:
    data = {
        "version": "9.9",
        "title": "T",
        "steps": [
            {
                "key": "notes",
                "title": "Notes",
                "questions": [{"key": "anything", "type": "long_text", "label": "Anything?"}],
            }
        ],
    }
    result = completeness(parse_definition(data), {}, {}, CTX)
    assert result.step("notes").state == "complete"
    assert result.step("notes").required_total == 0
    assert result.percent == 100 and result.is_complete


# --- evidence ------------------------------------------------------------------------------------


def test_missing_evidence_keeps_a_step_incomplete() -> None:
    answers = complete_answers()
    result = completeness(DEFINITION, answers, {}, CTX)
    outreach = result.step("outreach")
    assert outreach.state == "in_progress"
    assert outreach.missing == (
        Missing("", "evidence_missing", {"min": 1, "kinds": ["document", "image"], "have": 0}),
    )
    assert (outreach.required_done, outreach.required_total) == (4, 5)
    assert outreach.percent == 80
    assert result.step("engagement").state == "in_progress"
    assert not result.is_complete
    # Steps that expect no evidence are complete without any.
    assert result.step("context").state == "complete"


def test_evidence_of_the_wrong_kind_does_not_count() -> None:
    answers = complete_answers()["outreach"]
    step = DEFINITION.step("outreach")
    wrong = step_completeness(step, answers, [SHEET, TEXT], CTX)
    assert wrong.state == "in_progress"
    assert wrong.missing[0].params["have"] == 0
    assert step_completeness(step, answers, [SHEET, DOC], CTX).state == "complete"
    assert (
        step_completeness(
            DEFINITION.step("engagement"), complete_answers()["engagement"], [SHEET], CTX
        ).state
        == "complete"
    )


def test_min_files_is_respected() -> None:
    data = copy.deepcopy(SHIPPED_DATA)
    data["steps"][2]["evidence"]["min_files"] = 2
    step = parse_definition(data).step("outreach")
    answers = complete_answers()["outreach"]
    one = step_completeness(step, answers, [IMAGE], CTX)
    assert one.missing == (
        Missing("", "evidence_missing", {"min": 2, "kinds": ["document", "image"], "have": 1}),
    )
    assert step_completeness(step, answers, [IMAGE, DOC], CTX).state == "complete"


def test_optional_evidence_is_not_counted() -> None:
    data = copy.deepcopy(SHIPPED_DATA)
    data["steps"][2]["evidence"] = {"required": False, "kinds": ["image"]}
    step = parse_definition(data).step("outreach")
    result = step_completeness(step, complete_answers()["outreach"], [], CTX)
    assert result.state == "complete" and result.required_total == 4


# --- groups --------------------------------------------------------------------------------------


def test_empty_required_group_counts_its_minimum_rows() -> None:
    answers = complete_answers()["affected_and_missing"]
    answers["groups"] = []
    result = step_completeness(DEFINITION.step("affected_and_missing"), answers, [], CTX)
    assert result.missing == (Missing("groups", "required", {}),)
    assert (result.required_done, result.required_total) == (1, 4)
    assert result.percent == 25


def test_each_row_counts_its_required_sub_fields() -> None:
    answers = complete_answers()["affected_and_missing"]
    answers["groups"][1]["effect"] = ""
    answers["groups"][1]["usually_missing"] = "sometimes"
    result = step_completeness(DEFINITION.step("affected_and_missing"), answers, [], CTX)
    assert result.missing == (
        Missing("groups.1.effect", "required", {}),
        Missing("groups.1.usually_missing", "unknown_choice", {"value": "sometimes"}),
    )
    assert (result.required_done, result.required_total) == (5, 7)
    assert result.percent == 71


def test_group_below_min_rows_reports_too_few_rows() -> None:
    data = copy.deepcopy(SHIPPED_DATA)
    data["steps"][4]["questions"][0]["min_rows"] = 3
    step = parse_definition(data).step("outcomes")
    answers = complete_answers()["outcomes"]
    result = step_completeness(step, answers, [], CTX)
    assert result.missing == (Missing("changes", "too_few_rows", {"min": 3}),)
    # Three rows of three required sub-fields, one row filled, plus closing_the_loop.
    assert (result.required_done, result.required_total) == (4, 10)
    answers["changes"] = answers["changes"] * 3
    assert step_completeness(step, answers, [], CTX).state == "complete"


def test_too_many_rows_is_missing_even_when_every_item_is_done() -> None:
    answers = complete_answers()["outcomes"]
    answers["changes"] = answers["changes"] * 51
    result = step_completeness(DEFINITION.step("outcomes"), answers, [], CTX)
    assert result.missing == (Missing("changes", "too_many_rows", {"max": 50}),)
    assert result.required_done == result.required_total
    assert result.state == "in_progress" and result.percent == 99


def test_optional_group_counts_only_rows_that_exist() -> None:
    data = {
        "version": "9.9",
        "title": "T",
        "steps": [
            {
                "key": "s",
                "title": "S",
                "questions": [
                    {
                        "key": "extras",
                        "type": "group",
                        "label": "Extras",
                        "fields": [
                            {"key": "what", "type": "short_text", "label": "W", "required": True},
                            {"key": "note", "type": "short_text", "label": "N"},
                        ],
                    },
                    {
                        "key": "tags",
                        "type": "group",
                        "label": "Tags",
                        "required": True,
                        "fields": [{"key": "tag", "type": "short_text", "label": "Tag"}],
                    },
                ],
            }
        ],
    }
    step = parse_definition(data).step("s")
    empty = step_completeness(step, {}, [], CTX)
    # extras: no rows, nothing required; tags: one required item (the group itself).
    assert (empty.required_done, empty.required_total) == (0, 1)
    answers = {"extras": [{"what": "", "note": "x"}], "tags": [{"tag": "a"}]}
    partial = step_completeness(step, answers, [], CTX)
    assert (partial.required_done, partial.required_total) == (1, 2)
    assert partial.missing == (Missing("extras.0.what", "required", {}),)
    answers["extras"][0]["what"] = "y"
    assert step_completeness(step, answers, [], CTX).state == "complete"


# --- percentages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("done", "total", "state", "percent"),
    [
        (0, 4, "not_started", 0),
        (1, 4, "in_progress", 25),
        (2, 3, "in_progress", 66),
        (4, 4, "in_progress", 99),
        (199, 200, "in_progress", 99),
        (4, 4, "complete", 100),
        (0, 0, "complete", 100),
        (0, 0, "in_progress", 0),
    ],
)
def test_step_percent(done: int, total: int, state: str, percent: int) -> None:
    missing = () if state == "complete" else (Missing("x", "required", {}),)
    assert StepCompleteness("s", total, done, missing, state).percent == percent


def test_toolkit_percent_is_over_all_required_items() -> None:
    answers = complete_answers()
    del answers["reflection"]
    result = completeness(DEFINITION, answers, FULL_EVIDENCE, CTX)
    assert (result.required_done, result.required_total) == (27, 30)
    assert result.percent == 90
    assert not result.is_complete


def test_toolkit_percent_never_shows_100_while_anything_is_missing() -> None:
    complete = StepCompleteness("a", 500, 500, (), "complete")
    almost = StepCompleteness("b", 500, 499, (Missing("q", "required", {}),), "in_progress")
    result = ToolkitCompleteness((complete, almost))
    assert result.percent == 99 and not result.is_complete
    assert ToolkitCompleteness((complete,)).percent == 100
    assert ToolkitCompleteness(()).is_complete


# --- definitions drive everything ----------------------------------------------------------------


def test_an_added_required_question_changes_validation_and_completeness() -> None:
    data = copy.deepcopy(SHIPPED_DATA)
    data["steps"][0]["questions"].append(
        {
            "key": "budget",
            "type": "number",
            "required": True,
            "min_value": 0,
            "label": {"en": "Budget in dollars", "es": "Presupuesto en dólares"},
        }
    )
    revised = parse_definition(data)
    answers = complete_answers()

    assert (
        validate_step_answers(
            DEFINITION.step("context"), answers["context"], CTX, check_required=True
        )
        == []
    )
    problems = validate_step_answers(
        revised.step("context"), answers["context"], CTX, check_required=True
    )
    assert [(p.path, p.code) for p in problems] == [("budget", "required")]

    before = completeness(DEFINITION, answers, FULL_EVIDENCE, CTX)
    after = completeness(revised, answers, FULL_EVIDENCE, CTX)
    assert before.is_complete
    assert not after.is_complete
    context = after.step("context")
    assert (context.required_done, context.required_total) == (4, 5)
    assert context.missing == (Missing("budget", "required", {}),)
    assert after.percent == 96

    answers["context"]["budget"] = "-5"
    assert after_missing(revised, answers) == (Missing("budget", "below_min", {"min": 0}),)
    answers["context"]["budget"] = "12,000"
    assert completeness(revised, answers, FULL_EVIDENCE, CTX).is_complete


def after_missing(definition: ToolkitDefinition, answers: dict[str, Any]) -> tuple[Missing, ...]:
    return completeness(definition, answers, FULL_EVIDENCE, CTX).step("context").missing


def test_lookback_window_comes_from_the_context() -> None:
    answers = complete_answers()
    later = ValidationContext(lookback_start=date(2024, 1, 1), today=date(2024, 6, 30))
    result = completeness(DEFINITION, answers, FULL_EVIDENCE, later)
    # Every dated answer in complete_answers() falls in 2023, before this window.
    assert result.step("context").missing == (
        Missing("start_date", "date_before_lookback", {"start": "2024-01-01"}),
    )
    assert result.step("outreach").missing[0].path == "activities.0.date"
    assert not result.is_complete
