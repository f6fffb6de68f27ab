"""Template filters for workflow words: states, verdicts, requests, history sentences."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import format_decimal

from sct_forms.domain.changes import word_changes
from sct_forms.domain.toolkit_definition import Step
from sct_forms.extensions import db
from sct_forms.i18n import gettext as _
from sct_forms.models import AuditEvent, Toolkit, User
from sct_forms.review.services import may_claim_action
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
        "toolkit.review_taken_over": _taken_over_sentence(who, details),
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


def _taken_over_sentence(who: str, details: dict) -> str:
    previous_id = details.get("from_reviewer_id")
    previous = db.session.get(User, previous_id) if previous_id else None
    sentence = _(
        "%(who)s took over the review from %(previous)s.",
        who=who,
        previous=previous.name if previous else _("another reviewer"),
    )
    if details.get("reason"):
        sentence += " " + _("Reason: %(reason)s", reason=details["reason"])
    return sentence


# What the claim rule (domain.claims) allows, asked by the templates to show or hide buttons.
def may_decide(user: User, toolkit: Toolkit) -> bool:
    """Verdicts, change requests, closing them and the decision."""
    return may_claim_action("decide", user, toolkit)


def may_start_review(user: User, toolkit: Toolkit) -> bool:
    return may_claim_action("start", user, toolkit)


def may_pick_up(user: User, toolkit: Toolkit) -> bool:
    """Assign to oneself a toolkit in review that nobody holds (an admin took the reviewer off)."""
    return (
        toolkit.assigned_reviewer_id is None
        and may_claim_action("claim", user, toolkit)
        and not may_claim_action("start", user, toolkit)
    )


def may_release(user: User, toolkit: Toolkit) -> bool:
    return may_claim_action("release", user, toolkit)


def may_reassign(user: User, toolkit: Toolkit) -> bool:
    return may_claim_action("reassign", user, toolkit)


def may_take_over(user: User, toolkit: Toolkit) -> bool:
    return may_claim_action("take_over", user, toolkit)


def question_label(path: str, step: Step, language: str) -> str:
    return question_labels(step, language).get(path, path)


def plain_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def whole_number(value: int) -> str:
    """A count written as the page's language writes it: 1,000 in English, 1.000 in Spanish."""
    return format_decimal(value)


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        state_label=internal_label,
        verdict_label=verdict_label,
        request_status_label=request_status_label,
        event_sentence=event_sentence,
        question_label=question_label,
        plain_value=plain_value,
        word_changes=word_changes,
        whole_number=whole_number,
    )
    app.jinja_env.globals.update(
        may_decide=may_decide,
        may_start_review=may_start_review,
        may_pick_up=may_pick_up,
        may_release=may_release,
        may_reassign=may_reassign,
        may_take_over=may_take_over,
    )
