"""The toolkit definition: the shipped YAML, and the checks that guard staff-edited versions."""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from sct_forms.domain import toolkit_definition as td
from sct_forms.domain.toolkit_definition import (
    CURRENT_VERSION,
    EVIDENCE_KINDS,
    QUESTION_TYPES,
    DefinitionError,
    LocalText,
    Question,
    ToolkitDefinition,
    available_versions,
    load_definition,
    parse_definition,
    read_definition_data,
)

STEP_KEYS = [
    "context",
    "affected_and_missing",
    "outreach",
    "engagement",
    "outcomes",
    "reflection",
]


SHIPPED_DATA = read_definition_data(CURRENT_VERSION)


def raw() -> dict[str, Any]:
    """A fresh, mutable copy of the shipped definition's data."""
    return copy.deepcopy(SHIPPED_DATA)


def local_texts(definition: ToolkitDefinition) -> Iterator[tuple[str, LocalText]]:
    """Every piece of text in a definition, with where it is."""
    yield "title", definition.title

    def from_question(where: str, question: Question) -> Iterator[tuple[str, LocalText]]:
        yield f"{where}.label", question.label
        if question.hint:
            yield f"{where}.hint", question.hint
        if question.row_label:
            yield f"{where}.row_label", question.row_label
        for choice in question.choices:
            yield f"{where}.choices.{choice.value}", choice.label
        for sub in question.fields:
            yield from from_question(f"{where}.{sub.key}", sub)

    for step in definition.steps:
        yield f"{step.key}.title", step.title
        if step.intro:
            yield f"{step.key}.intro", step.intro
        if step.evidence and step.evidence.hint:
            yield f"{step.key}.evidence.hint", step.evidence.hint
        for question in step.questions:
            yield from from_question(f"{step.key}.{question.key}", question)


def all_questions(definition: ToolkitDefinition) -> Iterator[Question]:
    for step in definition.steps:
        for question in step.questions:
            yield question
            yield from question.fields


# --- the shipped definition ----------------------------------------------------------------------


def test_shipped_definition_loads_as_current_version() -> None:
    definition = load_definition(CURRENT_VERSION)
    assert definition.version == CURRENT_VERSION == "2024.1"
    assert CURRENT_VERSION in available_versions()
    assert definition.title.get("en") == "Equity Toolkit"


def test_shipped_definition_has_six_steps_in_order() -> None:
    definition = load_definition(CURRENT_VERSION)
    assert [step.key for step in definition.steps] == STEP_KEYS
    assert [step.number for step in definition.steps] == [1, 2, 3, 4, 5, 6]


def test_every_text_of_the_shipped_definition_is_in_english_and_spanish() -> None:
    definition = load_definition(CURRENT_VERSION)
    texts = list(local_texts(definition))
    assert len(texts) > 120
    for where, text in texts:
        assert text.en.strip(), where
        assert text.es and text.es.strip(), f"{where} has no Spanish"
        assert text.es != text.en or len(text.en) < 4, f"{where}: Spanish copies English"


def test_every_shipped_question_has_a_hint_and_groups_a_row_label() -> None:
    definition = load_definition(CURRENT_VERSION)
    for question in all_questions(definition):
        assert question.hint is not None, question.key
        assert len(question.hint.en) <= 120, f"{question.key}: hint is not short"
        if question.type == "group":
            assert question.row_label is not None, question.key


def test_shipped_definition_uses_plain_sentences() -> None:
    # A rough guard on reading level: no long sentences in labels or hints.
    definition = load_definition(CURRENT_VERSION)
    for where, text in local_texts(definition):
        for sentence in re.split(r"[.?!]\s", text.en):
            assert len(sentence.split()) <= 25, f"{where}: {sentence!r}"


def test_shipped_steps_have_their_expected_questions() -> None:
    definition = load_definition(CURRENT_VERSION)
    keys = {step.key: [q.key for q in step.questions] for step in definition.steps}
    assert keys == {
        "context": ["goals", "team", "community_data", "start_date"],
        "affected_and_missing": ["groups", "how_identified"],
        "outreach": ["activities", "accommodations", "accommodations_detail"],
        "engagement": ["events", "what_people_said", "shared_decisions"],
        "outcomes": ["changes", "closing_the_loop", "report_back_date"],
        "reflection": ["lessons", "do_differently", "continuing_engagement", "coach_used"],
    }
    groups = definition.step("affected_and_missing").question("groups")
    assert groups.type == "group" and groups.required and groups.min_rows == 1
    assert [f.key for f in groups.fields] == [
        "name",
        "effect",
        "usually_missing",
        "barriers",
        "other_barriers",
    ]
    assert [f.required for f in groups.fields] == [True, True, True, False, False]
    assert groups.field("barriers").choice_values() == (
        "language",
        "schedule",
        "transport",
        "childcare",
        "disability",
        "digital_access",
        "trust",
        "cost",
        "other",
    )
    method = definition.step("outreach").question("activities").field("method")
    assert method.type == "choice" and method.required
    assert "door_to_door" in method.choice_values() and "phone_text" in method.choice_values()
    participants = definition.step("engagement").question("events").field("participants")
    assert participants.type == "number" and participants.whole_number
    assert (participants.min_value, participants.max_value) == (0, 100000)
    assert definition.step("outcomes").question("report_back_date").required is False
    assert definition.step("reflection").question("coach_used").type == "yes_no"
    assert definition.step("reflection").question("coach_used").required is False


