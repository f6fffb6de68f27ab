"""What every feature's forms share: the plain button, the workflow button and checked fields.

Every POST goes through a form (an empty one for a plain button), so Flask-WTF checks its CSRF
token and every value it carries is parsed before a view uses it: ids against what the database
can hold, text against its length limit and for control codes. Bad input is then a 422 with a
message, never a 500 and never silently cut. Rules of the product stay in the services.
"""

from __future__ import annotations

from typing import Any, ClassVar

from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from sct_forms.domain import workflow
from sct_forms.i18n import lazy_gettext as _l
from sct_forms.inputs import MAX_INT, bounded_int, has_control_characters

TOO_LONG = _l("Use %(max)s characters or fewer. You have %(length)s.")
OUT_OF_DATE = _l("This page is out of date. Reload it and try again.")


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


def tidy(value: Any) -> Any:
    """Surrounding blanks off, and one kind of line break, as browsers send CR LF."""
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else value


def text_field(label: Any, limit: int, required: Any = None, **kwargs: Any) -> TextAreaField:
    """Typed text up to ``limit`` characters; ``required`` is the message when it is empty."""
    first = DataRequired(message=required) if required else Optional()
    return TextAreaField(
        label,
        filters=[tidy],
        validators=[first, Length(max=limit, message=TOO_LONG), NoControlCharacters()],
        **kwargs,
    )


def short_field(label: Any, limit: int, message: Any, **kwargs: Any) -> StringField:
    """A short value a page sends without anyone typing it (a step, a target, a link back)."""
    return StringField(
        label,
        filters=[tidy],
        validators=[Optional(), Length(max=limit, message=message), NoControlCharacters()],
        **kwargs,
    )


class WholeNumberField(IntegerField):
    """A whole number typed with ASCII digits; anything else (``1e9``, ``٣``, ``2O26``) gives
    ``unreadable`` as the field's message instead of an error page."""

    unreadable: Any = ""

    def unreadable_message(self) -> Any:
        return self.unreadable

    def process_formdata(self, valuelist: list[str]) -> None:
        text = valuelist[0].strip() if valuelist else ""
        if not text:
            self.data = None
            return
        try:
            self.data = bounded_int(text)
        except ValueError:
            self.data = None
            raise ValueError(self.unreadable_message()) from None


class IdField(WholeNumberField):
    """A database id: ASCII digits, 1 to 2**31-1; anything else is ``message``."""

    def __init__(self, label: Any, message: Any, **kwargs: Any) -> None:
        validators = [Optional(), NumberRange(min=1, max=MAX_INT, message=message)]
        super().__init__(label, validators=validators, **kwargs)
        self.message = message

    def unreadable_message(self) -> Any:
        return self.message


class ButtonForm(FlaskForm):
    """A plain button: nothing but the CSRF token.

    ``ANCHORS`` maps field names to the ids the page gives their inputs, so the error summary
    links to the right box (a page may show one such form per step or per request).
    """

    ANCHORS: ClassVar[dict[str, str]] = {}

    def anchor(self, key: str | int | None = None) -> None:
        """Give the fields the ids their inputs have on the page (``key``: a step or request)."""
        for name, pattern in self.ANCHORS.items():
            getattr(self, name).id = pattern.format(key=key or "")

    def first_error(self) -> str | None:
        """The first problem of the form, for a page that shows one message."""
        return next((str(e) for field in self for e in field.errors), None)

    def validate_button(self) -> None:
        """Validate a button without fields: its one possible problem, a missing or expired
        token, is refused (400, audited) as CSRFProtect refuses any other request."""
        if not self.validate():
            raise CSRFError(self.first_error())


class TransitionForm(ButtonForm):
    """A workflow button that names the state the person saw (a stale page is a 409)."""

    expected_state = SelectField(
        _l("State"),
        choices=list(workflow.STATES),
        validators=[Optional()],
        invalid_choice_message=OUT_OF_DATE,
    )
