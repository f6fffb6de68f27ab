"""Template filters for workflow words: states, verdicts, requests, history sentences."""

from __future__ import annotations

from typing import Any

from flask import Flask

from sct_forms.domain.toolkit_definition import Step
from sct_forms.i18n import gettext as _
from sct_forms.models import AuditEvent
from sct_forms.toolkits.labels import internal_label
from sct_forms.toolkits.presenters import question_labels


def verdict_label(verdict: str) -> str:
    return {"meets": _("Meets the requirement"), "needs_changes": _("Needs changes")}.get(
        verdict, verdict
    )


def request_status_label(status: str) -> str:
    return {
        "open": _("Open: waiting for the town"),
        "addressed": _("Answered by the town"),
        "closed": _("Closed"),
    }.get(status, status)


def event_sentence(event: AuditEvent) -> str:
    """One line of a toolkit's history, naming who did what."""
    who = event.actor.name if event.actor else _("The system")
    details = event.details or {}
    revision = details.get("revision")
    sentences = {
        "toolkit.started": _("%(who)s started the toolkit.", who=who),
        "toolkit.submitted": _("%(who)s submitted revision %(num)s.", who=who, num=revision),
        "toolkit.resubmitted": _(
            "%(who)s sent revision %(num)s after changes.", who=who, num=revision
        ),
        "toolkit.review_started": _("%(who)s started reviewing.", who=who),
        "toolkit.released": _("%(who)s put the toolkit back in the queue.", who=who),
        "toolkit.assigned": _("%(who)s assigned a reviewer.", who=who),
        "toolkit.changes_requested": _("%(who)s asked for changes.", who=who),
        "toolkit.approved": _("%(who)s approved the toolkit.", who=who),
        "toolkit.not_approved": _("%(who)s did not approve the toolkit.", who=who),
        "toolkit.withdrawn": _("%(who)s withdrew the toolkit.", who=who),
        "toolkit.reopened": _("%(who)s reopened the toolkit.", who=who),
        "toolkit.commented": _("%(who)s commented.", who=who),
        "toolkit.step_verdict": _("%(who)s gave a verdict on a step.", who=who),
        "change_request.created": _("%(who)s requested a change.", who=who),
        "change_request.answered": _("%(who)s answered a change request.", who=who),
        "change_request.closed": _("%(who)s closed a change request.", who=who),
    }
    return sentences.get(event.action, event.action)


def question_label(path: str, step: Step, language: str) -> str:
    return question_labels(step, language).get(path, path)


def plain_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        state_label=internal_label,
        verdict_label=verdict_label,
        request_status_label=request_status_label,
        event_sentence=event_sentence,
        question_label=question_label,
        plain_value=plain_value,
    )
