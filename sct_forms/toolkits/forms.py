"""The town's forms: starting a toolkit, a step's save, check and conflict, answering a request.

A step's answers are not fields here: the toolkit definition decides them, and domain.answers
reads them from the posted fields. The step forms carry the fixed parts beside them.
"""

from typing import ClassVar

from flask import current_app, g
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from wtforms import BooleanField, Field, StringField

from sct_forms.errors import record_refusal
from sct_forms.extensions import csrf
from sct_forms.forms import OUT_OF_DATE, ButtonForm, IdField, short_field, text_field
from sct_forms.i18n import lazy_gettext as _l
from sct_forms.review.services import TEXT_MAX_LENGTH


class StartToolkitForm(FlaskForm):
    """Choosing the paired action; the checks that matter live in services.start_toolkit."""

    # Checked here so that a made-up id too large for the database is a form error, not a query.
    action_id = IdField(
        _l("Action"),
        _l("Choose an action from the list."),
        id="action-choices",  # the list of actions, where the error summary leads
    )
    confirmed = BooleanField(
        _l("This action is part of our town's certification submission this cycle.")
    )


class RespondForm(ButtonForm):
    """The town's answer to one change request, from the toolkit's page."""

    response = text_field(_l("What did you change?"), TEXT_MAX_LENGTH)
    addressed = BooleanField(_l("Done: this request is dealt with"))
    back = short_field(_l("Back to"), 2000, OUT_OF_DATE)
    ANCHORS: ClassVar[dict[str, str]] = {
        "response": "response-{key}",
        "addressed": "addressed-{key}",
        "back": "response-{key}",
    }


class VersionField(Field):
    """The step version a page was built on; an unreadable one is -1, which no save has, so the
    save is treated as made on a stale page (the conflict page, with the text kept)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            self.data = int(valuelist[0])
        except (IndexError, TypeError, ValueError):
            self.data = -1


class StepTokenForm(FlaskForm):
    """A step page's form, whose CSRF token is checked by ``check_token``, not by ``validate``.

    The token may come as the field or as htmx's X-CSRFToken header (a blur check sends only
    the header), as CSRFProtect reads it; and a save finished after signing in again runs inside
    the sign-in request, which Flask-WTF already checked and marked in g.csrf_valid (signing in
    starts a new session, so checking again would fail).
    """

    class Meta:
        csrf = False  # check_token checks it

    def check_token(self) -> None:
        """Refuse (CSRFError, 400 and audited) a request whose token is missing or expired."""
        if current_app.config.get("WTF_CSRF_ENABLED", True) and not g.get("csrf_valid"):
            csrf.protect()

    def token_valid(self) -> bool:
        """Whether the token is good; a refusal is audited, but the page keeps what was typed."""
        try:
            self.check_token()
        except CSRFError as refused:
            record_refusal("access.csrf_refused", refused.description)
            return False
        return True


class StepForm(StepTokenForm):
    """A step's save or autosave: the version it builds on, the pressed button, a resolution.

    The fields are never shown, so they have no labels: a field without one asks WTForms for a
    translated default, which loads WTForms' message catalog in every autosave.
    """

    base_version = VersionField("", default=-1)
    intent = StringField("", default="save")  # save, continue, add:<group>, remove:<group>:<index>
    resolution = StringField("")

    def resolution_choice(self) -> str | None:
        """How the save settles a conflict ("keep_mine" or "merged"), if it does."""
        return self.resolution.data if self.resolution.data in ("keep_mine", "merged") else None


class FieldCheckForm(StepTokenForm):
    """The blur check of one field; the field's path is checked against the step definition."""

    field = StringField(default="")


class ConflictForm(ButtonForm):
    """The choice after a conflict, with the answers the person had typed (JSON) beside it."""

    mine = StringField(default="{}")
    their_version = VersionField(default=-1)
    choice = StringField()  # merge, keep_mine or keep_theirs; anything else is a 400
