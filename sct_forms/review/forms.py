"""The forms of the review workflow: every value a review or submission POST carries is checked.

Choices are checked against the workflow's own lists, ids against what the database can hold,
and text against its length limit and for control codes, so bad input is a 422 with a message,
never a 500 and never silently cut.
"""

from __future__ import annotations

from typing import Any, ClassVar

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from sct_forms.domain import workflow
from sct_forms.i18n import lazy_gettext as _l
from sct_forms.inputs import MAX_INT, bounded_int, has_control_characters
from sct_forms.review.services import (
    DECISIONS,
    REASON_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    VERDICTS,
    VISIBILITIES,
)

TOO_LONG = _l("Use %(max)s characters or fewer. You have %(length)s.")


class NoControlCharacters:
    """Refuses NUL and other invisible control codes (tab and line breaks are fine)."""

    def __call__(self, form: FlaskForm, field: Any) -> None:
        if isinstance(field.data, str) and has_control_characters(field.data):
            raise ValidationError(
                _l(
                    "This text contains invisible control characters, so it was not saved. "
                    "They can come with text pasted from another program. Remove them or "
                    "paste as plain text."
                )
            )


def _tidy(value: Any) -> Any:
    """Surrounding blanks off, and one kind of line break, as browsers send CR LF."""
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else value


def _text(label: Any, limit: int, required: Any = None, **kwargs: Any) -> TextAreaField:
    first = DataRequired(message=required) if required else Optional()
    return TextAreaField(
        label,
        filters=[_tidy],
        validators=[first, Length(max=limit, message=TOO_LONG), NoControlCharacters()],
        **kwargs,
    )


def _short(label: Any, limit: int, message: Any) -> StringField:
    """A short value a page sends without anyone typing it (a step, a target, a link back)."""
    return StringField(
        label,
        filters=[_tidy],
        validators=[Optional(), Length(max=limit, message=message), NoControlCharacters()],
    )


class IdField(IntegerField):
    """A database id: ASCII digits, 1 to 2**31-1; anything else (``1e9``, ``٣``) is ``message``."""

    def __init__(self, label: Any, message: Any, **kwargs: Any) -> None:
        validators = [Optional(), NumberRange(min=1, max=MAX_INT, message=message)]
        super().__init__(label, validators=validators, **kwargs)
        self.message = message

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = bounded_int(valuelist[0].strip())
        except ValueError:
            self.data = None
            raise ValueError(self.message) from None


def _id(label: Any, message: Any) -> IdField:
    return IdField(label, message)


class ButtonForm(FlaskForm):
    """A plain button: nothing but the CSRF token.

    ``ANCHORS`` maps field names to the ids the page gives their inputs, so the error summary
    links to the right box (a page shows one such form per step).
    """

    ANCHORS: ClassVar[dict[str, str]] = {}

    def anchor(self, key: str | int | None = None) -> None:
        """Give the fields the ids their inputs have on the page (``key``: a step or request)."""
        for name, pattern in self.ANCHORS.items():
            getattr(self, name).id = pattern.format(key=key or "")


class TransitionForm(ButtonForm):
    """A workflow button that names the state the person saw (a stale page is a 409)."""

    expected_state = SelectField(
        _l("State"),
        choices=list(workflow.STATES),
        validators=[Optional()],
        invalid_choice_message=_l("This page is out of date. Reload it and try again."),
    )


class AssignForm(ButtonForm):
    reviewer_id = _id(_l("Reviewer"), _l("Choose a reviewer from the list."))
    ANCHORS: ClassVar[dict[str, str]] = {"reviewer_id": "assign-{key}"}


class TakeOverForm(ButtonForm):
    expected_reviewer_id = _id(
        _l("Reviewer"), _l("This page is out of date. Reload it and try again.")
    )
    confirm = BooleanField(
        _l("I take over this review."),
        validators=[
            DataRequired(message=_l("Check the box to confirm you take over this review."))
        ],
    )
    reason = _text(_l("Why (optional)"), REASON_MAX_LENGTH)
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
    step_key = _short(_l("Step"), 40, _l("Choose a step of this toolkit."))
    body = _text(_l("Comment"), TEXT_MAX_LENGTH, _l("Write the comment before saving it."))
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
    step_key = _short(_l("Step"), 40, _l("Choose a step of this toolkit."))
    target = _short(
        _l("About"), 200, _l("Choose a question or a file of this step, or the whole step.")
    )
    body = _text(
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
    reason = _text(_l("Reason"), REASON_MAX_LENGTH)
    ANCHORS: ClassVar[dict[str, str]] = {
        "decision": "decision-approve",
        "reason": "decision-reason",
        "expected_state": "decision",
    }


class RespondForm(ButtonForm):
    """The town's answer to one change request, from the toolkit's page."""

    response = _text(_l("What did you change?"), TEXT_MAX_LENGTH)
    addressed = BooleanField(_l("Done: this request is dealt with"))
    back = _short(_l("Back to"), 2000, _l("This page is out of date. Reload it and try again."))
    ANCHORS: ClassVar[dict[str, str]] = {
        "response": "response-{key}",
        "addressed": "addressed-{key}",
    }
