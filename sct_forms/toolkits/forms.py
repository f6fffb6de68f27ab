from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField
from wtforms.validators import NumberRange, Optional

from sct_forms.i18n import lazy_gettext as _l
from sct_forms.inputs import MAX_INT


class StartToolkitForm(FlaskForm):
    """Choosing the paired action; the checks that matter live in services.start_toolkit."""

    # Bounded so that a made-up id too large for the database is a form error, not a query.
    action_id = IntegerField(
        _l("Action"),
        validators=[
            Optional(),
            NumberRange(min=0, max=MAX_INT, message=_l("Choose an action from the list.")),
        ],
    )
    confirmed = BooleanField(
        _l("This action is part of our town's certification submission this cycle.")
    )
