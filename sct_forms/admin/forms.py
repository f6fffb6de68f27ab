"""The administrators' console forms: retrying an email."""

from __future__ import annotations

from datetime import UTC, datetime

from wtforms import HiddenField, IntegerField
from wtforms.validators import InputRequired, NumberRange, ValidationError

from sct_forms.forms import OUT_OF_DATE, ButtonForm
from sct_forms.i18n import lazy_gettext as _l


class RetryForm(ButtonForm):
    """The Retry button of one email; it names the message as the page showed it."""

    attempts = IntegerField(
        _l("Attempts"),
        validators=[InputRequired(OUT_OF_DATE), NumberRange(0, 10_000, OUT_OF_DATE)],
    )
    send_after = HiddenField(_l("Next try"))

    def validate_send_after(self, field: HiddenField) -> None:
        if self.seen_send_after() is None:
            raise ValidationError(OUT_OF_DATE)

    def seen_send_after(self) -> datetime | None:
        """The next try the page showed, as an aware UTC time; None if not one."""
        try:
            value = datetime.fromisoformat(self.send_after.data or "")
            # A time at the very edge of the calendar cannot be moved to UTC.
            return value.astimezone(UTC) if value.tzinfo is not None else None
        except (TypeError, ValueError, OverflowError):
            return None
