"""View models for the step templates, built from the toolkit definition and the answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sct_forms.domain.answers import Problem
from sct_forms.domain.completeness import StepCompleteness
from sct_forms.domain.toolkit_definition import Question, Step, ToolkitDefinition
from sct_forms.i18n import gettext as _
from sct_forms.toolkits.messages import field_anchor, problem_message
from sct_forms.toolkits.services import toolkit_completeness


@dataclass
class FieldView:
    question: Question
    path: str
    name: str
    value: Any
    label: str
    hint: str
    error: str | None
    in_group: bool
    their_value: Any = None  # when merging by hand after a conflict
    differs: bool = False

    @property
    def id(self) -> str:
        return field_anchor(self.path)

    @property
    def type(self) -> str:
        return self.question.type

    @property
    def values(self) -> list:
        return self.value if isinstance(self.value, list) else [self.value] if self.value else []

    def choices(self, language: str) -> list[tuple[str, str]]:
        if self.question.type == "yes_no":
            return [("yes", _("Yes")), ("no", _("No"))]
        return [(choice.value, choice.label.get(language)) for choice in self.question.choices]


@dataclass
class RowView:
    index: int
    number: int
    fields: list[FieldView]


@dataclass
class GroupView:
    question: Question
    path: str
    label: str
    hint: str
    row_label: str
    rows: list[RowView]
    error: str | None
    language: str
    problems: dict[str, Problem]
    merging_with: list | None = None

    type = "group"

    @property
    def id(self) -> str:
        return field_anchor(self.path)

    @property
    def next_index(self) -> int:
        return max((row.index for row in self.rows), default=-1) + 1

    def blank_row(self, index: int) -> RowView:
        return _row_view(self.question, self.path, index, {}, self.problems, self.language, None)


def _text(local, language: str) -> str:
    return local.get(language) if local is not None else ""


def _field(
    question: Question,
    path: str,
    value: Any,
    problems: dict[str, Problem],
    language: str,
    *,
    in_group: bool,
    theirs: Any = None,
    merging: bool = False,
) -> FieldView:
    problem = problems.get(path)
    blank = value in (None, "", [])
    their_blank = theirs in (None, "", [])
    return FieldView(
        question=question,
        path=path,
        name=path.replace(".", "-"),
        value=value if value is not None else ([] if question.type == "multi_choice" else ""),
        label=_text(question.label, language),
        hint=_text(question.hint, language),
        error=problem_message(problem.code, problem.params, in_group=in_group) if problem else None,
        in_group=in_group,
        their_value=theirs,
        differs=merging and not (blank and their_blank) and value != theirs,
    )


def _row_view(
    group: Question,
    group_path: str,
    index: int,
    row: dict,
    problems: dict[str, Problem],
    language: str,
    their_row: dict | None,
) -> RowView:
    fields = [
        _field(
            sub,
            f"{group_path}.{index}.{sub.key}",
            row.get(sub.key),
            problems,
            language,
            in_group=True,
            theirs=(their_row or {}).get(sub.key),
            merging=their_row is not None,
        )
        for sub in group.fields
    ]
    return RowView(index=index, number=index + 1, fields=fields)


@dataclass
class StepView:
    toolkit: Any
    definition: ToolkitDefinition
    step: Step
    language: str
    version: int
    editable: bool
    items: list[FieldView | GroupView]
    problems: list[Problem]
    completeness: StepCompleteness
    nav: list[tuple[Step, StepCompleteness]]
    evidence: list
    token_expired: bool = False
    conflict: Any = None
    merging_with: dict | None = None
    focus_new_row: str | None = None
    error_summary: list[tuple[str, str]] = field(default_factory=list)
    # Change requests of the reviewers not yet closed, shown next to what they are about.
    requests: list = field(default_factory=list)
    # Answers to those requests as posted (not stored yet), by request id; and their problems.
    request_answers: dict = field(default_factory=dict)
    request_problems: dict[int, str] = field(default_factory=dict)
    # True when a save was refused whole (an answer over its hard limit): nothing was stored.
    not_saved: bool = False
    # Why the person cannot change the step (None when they can), in their language.
    lock_reason: str | None = None

    def request_response(self, request) -> tuple[str, bool]:  # noqa: ANN001
        """(answer text, marked done) of a request: as posted if it was, else as stored."""
        posted = self.request_answers.get(request.id)
        if posted is not None:
            return posted.response, posted.addressed
        return request.town_response or "", request.status == "addressed"

    def requests_for(self, target: str | None) -> list:
        """Requests pinned to a question path; None: the whole step; "evidence": files."""
        if target == "evidence":
            return [r for r in self.requests if (r.target or "").startswith("evidence:")]
        return [r for r in self.requests if r.target == target]

    @classmethod
    def build(
        cls,
        *,
        toolkit,
        definition,
        step,
        answers,
        version,
        problems,
        language,
        editable,
        token_expired=False,
        conflict=None,
        merging_with=None,
        extra_rows=None,
        focus_new_row=None,
        requests=None,
        overall=None,
        request_answers=None,
        request_problems=None,
        not_saved=False,
        lock_reason=None,
    ) -> StepView:
        items = build_items(step, answers, problems, language, merging_with, extra_rows)
        overall = overall or toolkit_completeness(toolkit)
        summary = [(field_anchor(p.path), _summary_label(step, p, language)) for p in problems]
        request_messages = {
            int(p.path.split("-")[1]): problem_message(p.code, p.params)
            for p in request_problems or []
        }
        summary += [
            (f"response-{id_}", _("Your answer to a change request: %(message)s", message=msg))
            for id_, msg in request_messages.items()
        ]
        return cls(
            toolkit=toolkit,
            definition=definition,
            step=step,
            language=language,
            version=version,
            editable=editable,
            items=items,
            problems=problems,
            completeness=overall.step(step.key),
            nav=[(s, overall.step(s.key)) for s in definition.steps],
            evidence=[e for e in toolkit.evidence if e.step_key == step.key],
            token_expired=token_expired,
            conflict=conflict,
            merging_with=merging_with,
            focus_new_row=focus_new_row,
            error_summary=summary,
            requests=list(requests or []),
            request_answers={a.request_id: a for a in request_answers or []},
            request_problems=request_messages,
            not_saved=not_saved,
            lock_reason=lock_reason,
        )

    @property
    def previous_step(self) -> Step | None:
        return self.definition.step_before(self.step.key)

    @property
    def next_step(self) -> Step | None:
        return self.definition.step_after(self.step.key)

    def group(self, key: str) -> GroupView | None:
        return next((i for i in self.items if isinstance(i, GroupView) and i.path == key), None)

    def title(self, step: Step | None = None) -> str:
        return (step or self.step).title.get(self.language)

    def conflict_rows(self) -> list[tuple[str, Any, Any]]:
        """(field label, their value, my value) for each field that differs."""
        if not self.conflict:
            return []
        labels = question_labels(self.step, self.language)
        return [
            (labels.get(path, path), theirs, mine)
            for path, (theirs, mine) in self.conflict.changes.items()
        ]


def build_items(
    step: Step,
    answers: dict,
    problems: list[Problem],
    language: str,
    merging_with: dict | None = None,
    extra_rows: dict[str, int] | None = None,
) -> list[FieldView | GroupView]:
    """Field and group views for every question of a step, in definition order."""
    by_path = {p.path: p for p in problems}
    items: list[FieldView | GroupView] = []
    for question in step.questions:
        value = answers.get(question.key)
        theirs = (merging_with or {}).get(question.key)
        if question.type == "group":
            rows = [r for r in (value or []) if isinstance(r, dict)]
            their_rows = theirs if isinstance(theirs, list) else []
            row_views = [
                _row_view(
                    question,
                    question.key,
                    i,
                    row,
                    by_path,
                    language,
                    (their_rows[i] if i < len(their_rows) else {})
                    if merging_with is not None
                    else None,
                )
                for i, row in enumerate(rows)
            ]
            wanted_blank = (extra_rows or {}).get(question.key, 0)
            if not rows and question.min_rows:
                wanted_blank = max(wanted_blank, 1)
            for extra in range(wanted_blank):
                row_views.append(
                    _row_view(
                        question, question.key, len(rows) + extra, {}, by_path, language, None
                    )
                )
            problem = by_path.get(question.key)
            items.append(
                GroupView(
                    question=question,
                    path=question.key,
                    label=_text(question.label, language),
                    hint=_text(question.hint, language),
                    row_label=_text(question.row_label, language) or _("Entry"),
                    rows=row_views,
                    error=problem_message(problem.code, problem.params) if problem else None,
                    language=language,
                    problems=by_path,
                    merging_with=their_rows if merging_with is not None else None,
                )
            )
        else:
            items.append(
                _field(
                    question,
                    question.key,
                    value,
                    by_path,
                    language,
                    in_group=False,
                    theirs=theirs,
                    merging=merging_with is not None,
                )
            )
    return items


def question_labels(step: Step, language: str) -> dict[str, str]:
    """Readable labels for every field path of a step, e.g. "Outreach activity 2: Date"."""
    labels: dict[str, str] = {}
    for question in step.questions:
        labels[question.key] = question.label.get(language)
        if question.type == "group":
            row_label = _text(question.row_label, language) or question.label.get(language)
            for index in range(question.max_rows):
                for sub in question.fields:
                    labels[f"{question.key}.{index}.{sub.key}"] = (
                        f"{row_label} {index + 1}: {sub.label.get(language)}"
                    )
    return labels


def _summary_label(step: Step, problem: Problem, language: str) -> str:
    labels = question_labels(step, language)
    in_group = problem.path.count(".") == 2
    message = problem_message(problem.code, problem.params, in_group=in_group)
    return f"{labels.get(problem.path, problem.path)}: {message}"


def field_view(step: Step, path: str, problems: list[Problem], language: str) -> FieldView | None:
    """One field of a step by path (``goals`` or ``groups.2.name``), for blur validation."""
    by_path = {p.path: p for p in problems}
    parts = path.split(".")
    try:
        question = step.question(parts[0])
        if len(parts) == 3 and question.type == "group" and parts[1].isdigit():
            return _field(question.field(parts[2]), path, None, by_path, language, in_group=True)
        if len(parts) == 1 and question.type != "group":
            return _field(question, path, None, by_path, language, in_group=False)
    except KeyError:
        return None
    return None
