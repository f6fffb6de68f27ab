"""Answers to toolkit steps: normalising what a form posts, and finding problems in it.

Answers are stored exactly as typed (dates and numbers as strings) so that nothing a town enters
is ever lost, even when it is not valid yet. Problems are returned as codes with parameters; the
web layer turns them into sentences in the reader's language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from sct_forms.domain.toolkit_definition import TEXT_TYPES, Question, Step

PROBLEM_CODES = (
    "required",
    "too_long",
    "not_a_date",
    "date_before_lookback",
    "date_in_future",
    "not_a_number",
    "not_whole",
    "below_min",
    "above_max",
    "unknown_choice",
    "too_few_rows",
    "too_many_rows",
    # A stored value of the wrong shape (say, a list where text belongs); forms never post one.
    "invalid",
)

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
# Digits with an optional sign and decimal part; commas only as thousands separators.
_NUMBER = re.compile(r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)?(?:\.\d+)?$", re.ASCII)


@dataclass(frozen=True)
class ValidationContext:
    """What validation needs to know beyond the answers: the cycle's lookback window and today."""

    lookback_start: date
    today: date


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an answer: where (a field path), what (a code), and message values."""

    path: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)


class FormLike(Protocol):
    """What an HTML form post looks like: Werkzeug's MultiDict, or FormData below."""

    def get(self, name: str, default: Any = None) -> Any: ...

    def getlist(self, name: str) -> list[Any]: ...

    def __iter__(self) -> Iterator[str]: ...


class FormData:
    """A small multi-dict of posted form fields, for tests and callers without Werkzeug."""

    def __init__(self, pairs: Iterable[tuple[str, str]] | Mapping[str, Any] = ()) -> None:
        """Build from (name, value) pairs, or a mapping whose values are strings or lists."""
        self._values: dict[str, list[str]] = {}
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        for name, value in items:
            values = value if isinstance(value, list | tuple) else [value]
            self._values.setdefault(name, []).extend(values)

    def get(self, name: str, default: Any = None) -> Any:
        """The first value posted under this name, or default."""
        values = self._values.get(name)
        return values[0] if values else default

    def getlist(self, name: str) -> list[Any]:
        """Every value posted under this name, in order."""
        return list(self._values.get(name, []))

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)


# --- reading values ------------------------------------------------------------------------------


def is_answered(value: Any) -> bool:
    """Whether a stored value holds anything: empty text, lists and blank rows do not."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, Mapping):
        return any(is_answered(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(is_answered(item) for item in value)
    return True


def parse_date(value: Any) -> date | None:
    """An ISO date ("2024-03-15") as a date, or None if it is not one."""
    if not isinstance(value, str) or not _ISO_DATE.match(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def parse_number(value: Any) -> Decimal | None:
    """A typed number ("1,250" or "3.5") as a Decimal, or None if it is not one."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or not _NUMBER.match(text) or not any(ch.isdigit() for ch in text):
        return None
    return Decimal(text.replace(",", ""))


def _plain(number: float | Decimal) -> int | float:
    """A limit as a JSON-friendly number, without a trailing .0 on whole numbers."""
    return int(number) if number == int(number) else float(number)


# --- validation ----------------------------------------------------------------------------------


def validate_value(
    question: Question,
    raw: Any,
    ctx: ValidationContext,
    *,
    path: str,
    check_required: bool,
) -> list[Problem]:
    """Problems with one stored answer; required-ness is checked only when check_required."""
    if not is_answered(raw):
        if check_required and question.required:
            return [Problem(path, "required", {})]
        return []
    if question.type in TEXT_TYPES:
        return _validate_text(question, raw, path)
    if question.type == "date":
        return _validate_date(raw, ctx, path)
    if question.type == "number":
        return _validate_number(question, raw, path)
    if question.type in ("choice", "yes_no"):
        if not isinstance(raw, str):
            return [Problem(path, "invalid", {})]
        if raw.strip() not in question.choice_values():
            return [Problem(path, "unknown_choice", {"value": raw})]
        return []
    if question.type == "multi_choice":
        return _validate_multi_choice(question, raw, path)
    if question.type == "group":
        return _validate_group(question, raw, ctx, path, check_required)
    raise ValueError(f"unknown question type {question.type!r}")


def _validate_text(question: Question, raw: Any, path: str) -> list[Problem]:
    if not isinstance(raw, str):
        return [Problem(path, "invalid", {})]
    if question.max_length is not None and len(raw) > question.max_length:
        return [Problem(path, "too_long", {"max": question.max_length, "length": len(raw)})]
    return []


def _validate_date(raw: Any, ctx: ValidationContext, path: str) -> list[Problem]:
    if not isinstance(raw, str):
        return [Problem(path, "invalid", {})]
    day = parse_date(raw)
    if day is None:
        return [Problem(path, "not_a_date", {"value": raw})]
    if day < ctx.lookback_start:
        return [Problem(path, "date_before_lookback", {"start": ctx.lookback_start.isoformat()})]
    if day > ctx.today:
        return [Problem(path, "date_in_future", {"today": ctx.today.isoformat()})]
    return []