def test_shipped_evidence_expectations() -> None:
    definition = load_definition(CURRENT_VERSION)
    evidence = {step.key: step.evidence for step in definition.steps}
    assert evidence["outreach"] is not None and evidence["outreach"].required
    assert evidence["outreach"].kinds == ("document", "image")
    assert evidence["outreach"].min_files == 1
    assert evidence["engagement"] is not None
    assert evidence["engagement"].kinds == ("document", "image", "spreadsheet")
    assert all(evidence[key] is None for key in ("context", "outcomes", "reflection"))


def test_shipped_types_are_known_and_text_lengths_default() -> None:
    definition = load_definition(CURRENT_VERSION)
    for question in all_questions(definition):
        assert question.type in QUESTION_TYPES
        if question.type == "short_text":
            assert question.max_length == 200
        elif question.type == "long_text":
            assert question.max_length == 5000
        else:
            assert question.max_length is None
    for step in definition.steps:
        if step.evidence:
            assert set(step.evidence.kinds) <= set(EVIDENCE_KINDS)


def test_load_definition_is_cached() -> None:
    assert load_definition(CURRENT_VERSION) is load_definition(CURRENT_VERSION)


@pytest.mark.parametrize(
    "version", ["1999.1", "../definitions/equity-toolkit-2024.1", "", "2024.1 "]
)
def test_unknown_version_is_a_definition_error(version: str) -> None:
    with pytest.raises(DefinitionError, match="unknown equity-toolkit definition version"):
        load_definition(version)


# --- navigation and text -------------------------------------------------------------------------


def test_step_navigation() -> None:
    definition = load_definition(CURRENT_VERSION)
    assert definition.step("outreach").number == 3
    assert definition.step_after("context").key == "affected_and_missing"
    assert definition.step_after("reflection") is None
    assert definition.step_before("context") is None
    assert definition.step_before("outcomes").key == "engagement"
    with pytest.raises(KeyError):
        definition.step("nope")
    with pytest.raises(KeyError):
        definition.step_after("nope")
    with pytest.raises(KeyError):
        definition.step_before("nope")
    assert definition.step("context").question("goals").type == "long_text"
    with pytest.raises(KeyError):
        definition.step("context").question("nope")
    with pytest.raises(KeyError):
        definition.step("outreach").question("activities").field("nope")


def test_local_text_falls_back_to_english() -> None:
    both = LocalText(en="Date", es="Fecha")
    assert both.get("en") == "Date"
    assert both.get("es") == "Fecha"
    assert both.get("es-MX") == "Fecha"
    assert both.get("es_PR") == "Fecha"
    assert both.get("fr") == "Date"
    assert both.get("") == "Date"
    assert LocalText(en="Date").get("es") == "Date"


def test_text_may_be_a_plain_string_or_a_mapping() -> None:
    data = raw()
    data["title"] = "  Plain title  "
    data["steps"][0]["title"] = {"en": "Only English"}
    definition = parse_definition(data)
    assert definition.title == LocalText(en="Plain title", es=None)
    assert definition.steps[0].title == LocalText(en="Only English", es=None)


def test_group_defaults_and_explicit_limits() -> None:
    data = raw()
    group = data["steps"][1]["questions"][0]
    del group["min_rows"]
    group["max_rows"] = 7
    question = parse_definition(data).step("affected_and_missing").question("groups")
    assert (question.min_rows, question.max_rows) == (1, 7)
    group["required"] = False
    optional = parse_definition(data).step("affected_and_missing").question("groups")
    assert (optional.min_rows, optional.required) == (0, False)


def test_evidence_defaults_accept_every_kind() -> None:
    data = raw()
    data["steps"][0]["evidence"] = {"required": True}
    evidence = parse_definition(data).step("context").evidence
    assert evidence is not None
    assert (evidence.required, evidence.min_files, evidence.kinds) == (True, 1, EVIDENCE_KINDS)


# --- bad definitions -----------------------------------------------------------------------------


def _question(data: dict[str, Any], step: int, index: int) -> dict[str, Any]:
    return data["steps"][step]["questions"][index]


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


