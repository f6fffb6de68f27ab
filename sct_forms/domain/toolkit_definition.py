"""The forms as versioned definitions: steps, questions and evidence, read from YAML.

The Equity Toolkit's exact wording is not fixed by the program, nor are the records of actions
1.2 and 1.3, so each lives in data that program staff can revise for a new cycle: one file per
form and version, ``<form>-<version>.yaml`` (domain.forms names the forms). A record started
under one version keeps being read with it.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from sct_forms.domain.forms import Form

QUESTION_TYPES = (
    "short_text",
    "long_text",
    "date",
    "number",
    "choice",
    "multi_choice",
    "yes_no",
    "group",
)
EVIDENCE_KINDS = ("document", "image", "spreadsheet", "text")
TEXT_TYPES = ("short_text", "long_text")
CHOICE_TYPES = ("choice", "multi_choice")
DEFAULT_MAX_LENGTH = {"short_text": 200, "long_text": 5000}
LANGUAGES = ("en", "es")

#: The Equity Toolkit's version new toolkits start with.
CURRENT_VERSION = "2024.1"
#: The version each form's new records start with.
CURRENT_VERSIONS: dict[Form, str] = {
    Form.TOOLKIT: CURRENT_VERSION,
    Form.TRAINING: "2024.1",
    Form.STATEMENT: "2024.1",
}

DEFINITIONS_PACKAGE = "sct_forms.domain.definitions"
_VERSION_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]*$")
_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_CHOICE_VALUE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")


@dataclass(frozen=True)
class LocalText:
    """Text in several languages; English is required, Spanish optional."""

    en: str
    es: str | None = None

    def get(self, language: str) -> str:
        """The text in the given language (such as "es" or "es-MX"), falling back to English."""
        base = (language or "").replace("_", "-").split("-")[0].lower()
        if base == "es" and self.es:
            return self.es
        return self.en


@dataclass(frozen=True)
class Choice:
    """One option of a choice or multi_choice question."""

    value: str
    label: LocalText


@dataclass(frozen=True)
class Question:
    """One question of a step, or one sub-field of a group."""

    key: str
    label: LocalText
    hint: LocalText | None
    type: str
    required: bool = False
    max_length: int | None = None
    min_value: float | None = None
    max_value: float | None = None
    whole_number: bool = False
    choices: tuple[Choice, ...] = ()
    fields: tuple[Question, ...] = ()
    min_rows: int = 0
    max_rows: int = 50
    row_label: LocalText | None = None

    def choice_values(self) -> tuple[str, ...]:
        """The stored values this question accepts ("yes"/"no" for yes_no)."""
        if self.type == "yes_no":
            return ("yes", "no")
        return tuple(choice.value for choice in self.choices)

    def field(self, key: str) -> Question:
        """The group sub-field with this key; KeyError if there is none."""
        for sub in self.fields:
            if sub.key == key:
                return sub
        raise KeyError(key)


@dataclass(frozen=True)
class EvidenceExpectation:
    """The files a step expects: how many, of which kinds."""

    required: bool
    min_files: int
    kinds: tuple[str, ...]
    hint: LocalText | None


@dataclass(frozen=True)
class Step:
    """One step of the toolkit."""

    key: str
    number: int
    title: LocalText
    intro: LocalText | None
    questions: tuple[Question, ...]
    evidence: EvidenceExpectation | None

    def question(self, key: str) -> Question:
        """The question with this key; KeyError if there is none."""
        for question in self.questions:
            if question.key == key:
                return question
        raise KeyError(key)


@dataclass(frozen=True)
class ToolkitDefinition:
    """A whole version of the toolkit."""

    version: str
    title: LocalText
    steps: tuple[Step, ...]

    def step(self, key: str) -> Step:
        """The step with this key; KeyError if there is none."""
        return self.steps[self._index(key)]

    def step_after(self, key: str) -> Step | None:
        """The step following this one, or None for the last step."""
        index = self._index(key)
        return self.steps[index + 1] if index + 1 < len(self.steps) else None

    def step_before(self, key: str) -> Step | None:
        """The step before this one, or None for the first step."""
        index = self._index(key)
        return self.steps[index - 1] if index > 0 else None

    def _index(self, key: str) -> int:
        for index, step in enumerate(self.steps):
            if step.key == key:
                return index
        raise KeyError(key)


class DefinitionError(ValueError):
    """A toolkit definition that cannot be used; the message says where and what."""


# --- parsing -------------------------------------------------------------------------------------

_COMMON_QUESTION_SETTINGS = {"key", "type", "label", "hint", "required"}
_TYPE_SETTINGS = {
    "short_text": {"max_length"},
    "long_text": {"max_length"},
    "date": set(),
    "number": {"min_value", "max_value", "whole_number"},
    "choice": {"choices"},
    "multi_choice": {"choices"},
    "yes_no": set(),
    "group": {"fields", "min_rows", "max_rows", "row_label"},
}


def _fail(where: str, what: str) -> DefinitionError:
    return DefinitionError(f"{where}: {what}" if where else what)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, "expected a mapping of settings")
    return value


def _check_settings(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    # Unknown settings are almost always typos ("requried"), which would otherwise be ignored.
    unknown = sorted(str(name) for name in data if name not in allowed)
    if unknown:
        raise _fail(where, f"unknown setting {unknown[0]!r}")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, "expected non-empty text")
    return value.strip()


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, "expected true or false")
    return value


def _int(value: Any, where: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(where, "expected a whole number")
    if value < minimum:
        raise _fail(where, f"must be {minimum} or more")
    return value


def _number(value: Any, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _fail(where, "expected a number")
    if not math.isfinite(value):
        raise _fail(where, "expected a finite number")
    return value


def _key(value: Any, where: str, pattern: re.Pattern[str] = _KEY_PATTERN) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise _fail(where, f"key {value!r} must be lower-case letters, digits and _")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(where, "expected a list")
    return value


def parse_local_text(value: Any, where: str) -> LocalText:
    """A plain string (English only) or a mapping {en: ..., es: ...}."""
    if isinstance(value, str):
        return LocalText(en=_text(value, where))
    data = _mapping(value, where)
    _check_settings(data, set(LANGUAGES), where)
    if "en" not in data:
        raise _fail(where, "English text (en) is required")
    english = _text(data["en"], f"{where}.en")
    spanish = data.get("es")
    if spanish is not None:
        spanish = _text(spanish, f"{where}.es")
    return LocalText(en=english, es=spanish)


def _optional_text(data: Mapping[str, Any], name: str, where: str) -> LocalText | None:
    value = data.get(name)
    return None if value is None else parse_local_text(value, f"{where}.{name}")


def _parse_choices(value: Any, where: str) -> tuple[Choice, ...]:
    items = _list(value, where)
    if not items:
        raise _fail(where, "a choice question needs at least one choice")
    choices: list[Choice] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        here = f"{where}[{index}]"
        data = _mapping(item, here)
        _check_settings(data, {"value", "label"}, here)
        choice_value = _key(data.get("value"), f"{here}.value", _CHOICE_VALUE_PATTERN)
        if choice_value in seen:
            raise _fail(here, f"duplicate choice value {choice_value!r}")
        seen.add(choice_value)
        if "label" not in data:
            raise _fail(here, "label is required")
        choices.append(
            Choice(value=choice_value, label=parse_local_text(data["label"], f"{here}.label"))
        )
    return tuple(choices)


def _parse_questions(value: Any, where: str, *, in_group: bool) -> tuple[Question, ...]:
    items = _list(value, where)
    questions: list[Question] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        question = _parse_question(item, f"{where}[{index}]", in_group=in_group)
        if question.key in seen:
            raise _fail(f"{where}[{index}]", f"duplicate key {question.key!r}")
        seen.add(question.key)
        questions.append(question)
    return tuple(questions)


def _parse_question(item: Any, where: str, *, in_group: bool) -> Question:
    data = _mapping(item, where)
    kind = data.get("type")
    if kind not in QUESTION_TYPES:
        raise _fail(where, f"unknown type {kind!r}")
    if kind == "group" and in_group:
        raise _fail(where, "a group cannot contain another group")
    _check_settings(data, _COMMON_QUESTION_SETTINGS | _TYPE_SETTINGS[kind], where)
    key = _key(data.get("key"), f"{where}.key")
    if "label" not in data:
        raise _fail(where, "label is required")
    label = parse_local_text(data["label"], f"{where}.label")
    hint = _optional_text(data, "hint", where)
    required = _bool(data.get("required", False), f"{where}.required")
    options: dict[str, Any] = {}

    if kind in TEXT_TYPES:
        options["max_length"] = (
            _int(data["max_length"], f"{where}.max_length", 1)
            if "max_length" in data
            else DEFAULT_MAX_LENGTH[kind]
        )
    elif kind == "number":
        low = _number(data["min_value"], f"{where}.min_value") if "min_value" in data else None
        high = _number(data["max_value"], f"{where}.max_value") if "max_value" in data else None
        if low is not None and high is not None and low > high:
            raise _fail(where, f"min_value {low} is above max_value {high}")
        options.update(
            min_value=low,
            max_value=high,
            whole_number=_bool(data.get("whole_number", False), f"{where}.whole_number"),
        )
    elif kind in CHOICE_TYPES:
        if "choices" not in data:
            raise _fail(where, f"a {kind} question needs choices")
        options["choices"] = _parse_choices(data["choices"], f"{where}.choices")
    elif kind == "group":
        options.update(_parse_group(data, where, required))

    return Question(key=key, label=label, hint=hint, type=kind, required=required, **options)


def _parse_group(data: Mapping[str, Any], where: str, required: bool) -> dict[str, Any]:
    if "fields" not in data:
        raise _fail(where, "a group needs fields")
    fields = _parse_questions(data["fields"], f"{where}.fields", in_group=True)
    if not fields:
        raise _fail(f"{where}.fields", "a group needs at least one field")
    # A required group needs at least one row; an optional one may be left empty, so asking
    # for rows there would be a contradiction.
    min_rows = _int(data.get("min_rows", 1 if required else 0), f"{where}.min_rows", 0)
    max_rows = _int(data.get("max_rows", 50), f"{where}.max_rows", 1)
    if required and min_rows < 1:
        raise _fail(where, "a required group needs min_rows of 1 or more")
    if not required and min_rows > 0:
        raise _fail(where, f"min_rows is {min_rows} but the group is not required")
    if min_rows > max_rows:
        raise _fail(where, f"min_rows {min_rows} is above max_rows {max_rows}")
    return {
        "fields": fields,
        "min_rows": min_rows,
        "max_rows": max_rows,
        "row_label": _optional_text(data, "row_label", where),
    }


def _parse_evidence(value: Any, where: str) -> EvidenceExpectation:
    data = _mapping(value, where)
    _check_settings(data, {"required", "min_files", "kinds", "hint"}, where)
    required = _bool(data.get("required", False), f"{where}.required")
    min_files = _int(data.get("min_files", 1), f"{where}.min_files", 0)
    if required and min_files < 1:
        raise _fail(where, "required evidence needs min_files of 1 or more")
    kinds_data = _list(data.get("kinds", list(EVIDENCE_KINDS)), f"{where}.kinds")
    if not kinds_data:
        raise _fail(f"{where}.kinds", "name at least one kind")
    kinds: list[str] = []
    for index, kind in enumerate(kinds_data):
        if kind not in EVIDENCE_KINDS:
            raise _fail(f"{where}.kinds[{index}]", f"unknown evidence kind {kind!r}")
        if kind not in kinds:
            kinds.append(kind)
    return EvidenceExpectation(
        required=required,
        min_files=min_files,
        kinds=tuple(kinds),
        hint=_optional_text(data, "hint", where),
    )


def _parse_step(item: Any, where: str, number: int) -> Step:
    data = _mapping(item, where)
    _check_settings(data, {"key", "title", "intro", "questions", "evidence"}, where)
    key = _key(data.get("key"), f"{where}.key")
    if "title" not in data:
        raise _fail(where, "title is required")
    questions = _parse_questions(data.get("questions", []), f"{where}.questions", in_group=False)
    evidence = (
        _parse_evidence(data["evidence"], f"{where}.evidence") if "evidence" in data else None
    )
    if not questions and evidence is None:
        raise _fail(where, "a step needs questions or evidence")
    return Step(
        key=key,
        number=number,
        title=parse_local_text(data["title"], f"{where}.title"),
        intro=_optional_text(data, "intro", where),
        questions=questions,
        evidence=evidence,
    )


def parse_definition(data: Mapping[str, Any]) -> ToolkitDefinition:
    """Check a definition (as loaded from YAML) and turn it into a ToolkitDefinition."""
    data = _mapping(data, "definition")
    _check_settings(data, {"version", "title", "steps"}, "definition")
    version = data.get("version")
    if not isinstance(version, str) or not _VERSION_PATTERN.match(version):
        raise _fail("version", f'{version!r} must be text such as "2024.1" (quote it in YAML)')
    if "title" not in data:
        raise _fail("title", "is required")
    title = parse_local_text(data["title"], "title")
    items = _list(data.get("steps"), "steps")
    if not items:
        raise _fail("steps", "a toolkit needs at least one step")
    steps: list[Step] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        step = _parse_step(item, f"steps[{index}]", number=index + 1)
        if step.key in seen:
            raise _fail(f"steps[{index}]", f"duplicate step key {step.key!r}")
        seen.add(step.key)
        steps.append(step)
    return ToolkitDefinition(version=version, title=title, steps=tuple(steps))


# --- loading -------------------------------------------------------------------------------------


def _version_order(version: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in version.split("."))


def _file_name(form: str, version: str) -> str:
    return f"{Form(form)}-{version}.yaml"


def available_versions(form: str = Form.TOOLKIT) -> list[str]:
    """Versions of ``form`` shipped with the app, oldest first."""
    prefix = f"{Form(form)}-"
    found = []
    for entry in resources.files(DEFINITIONS_PACKAGE).iterdir():
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".yaml")):
            continue
        version = name[len(prefix) : -len(".yaml")]
        # "equity-toolkit-x.yaml" must not pass for a version of a form named "equity".
        if _VERSION_PATTERN.match(version) and version[0].isdigit():
            found.append(version)
    return sorted(found, key=_version_order)


def read_definition_data(version: str, form: str = Form.TOOLKIT) -> dict[str, Any]:
    """The raw mapping of a shipped definition, for tools that derive a new version from it."""
    if not isinstance(version, str) or not _VERSION_PATTERN.match(version):
        raise DefinitionError(f"unknown {form} definition version {version!r}")
    where = _file_name(form, version)
    resource = resources.files(DEFINITIONS_PACKAGE) / where
    if not resource.is_file():
        raise DefinitionError(f"unknown {form} definition version {version!r}")
    try:
        data = yaml.safe_load(resource.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise DefinitionError(f"{where}: not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise DefinitionError(f"{where}: expected a mapping at the top")
    return data


@functools.lru_cache(maxsize=16)
def load_definition(version: str, form: str = Form.TOOLKIT) -> ToolkitDefinition:
    """The shipped definition of ``form`` in this version, checked; cached since definitions
    never change."""
    where = _file_name(form, version)
    data = read_definition_data(version, form)
    try:
        definition = parse_definition(data)
    except DefinitionError as error:
        raise DefinitionError(f"{where}: {error}") from error
    if definition.version != version:
        raise DefinitionError(f"{where}: says version {definition.version!r}")
    return definition
