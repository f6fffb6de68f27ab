"""The form of one's reminder setting."""

from __future__ import annotations

from typing import ClassVar

from wtforms import RadioField
from wtforms.validators import DataRequired

from sct_forms.forms import ButtonForm
from sct_forms.i18n import lazy_gettext as _l

CHOICE_MESSAGE = _l("Choose whether we send you reminder emails.")
ON, OFF = "on", "off"


class ReminderSettingForm(ButtonForm):
    reminders = RadioField(
        _l("Reminder emails"),
        choices=[ON, OFF],
        validators=[DataRequired(message=CHOICE_MESSAGE)],
        invalid_choice_message=CHOICE_MESSAGE,
    )

    LABELS: ClassVar[dict[str, str]] = {
        ON: _l("Yes, send me reminders"),
        OFF: _l("No, do not send me reminders"),
    }
    ANCHORS: ClassVar[dict[str, str]] = {"reminders": "reminders-on"}

    @property
    def enabled(self) -> bool:
        return self.reminders.data == ON
