"""The town's forms outside the step pages: starting a toolkit, answering a change request."""

from typing import ClassVar

from flask_wtf import FlaskForm
from wtforms import BooleanField

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
