"""Template filters for showing answers and what is missing."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask_babel import format_date, format_decimal

from sct_forms.domain.completeness import Missing
from sct_forms.domain.toolkit_definition import Step
from sct_forms.i18n import get_locale_language
from sct_forms.i18n import gettext as _
from sct_forms.toolkits.labels import record_title, town_label
from sct_forms.toolkits.messages import field_anchor, problem_message, rule_notes
from sct_forms.toolkits.presenters import FieldView, question_labels
from sct_forms.toolkits.services import definition_for, may_answer_requests


def answer_text(field: FieldView, language: str) -> str:
    """An answer as a reader would say it: choice labels, long dates, "Not answered"."""
    value = field.value
    if value in (None, "", []):
        return _("Not answered")
    if field.type in ("choice", "multi_choice", "yes_no"):
        labels = dict(field.choices(language))
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(v, v) for v in values)
    if field.type == "date":
        try:
            return format_date(date.fromisoformat(value), "long")
        except ValueError:
            return value
    return value


def missing_message(missing: Missing, step: Step, language: str) -> str:
    if missing.code == "evidence_missing":
        return problem_message(missing.code, missing.params)
    label = question_labels(step, language).get(missing.path, missing.path)
    in_group = missing.path.count(".") == 2
    return f"{label}: {problem_message(missing.code, missing.params, in_group=in_group)}"


def filesize(size: int) -> str:
    if size >= 1024 * 1024:
        return _("%(n)s MB", n=format_decimal(round(size / (1024 * 1024), 1)))
    return _("%(n)s KB", n=max(1, round(size / 1024)))


def request_anchor(target: str | None) -> str:
    """Where on the step page a change request points: a field, or the evidence list."""
    if not target or target.startswith("evidence:"):
        return "evidence"
    return field_anchor(target)


def request_target_label(target: str, toolkit, step_key: str) -> str:  # noqa: ANN001
    if target.startswith("evidence:"):
        sha = target.split(":", 1)[1]
        title = next((e.title for e in toolkit.evidence if e.sha256 == sha), None)
        return _("Evidence: %(title)s", title=title) if title else _("An evidence file")
    step = definition_for(toolkit).step(step_key)
    return question_labels(step, get_locale_language()).get(target, target)


def toolkit_step_number(toolkit, step_key: str) -> int:  # noqa: ANN001
    return definition_for(toolkit).step(step_key).number


def register(app: Flask) -> None:
    app.jinja_env.filters["answer_text"] = answer_text
    app.jinja_env.filters["missing_message"] = missing_message
    app.jinja_env.filters["missing_anchor"] = field_anchor
    app.jinja_env.filters["filesize"] = filesize
    app.jinja_env.filters["rule_notes"] = rule_notes
    app.jinja_env.filters["town_state"] = town_label
    app.jinja_env.filters["request_anchor"] = request_anchor
    app.jinja_env.filters["request_target_label"] = request_target_label
    app.jinja_env.globals["toolkit_step_number"] = toolkit_step_number
    app.jinja_env.globals["record_title"] = record_title
    # Whether the answer fields of change requests show: the workflow's rule, asked here.
    app.jinja_env.globals["may_answer_requests"] = may_answer_requests