def _validate_number(question: Question, raw: Any, path: str) -> list[Problem]:
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        return [Problem(path, "invalid", {})]
    number = parse_number(raw)
    if number is None:
        return [Problem(path, "not_a_number", {"value": str(raw)})]
    problems: list[Problem] = []
    if question.whole_number and number != number.to_integral_value():
        problems.append(Problem(path, "not_whole", {}))
    if question.min_value is not None and number < Decimal(str(question.min_value)):
        problems.append(Problem(path, "below_min", {"min": _plain(question.min_value)}))
    if question.max_value is not None and number > Decimal(str(question.max_value)):
        problems.append(Problem(path, "above_max", {"max": _plain(question.max_value)}))
    return problems


def _validate_multi_choice(question: Question, raw: Any, path: str) -> list[Problem]:
    if not isinstance(raw, list | tuple) or not all(isinstance(item, str) for item in raw):
        return [Problem(path, "invalid", {})]
    allowed = question.choice_values()
    return [
        Problem(path, "unknown_choice", {"value": item})
        for item in dict.fromkeys(raw)
        if item.strip() and item.strip() not in allowed
    ]


def _validate_group(
    question: Question, raw: Any, ctx: ValidationContext, path: str, check_required: bool
) -> list[Problem]:
    if not isinstance(raw, list | tuple):
        return [Problem(path, "invalid", {})]
    problems: list[Problem] = []
    if len(raw) > question.max_rows:
        problems.append(Problem(path, "too_many_rows", {"max": question.max_rows}))
    # Too few rows is an unfinished answer, not a wrong one, so drafts may have it.
    if check_required and len(raw) < question.min_rows:
        problems.append(Problem(path, "too_few_rows", {"min": question.min_rows}))
    for index, row in enumerate(raw):
        row_path = f"{path}.{index}"
        if not isinstance(row, Mapping):
            problems.append(Problem(row_path, "invalid", {}))
            continue
        for sub in question.fields:
            problems.extend(
                validate_value(
                    sub,
                    row.get(sub.key),
                    ctx,
                    path=f"{row_path}.{sub.key}",
                    check_required=check_required,
                )
            )
    return problems


def validate_step_answers(
    step: Step, answers: Mapping[str, Any], ctx: ValidationContext, *, check_required: bool
) -> list[Problem]:
    """Problems with a step's stored answers, in question order; unknown keys are ignored."""
    problems: list[Problem] = []
    for question in step.questions:
        problems.extend(
            validate_value(
                question,
                answers.get(question.key),
                ctx,
                path=question.key,
                check_required=check_required,
            )
        )
    return problems


# Problems that stop a save: an answer over its length limit or a group over its row limit is
# refused whole, so nothing unbounded is ever stored (the text stays in the person's browser).
REFUSING_CODES = frozenset({"too_long", "too_many_rows"})


def refusing_problems(
    step: Step, answers: Mapping[str, Any], ctx: ValidationContext
) -> list[Problem]:
    """The problems of a step's answers that mean they must not be stored at all."""
    return [
        problem
        for problem in validate_step_answers(step, answers, ctx, check_required=False)
        if problem.code in REFUSING_CODES
    ]


# --- normalising form posts ----------------------------------------------------------------------


# Page and line breaks that Word and PDF readers put into copied text become line breaks; the
# other control characters (PostgreSQL cannot store NUL at all) are dropped: no one types them.
_BREAKS = re.compile(r"\r\n|[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def clean_text(value: Any) -> str:
    """Typed or pasted text as stored: line breaks as \\n, no control characters, trimmed."""
    if value is None:
        return ""
    return _CONTROLS.sub("", _BREAKS.sub("\n", str(value))).strip()



def _read(question: Question, form: FormLike, name: str) -> str | list[str]:
    if question.type == "multi_choice":
        chosen = [clean_text(item) for item in form.getlist(name)]
        return list(dict.fromkeys(item for item in chosen if item))
    return clean_text(form.get(name))


def _read_group(question: Question, form: FormLike) -> list[dict[str, Any]]:
    pattern = re.compile(rf"^{re.escape(question.key)}-(\d{{1,15}})-[a-z][a-z0-9_]*$", re.ASCII)
    # Row numbers may have gaps after rows are removed in the browser; only their order matters.
    numbers = sorted({int(match.group(1)) for name in form if (match := pattern.match(name))})
    rows: list[dict[str, Any]] = []
    for number in numbers:
        row = {
            sub.key: _read(sub, form, f"{question.key}-{number}-{sub.key}")
            for sub in question.fields
        }
        if is_answered(row):
            rows.append(row)
    return rows


def normalise_step_answers(step: Step, form_data: FormLike) -> dict[str, Any]:
    """A step's posted form fields in storage shape, with every question key present."""
    answers: dict[str, Any] = {}
    for question in step.questions:
        if question.type == "group":
            answers[question.key] = _read_group(question, form_data)
        else:
            answers[question.key] = _read(question, form_data, question.key)
    return answers