def _delete(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target = data
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return change


def _append_question(step: int, question: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["steps"][step]["questions"].append(question)

    return change


Q = ["steps", 2, "questions"]  # the outreach step's questions
GROUP_FIELDS = ["steps", 1, "questions", 0, "fields"]

BAD_DEFINITIONS = [
    ("unknown type", _set([*Q, 1, "type"], "txt"), "steps[2].questions[1]: unknown type 'txt'"),
    (
        "duplicate question key",
        _set([*Q, 2, "key"], "accommodations"),
        "steps[2].questions[2]: duplicate key 'accommodations'",
    ),
    ("duplicate step key", _set(["steps", 5, "key"], "context"), "steps[5]: duplicate step key"),
    (
        "duplicate key in group",
        _set([*GROUP_FIELDS, 1, "key"], "name"),
        "steps[1].questions[0].fields[1]: duplicate key 'name'",
    ),
    (
        "bad key",
        _set(["steps", 0, "questions", 0, "key"], "Goals"),
        "steps[0].questions[0].key: key 'Goals'",
    ),
    (
        "choice without choices",
        _delete([*Q, 1, "choices"]),
        "steps[2].questions[1]: a multi_choice question needs choices",
    ),
    (
        "empty choices",
        _set([*Q, 1, "choices"], []),
        "steps[2].questions[1].choices: a choice question needs at least one choice",
    ),
    (
        "duplicate choice value",
        _set([*Q, 1, "choices", 1, "value"], "interpretation"),
        "steps[2].questions[1].choices[1]: duplicate choice value 'interpretation'",
    ),
    (
        "choice without label",
        _delete([*Q, 1, "choices", 0, "label"]),
        "steps[2].questions[1].choices[0]: label is required",
    ),
    (
        "nested group",
        _set([*GROUP_FIELDS, 4], {"key": "inner", "type": "group", "label": "x", "fields": []}),
        "steps[1].questions[0].fields[4]: a group cannot contain another group",
    ),
    (
        "group without fields",
        _delete(["steps", 1, "questions", 0, "fields"]),
        "steps[1].questions[0]: a group needs fields",
    ),
    (
        "group with empty fields",
        _set(["steps", 1, "questions", 0, "fields"], []),
        "steps[1].questions[0].fields: a group needs at least one field",
    ),
    (
        "max_rows zero",
        _set(["steps", 1, "questions", 0, "max_rows"], 0),
        "steps[1].questions[0].max_rows: must be 1 or more",
    ),
    (
        "min_rows above max_rows",
        lambda d: d["steps"][1]["questions"][0].update(min_rows=5, max_rows=3),
        "steps[1].questions[0]: min_rows 5 is above max_rows 3",
    ),
    (
        "required group with no rows",
        _set(["steps", 1, "questions", 0, "min_rows"], 0),
        "steps[1].questions[0]: a required group needs min_rows of 1 or more",
    ),
    (
        "optional group asking for rows",
        _set(["steps", 1, "questions", 0, "required"], False),
        "steps[1].questions[0]: min_rows is 1 but the group is not required",
    ),
    (
        "missing English",
        _set(["steps", 0, "questions", 0, "label"], {"es": "Objetivos"}),
        "steps[0].questions[0].label: English text (en) is required",
    ),
    (
        "empty label",
        _set(["steps", 0, "questions", 0, "label"], "  "),
        "steps[0].questions[0].label: expected non-empty text",
    ),
    (
        "unknown language",
        _set(["steps", 0, "title", "fr"], "Contexte"),
        "steps[0].title: unknown setting 'fr'",
    ),
    (
        "misspelt setting",
        _set(["steps", 0, "questions", 0, "requried"], True),
        "steps[0].questions[0]: unknown setting 'requried'",
    ),
    (
        "setting for another type",
        _set(["steps", 0, "questions", 3, "max_length"], 10),
        "steps[0].questions[3]: unknown setting 'max_length'",
    ),
    (
        "required is not a boolean",
        _set(["steps", 0, "questions", 0, "required"], "yes"),
        "steps[0].questions[0].required: expected true or false",
    ),
    (
        "max_length zero",
        _set(["steps", 0, "questions", 0, "max_length"], 0),
        "steps[0].questions[0].max_length: must be 1 or more",
    ),
    (
        "min_value above max_value",
        _set(["steps", 3, "questions", 0, "fields", 2, "min_value"], 200000),
        "steps[3].questions[0].fields[2]: min_value 200000 is above max_value 100000",
    ),
    (
        "min_value not a number",
        _set(["steps", 3, "questions", 0, "fields", 2, "min_value"], "zero"),
        "steps[3].questions[0].fields[2].min_value: expected a number",
    ),
    (
        "unknown evidence kind",
        _set(["steps", 2, "evidence", "kinds"], ["document", "video"]),
        "steps[2].evidence.kinds[1]: unknown evidence kind 'video'",
    ),
    (
        "no evidence kinds",
        _set(["steps", 2, "evidence", "kinds"], []),
        "steps[2].evidence.kinds: name at least one kind",
    ),
    (
        "required evidence of no files",
        _set(["steps", 2, "evidence", "min_files"], 0),
        "steps[2].evidence: required evidence needs min_files of 1 or more",
    ),
    ("version as a number", _set(["version"], 2024.1), "version: 2024.1 must be text"),
    ("no steps", _set(["steps"], []), "steps: a toolkit needs at least one step"),
    ("steps not a list", _set(["steps"], {"a": 1}), "steps: expected a list"),
    (
        "empty step",
        lambda d: d["steps"][5].update(questions=[]),
        "steps[5]: a step needs questions or evidence",
    ),
    ("step without title", _delete(["steps", 4, "title"]), "steps[4]: title is required"),
    (
        "question not a mapping",
        _append_question(0, "goals"),
        "steps[0].questions[4]: expected a mapping of settings",
    ),
    (
        "question without label",
        _append_question(0, {"key": "extra", "type": "date"}),
        "steps[0].questions[4]: label is required",
    ),
    ("unknown top-level setting", _set(["cycle"], "2024"), "definition: unknown setting 'cycle'"),
]


@pytest.mark.parametrize(
    ("change", "message"),
    [(change, message) for _, change, message in BAD_DEFINITIONS],
    ids=[f"{index}-{name}" for index, (name, _, _) in enumerate(BAD_DEFINITIONS)],
)
def test_bad_definition_is_refused_with_its_location(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    data = raw()
    change(data)
    with pytest.raises(DefinitionError) as caught:
        parse_definition(data)
    assert str(caught.value).startswith(message), str(caught.value)


def test_unchanged_copy_parses_to_an_equal_definition() -> None:
    assert parse_definition(raw()) == load_definition(CURRENT_VERSION)


# --- loading from a package ----------------------------------------------------------------------


@pytest.fixture
def definitions_package(tmp_path, monkeypatch) -> Iterator[Any]:
    """A throwaway definitions package that load_definition reads instead of the shipped one."""
    package = tmp_path / "spare_definitions"
    package.mkdir()
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    # Each test has its own folder, so a package imported by an earlier test must be forgotten.
    monkeypatch.delitem(sys.modules, "spare_definitions", raising=False)
    monkeypatch.setattr(td, "DEFINITIONS_PACKAGE", "spare_definitions")
    load_definition.cache_clear()
    yield package
    load_definition.cache_clear()


def test_available_versions_sort_numerically(definitions_package) -> None:
    for version in ("2024.10", "2024.2", "2025.1", "2024.1"):
        (definitions_package / f"equity-toolkit-{version}.yaml").write_text("{}")
    (definitions_package / "notes.yaml").write_text("{}")
    assert available_versions() == ["2024.1", "2024.2", "2024.10", "2025.1"]


def test_load_definition_names_the_file_in_errors(definitions_package) -> None:
    data = raw()
    data["steps"][0]["questions"][0]["type"] = "txt"
    (definitions_package / "equity-toolkit-2030.1.yaml").write_text(
        yaml.safe_dump({**data, "version": "2030.1"}, allow_unicode=True)
    )
    with pytest.raises(DefinitionError, match=r"^equity-toolkit-2030\.1\.yaml: steps\[0\]"):
        load_definition("2030.1")


def test_load_definition_refuses_a_file_naming_another_version(definitions_package) -> None:
    (definitions_package / "equity-toolkit-2030.1.yaml").write_text(
        yaml.safe_dump(raw(), allow_unicode=True)
    )
    with pytest.raises(DefinitionError, match="says version '2024.1'"):
        load_definition("2030.1")


@pytest.mark.parametrize(("text", "message"), [("steps: [", "not valid YAML"), ("- a", "mapping")])
def test_load_definition_refuses_broken_yaml(definitions_package, text: str, message: str) -> None:
    (definitions_package / "equity-toolkit-2030.1.yaml").write_text(text)
    with pytest.raises(DefinitionError, match=message):
        load_definition("2030.1")


def test_a_revised_version_loads_alongside_the_current_one(definitions_package) -> None:
    data = raw()
    data["version"] = "2030.1"
    data["steps"][0]["title"] = {"en": "Your action", "es": "Su acción"}
    (definitions_package / "equity-toolkit-2030.1.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True)
    )
    revised = load_definition("2030.1")
    assert revised.version == "2030.1"
    assert revised.step("context").title.get("es") == "Su acción"
    assert revised.steps[1:] == parse_definition(raw()).steps[1:]
