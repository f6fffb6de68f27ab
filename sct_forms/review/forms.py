"""The forms of the review workflow: every value a reviewer's POST carries is checked.

Choices are checked against the workflow's own lists; ids, text and the plain buttons are the
shared kinds from ``sct_forms.forms``.
"""

from __future__ import annotations

from typing import ClassVar

from wtforms import BooleanField, RadioField
from wtforms.validators import DataRequired

from sct_forms.forms import (
    OUT_OF_DATE,
    ButtonForm,
    IdField,
    TransitionForm,
    short_field,
    text_field,
)
from sct_forms.i18n import lazy_gettext as _l
from sct_forms.review.services import (
    DECISIONS,
    REASON_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    VERDICTS,
    VISIBILITIES,
)


class AssignForm(ButtonForm):
    reviewer_id = IdField(_l("Reviewer"), _l("Choose a reviewer from the list."))
    ANCHORS: ClassVar[dict[str, str]] = {"reviewer_id": "assign-{key}"}


class TakeOverForm(ButtonForm):
    expected_reviewer_id = IdField(_l("Reviewer"), OUT_OF_DATE)
    confirm = BooleanField(
        _l("I take over this review."),
        validators=[
            DataRequired(message=_l("Check the box to confirm you take over this review."))
        ],
    )
    reason = text_field(_l("Why (optional)"), REASON_MAX_LENGTH)
    ANCHORS: ClassVar[dict[str, str]] = {
        "confirm": "take-over-confirm",
        "reason": "take-over-reason",
    }


class VerdictForm(ButtonForm):
    verdict = RadioField(
        _l("Verdict"),
        choices=list(VERDICTS),
        validators=[DataRequired(message=_l("Choose a verdict for this step."))],
        invalid_choice_message=_l("Choose a verdict for this step."),
    )
    ANCHORS: ClassVar[dict[str, str]] = {"verdict": "verdict-{key}-meets"}


class CommentForm(ButtonForm):
    step_key = short_field(_l("Step"), 40, _l("Choose a step of this toolkit."))
    body = text_field(_l("Comment"), TEXT_MAX_LENGTH, _l("Write the comment before saving it."))
    visibility = RadioField(
        _l("Who can read it"),
        choices=list(VISIBILITIES),
        default="town",
        invalid_choice_message=_l("Choose who can read the comment."),
    )
    ANCHORS: ClassVar[dict[str, str]] = {
        "body": "comment-{key}",
        "visibility": "vis-{key}-town",
        "step_key": "comment-{key}",
    }


class ChangeRequestForm(ButtonForm):
    step_key = short_field(_l("Step"), 40, _l("Choose a step of this toolkit."))
    target = short_field(
        _l("About"), 200, _l("Choose a question or a file of this step, or the whole step.")
    )
    body = text_field(
        _l("What should the town change?"), TEXT_MAX_LENGTH, _l("Say what the town should change.")
    )
    ANCHORS: ClassVar[dict[str, str]] = {
        "body": "request-body-{key}",
        "target": "request-target-{key}",
        "step_key": "request-body-{key}",
    }


class DecisionForm(TransitionForm):
    decision = RadioField(
        _l("Decision"),
        choices=list(DECISIONS),
        validators=[DataRequired(message=_l("Choose a decision."))],
        invalid_choice_message=_l("Choose a decision."),
    )
    reason = text_field(_l("Reason"), REASON_MAX_LENGTH)
    ANCHORS: ClassVar[dict[str, str]] = {
        "decision": "decision-approve",
        "reason": "decision-reason",
        "expected_state": "decision",
    }
