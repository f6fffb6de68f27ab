"""The certificate pages' forms: issue and release buttons, a revocation and its reason."""

from __future__ import annotations

from typing import Any

from wtforms import TextAreaField
from wtforms.validators import ValidationError
from wtforms.widgets import HiddenInput

from sct_forms.forms import OUT_OF_DATE, ButtonForm, IdField, tidy
from sct_forms.i18n import gettext as _
from sct_forms.i18n import lazy_gettext as _l

__all__ = ["IssueForm", "ReleaseForm", "RevokeForm"]


class IssueForm(ButtonForm):
    """An administrator's issue button; ``cycle`` is the cycle the page showed (the current
    one if left out)."""

    cycle = IdField(_l("Cycle"), OUT_OF_DATE, widget=HiddenInput())


class ReleaseForm(ButtonForm):
    """The "Release certificates" button: the cycle is in the address, the token in the form."""


class RevokeForm(ButtonForm):
    """Revoking the certificate ``serial``: the reason is required, and the town reads it.

    The town's page shows one such form per certificate, so the box's id names the serial.
    """

    reason = TextAreaField(
        _l("Reason (the town reads it; the public page only says it was revoked)"),
        filters=[tidy],
        render_kw={"rows": 3, "required": True},
    )

    def __init__(self, serial: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.serial = serial
        self.reason.id = self.reason.label.field_id = f"reason-{serial}"

    def validate_reason(self, field: TextAreaField) -> None:
        if not field.data:
            raise ValidationError(self.reason_missing())

    def reason_missing(self) -> str:
        return _(
            "Write the reason for revoking certificate %(serial)s. The town will read it.",
            serial=self.serial,
        )
