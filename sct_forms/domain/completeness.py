"""How complete a toolkit is: required items answered validly, and evidence attached, per step.

A required item is one required question, one required sub-field of one group row (rows a
required group still lacks count as items not done), or a step's required evidence. A form may
add rules its definition cannot state (domain.action_rules): each gap they find is one more item
not done on its step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sct_forms.domain.answers import ValidationContext, is_answered, validate_step_answers
from sct_forms.domain.toolkit_definition import Question, Step, ToolkitDefinition

STEP_STATES = ("not_started", "in_progress", "complete")


@dataclass(frozen=True)
class EvidenceSummary:
    """What completeness needs to know of one file attached to a step."""

    kind: str


@dataclass(frozen=True)
class Missing:
    """One thing a step still needs; path is a field path (or "" for evidence) to link to."""

    path: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepCompleteness:
    """How far one step has got."""

    step_key: str
    required_total: int
    required_done: int
    missing: tuple[Missing, ...]
    state: str

    @property
    def percent(self) -> int:
        """Required items done, 0 to 100; 100 only when the step is complete."""
        return _percent(self.required_done, self.required_total, self.state == "complete")


@dataclass(frozen=True)
class ToolkitCompleteness:
    """How far a whole toolkit has got."""

    steps: tuple[StepCompleteness, ...]

    @property
    def required_total(self) -> int:
        """Required items over all steps."""
        return sum(step.required_total for step in self.steps)

    @property
    def required_done(self) -> int:
        """Required items done over all steps."""
        return sum(step.required_done for step in self.steps)

    @property
    def is_complete(self) -> bool:
        """Whether every step is complete."""
        return all(step.state == "complete" for step in self.steps)

    @property
    def percent(self) -> int:
        """Required items done over all steps, 0 to 100; 100 only when all is complete."""
        return _percent(self.required_done, self.required_total, self.is_complete)

    def step(self, key: str) -> StepCompleteness:
        """The completeness of the step with this key; KeyError if there is none."""
        for step in self.steps:
            if step.step_key == key:
                return step
        raise KeyError(key)


def _percent(done: int, total: int, complete: bool) -> int:
    if complete:
        return 100
    if total <= 0:
        return 0
    # Rounded down and capped, so that a page never shows 100% for unfinished work.
    return min(99, done * 100 // total)


def _group_counts(question: Question, value: Any, bad_paths: set[str]) -> tuple[int, int]:
    rows = list(value) if isinstance(value, list | tuple) else []
    required_fields = [sub for sub in question.fields if sub.required]
    if not required_fields:
        if not question.required:
            return 0, 0
        return 1, int(is_answered(value) and question.key not in bad_paths)
    total = max(len(rows), question.min_rows) * len(required_fields)
    done = sum(
        1
        for index, row in enumerate(rows)
        if isinstance(row, Mapping)
        for sub in required_fields
        if f"{question.key}.{index}.{sub.key}" not in bad_paths
    )
    return total, done


def step_completeness(
    step: Step,
    answers: Mapping[str, Any],
    evidence: Sequence[EvidenceSummary],
    ctx: ValidationContext,
    rule_gaps: Sequence[Missing] = (),
) -> StepCompleteness:
    """The completeness of one step, given its stored answers, attached files and rule gaps."""
    problems = validate_step_answers(step, answers, ctx, check_required=True)
    bad_paths = {problem.path for problem in problems}
    missing = [Missing(problem.path, problem.code, dict(problem.params)) for problem in problems]
    missing.extend(rule_gaps)
    total = len(rule_gaps)
    done = 0
    for question in step.questions:
        if question.type == "group":
            group_total, group_done = _group_counts(question, answers.get(question.key), bad_paths)
            total += group_total
            done += group_done
        elif question.required:
            total += 1
            done += int(question.key not in bad_paths)

    expected = step.evidence
    if expected is not None and expected.required:
        total += 1
        accepted = sum(1 for item in evidence if item.kind in expected.kinds)
        if accepted >= expected.min_files:
            done += 1
        else:
            missing.append(
                Missing(
                    "",
                    "evidence_missing",
                    {"min": expected.min_files, "kinds": list(expected.kinds), "have": accepted},
                )
            )

    started = bool(evidence) or any(
        is_answered(answers.get(question.key)) for question in step.questions
    )
    # A step that asks for nothing required is complete even if untouched: it holds nothing back.
    if not missing:
        state = "complete"
    elif started:
        state = "in_progress"
    else:
        state = "not_started"
    return StepCompleteness(
        step_key=step.key,
        required_total=total,
        required_done=done,
        missing=tuple(missing),
        state=state,
    )


def completeness(
    definition: ToolkitDefinition,
    answers: Mapping[str, Mapping[str, Any]],
    evidence: Mapping[str, Sequence[EvidenceSummary]],
    ctx: ValidationContext,
    rule_gaps: Mapping[str, Sequence[Missing]] | None = None,
) -> ToolkitCompleteness:
    """The completeness of every step of a form; steps absent from the mappings count empty."""
    gaps = rule_gaps or {}
    return ToolkitCompleteness(
        steps=tuple(
            step_completeness(
                step,
                answers.get(step.key) or {},
                evidence.get(step.key) or (),
                ctx,
                gaps.get(step.key) or (),
            )
            for step in definition.steps
        )
    )
