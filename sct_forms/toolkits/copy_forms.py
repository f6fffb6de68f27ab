"""The forms of recertification: choosing the action of a copy, attaching an earlier file."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField

from sct_forms.forms import IdField
from sct_forms.i18n import lazy_gettext as _l


class CopyToolkitForm(FlaskForm):
    """The paired action of the new toolkit; the rules live in toolkits.recertification."""

    action_id = IdField(
        _l("Action for this cycle"),
        _l("Choose an action from the list."),
        id="copy-action",
    )
    confirmed = BooleanField(
        _l("This action is part of our town's certification submission this cycle.")
    )
