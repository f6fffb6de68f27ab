"""Recertification: a town's answers from an earlier cycle's toolkit carried into a new one.

The answers are read with the new toolkit's definition: what it no longer asks (a step, a
question, a field of a group, a choice) is dropped and named, so the town learns in words what
did not come across. Dates are kept as they were, but a copied date before the new cycle's
lookback start is flagged: the program counts only work that is new for the cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sct_forms.domain.answers import FormData, is_answered, normalise_step_answers, parse_date
from sct_forms.domain.toolkit_definition import LocalText, Question, Step, ToolkitDefinition

#: Why an answer was not copied.
DROP_REASONS = ("step_gone", "question_gone", "question_changed", "field_gone", "choice_gone")


@dataclass(frozen=True)
class Dropped:
    """An earlier answer the new definition has no place for, and why."""

    step_key: str
    step_title: LocalText
    question_key: str
    label: LocalText
    reason: str
    value: str = ""  # the choice no longer offered, for "choice_gone"


@dataclass(frozen=True)
class CarriedOver:
    """The answers as the new toolkit stores them, per step, and what was left behind."""

    answers: dict[str, dict[str, Any]]
    dropped: tuple[Dropped, ...]


@dataclass(frozen=True)
class FlaggedDate:
    """A copied date before the cycle's lookback start: the work must be new for this cycle."""

    step_key: str
    path: str  # a field path, as the step page names its fields ("events.0.date")
    label: LocalText
    value: str


def carry_over(
    source: ToolkitDefinition, target: ToolkitDefinition, answers: Mapping[str, Mapping]
) -> CarriedOver:
    """The earlier toolkit's ``answers`` (read with ``source``) as ``target`` stores them."""
    dropped: list[Dropped] = []
    carried: dict[str, dict[str, Any]] = {}
    target_keys = {step.key for step in target.steps}
    for old_step in source.steps:
        if old_step.key not in target_keys:
            dropped += [
                Dropped(old_step.key, old_step.title, q.key, q.label, "step_gone")
                for q in old_step.questions
                if is_answered((answers.get(old_step.key) or {}).get(q.key))
            ]
    for step in target.steps:
        old_answers = answers.get(step.key) or {}
        old_step = _step_or_none(source, step.key)
        if old_step is None or not isinstance(old_answers, Mapping):
            carried[step.key] = normalise_step_answers(step, FormData())
            continue
        kept: list[tuple[str, Any]] = []
        for old in old_step.questions:
            value = old_answers.get(old.key)
            if not is_answered(value):
                continue
            new = _question_or_none(step, old.key)
            if new is None or new.type != old.type:
                reason = "question_gone" if new is None else "question_changed"
                dropped.append(Dropped(step.key, old_step.title, old.key, old.label, reason))
                continue
            value, lost = _fit(old, new, value)
            dropped += [
                Dropped(step.key, old_step.title, old.key, label, reason, gone)
                for label, reason, gone in lost
            ]
            kept += _as_posted(new, value)
        carried[step.key] = normalise_step_answers(step, FormData(kept))
    return CarriedOver(carried, tuple(dropped))


def _step_or_none(definition: ToolkitDefinition, key: str) -> Step | None:
    return next((step for step in definition.steps if step.key == key), None)


def _question_or_none(step: Step | Question, key: str) -> Question | None:
    items = step.questions if isinstance(step, Step) else step.fields
    return next((question for question in items if question.key == key), None)


def _fit(old: Question, new: Question, value: Any) -> tuple[Any, list[tuple]]:
    """``value`` with what ``new`` no longer accepts taken out, and what was taken out."""
    lost: list[tuple] = []
    if new.type == "group":
        rows = value if isinstance(value, list) else []
        kept_rows = []
        for row in rows:
            if not isinstance(row, Mapping):
                continue
            kept_row = {}
            for old_sub in old.fields:
                sub_value = row.get(old_sub.key)
                if not is_answered(sub_value):
                    continue
                new_sub = _question_or_none(new, old_sub.key)
                if new_sub is None or new_sub.type != old_sub.type:
                    lost.append((old_sub.label, "field_gone", ""))
                    continue
                sub_value, sub_lost = _fit(old_sub, new_sub, sub_value)
                lost += sub_lost
                kept_row[old_sub.key] = sub_value
            kept_rows.append(kept_row)
        # One mention per field or choice, however many rows held it.
        return kept_rows, list(dict.fromkeys(lost))
    if new.type in ("choice", "yes_no"):
        if isinstance(value, str) and value.strip() not in new.choice_values():
            return "", [(old.label, "choice_gone", value.strip())]
        return value, []
    if new.type == "multi_choice":
        items = value if isinstance(value, list) else []
        allowed = new.choice_values()
        gone = [item for item in items if isinstance(item, str) and item not in allowed]
        return [item for item in items if item not in gone], [
            (old.label, "choice_gone", item) for item in gone
        ]
    return value, []


def _as_posted(question: Question, value: Any) -> list[tuple[str, Any]]:
    """A stored answer as the (name, value) pairs a step form posts, for normalising."""
    if question.type == "group":
        pairs: list[tuple[str, Any]] = []
        for index, row in enumerate(value):
            for sub in question.fields:
                pairs += _as_posted_named(f"{question.key}-{index}-{sub.key}", row.get(sub.key))
        return pairs
    return _as_posted_named(question.key, value)


def _as_posted_named(name: str, value: Any) -> list[tuple[str, Any]]:
    if value is None:
        return []
    if isinstance(value, list):
        return [(name, item) for item in value if isinstance(item, str)]
    return [(name, value if isinstance(value, str) else str(value))]


def flagged_dates(
    step: Step, answers: Mapping[str, Any], earlier: Mapping[str, Any], lookback_start: date
) -> list[FlaggedDate]:
    """Dates of a step before ``lookback_start`` that came from the earlier toolkit's
    answers to the same question (``earlier``); dates typed anew are the form's to check."""
    found: list[FlaggedDate] = []
    for question in step.questions:
        if question.type == "date":
            value = answers.get(question.key)
            if _old(value, lookback_start) and value in _dates_of(earlier, question.key):
                found.append(FlaggedDate(step.key, question.key, question.label, value))
        elif question.type == "group":
            rows = answers.get(question.key)
            for index, row in enumerate(rows if isinstance(rows, list) else []):
                if not isinstance(row, Mapping):
                    continue
                for sub in question.fields:
                    value = row.get(sub.key)
                    if sub.type == "date" and _old(value, lookback_start):
                        if value in _dates_of(earlier, question.key, sub.key):
                            path = f"{question.key}.{index}.{sub.key}"
                            found.append(FlaggedDate(step.key, path, sub.label, value))
    return found


def _old(value: Any, lookback_start: date) -> bool:
    day = parse_date(value)
    return day is not None and day < lookback_start


def _dates_of(answers: Mapping[str, Any], key: str, sub_key: str | None = None) -> set[str]:
    value = answers.get(key) if isinstance(answers, Mapping) else None
    if sub_key is None:
        return {value} if isinstance(value, str) else set()
    rows = value if isinstance(value, list) else []
    return {
        row.get(sub_key)
        for row in rows
        if isinstance(row, Mapping) and isinstance(row.get(sub_key), str)
    }
