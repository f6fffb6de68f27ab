from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField
from wtforms.validators import Optional

from sct_forms.i18n import lazy_gettext as _l


class StartToolkitForm(FlaskForm):
    """Choosing the paired action; the checks that matter live in services.start_toolkit."""

    action_id = IntegerField(_l("Action"), validators=[Optional()])
    confirmed = BooleanField(
        _l("This action is part of our town's certification submission this cycle.")
    )
