"""The forms of equity coaching: every value a POST carries is checked before a view uses it."""

from __future__ import annotations

from typing import Any, ClassVar

from wtforms import RadioField
from wtforms.validators import DataRequired

from sct_forms.domain.coaching import (
    AVAILABILITY_MAX_LENGTH,
    COMMENT_MAX_LENGTH,
    MEETINGS,
    TOPICS_MAX_LENGTH,
)
from sct_forms.forms import ButtonForm, IdField, short_field, text_field
from sct_forms.i18n import lazy_gettext as _l

MEETING_MESSAGE = _l("Choose how you would like to meet your coach.")


class CoachRequestForm(ButtonForm):
    topics = text_field(
        _l("What would you like help with?"),
        TOPICS_MAX_LENGTH,
        _l("Say what you would like help with."),
    )
    meeting = RadioField(
        _l("How would you like to meet?"),
        choices=list(MEETINGS),
        validators=[DataRequired(message=MEETING_MESSAGE)],
        invalid_choice_message=MEETING_MESSAGE,
    )
    availability = text_field(
        _l("When are you available?"),
        AVAILABILITY_MAX_LENGTH,
        _l("Say when you are available to meet."),
    )
    ANCHORS: ClassVar[dict[str, str]] = {
        "topics": "topics",
        "meeting": "meeting-phone",
        "availability": "availability",
    }


class AssignCoachForm(ButtonForm):
    coach_id = IdField(_l("Coach"), _l("Choose a coach from the list."))
    ANCHORS: ClassVar[dict[str, str]] = {"coach_id": "coach-{key}"}


class AssignTownCoachForm(ButtonForm):
    """A coach for a town chosen directly, when the town asked by email or in person."""

    town_id = IdField(_l("Town"), _l("Choose a town from the list."))
    coach_id = IdField(_l("Coach"), _l("Choose a coach from the list."))
    ANCHORS: ClassVar[dict[str, str]] = {"town_id": "direct-town", "coach_id": "direct-coach"}

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        # An id field may be left empty elsewhere; here both choices are needed.
        for field in (self.town_id, self.coach_id):
            if field.data is None and not field.errors:
                field.errors.append(field.message)
                valid = False
        return valid


class CoachCommentForm(ButtonForm):
    step_key = short_field(_l("Step"), 40, _l("Choose a step of this record."))
    body = text_field(
        _l("Your advice for the town"),
        COMMENT_MAX_LENGTH,
        _l("Write your advice before sending it."),
    )
    ANCHORS: ClassVar[dict[str, str]] = {"body": "coach-comment", "step_key": "coach-comment"}
