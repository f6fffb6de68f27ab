"""The action catalog's forms: the file check, the import's confirmation, an action's titles."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from sct_forms.admin.catalog import YEARS
from sct_forms.forms import (
    OUT_OF_DATE,
    TOO_LONG,
    ButtonForm,
    NoControlCharacters,
    WholeNumberField,
    tidy,
)
from sct_forms.i18n import gettext as _
from sct_forms.i18n import lazy_gettext as _l
from sct_forms.reference_data import TITLE_LIMIT


def year_message() -> str:
    return _(
        "Give the catalog year as four digits, from %(first)s to %(last)s.",
        first=YEARS[0],
        last=YEARS[1],
    )


class YearField(WholeNumberField):
    """A catalog year in ASCII digits; anything else (``2O26``, ``1e3``) is a message, not a 500."""

    def unreadable_message(self) -> str:
        return year_message()


class CatalogUploadForm(FlaskForm):
    """A catalog file and the year it is for; the file's rows are the service's to check."""

    file = FileField(_l("Catalog file (CSV)"), id="catalog-file")
    catalog_year = YearField(_l("Catalog year"), id="catalog-year")

    def validate_file(self, field: FileField) -> None:
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Choose the catalog file to check."))

    def validate_catalog_year(self, field: YearField) -> None:
        if field.data is None or not YEARS[0] <= field.data <= YEARS[1]:
            raise ValidationError(year_message())


class ConfirmImportForm(ButtonForm):
    """The preview's button: which kept file, its SHA-256 and the SHA-256 of the changes shown."""

    token = HiddenField(validators=[DataRequired(OUT_OF_DATE), Length(max=64, message=OUT_OF_DATE)])
    sha256 = HiddenField(
        validators=[DataRequired(OUT_OF_DATE), Length(max=64, message=OUT_OF_DATE)]
    )
    plan = HiddenField(validators=[DataRequired(OUT_OF_DATE), Length(max=64, message=OUT_OF_DATE)])


class ActionTitlesForm(FlaskForm):
    """An action's title in English (required) and in Spanish (shown to Spanish readers)."""

    title = StringField(
        _l("Title in English"),
        filters=[tidy],
        validators=[
            DataRequired(_l("Give the action a title in English.")),
            Length(max=TITLE_LIMIT, message=TOO_LONG),
            NoControlCharacters(),
        ],
    )
    title_es = StringField(
        _l("Title in Spanish"),
        filters=[tidy],
        validators=[Optional(), Length(max=TITLE_LIMIT, message=TOO_LONG), NoControlCharacters()],
        render_kw={"lang": "es"},
    )


class RetireForm(ButtonForm):
    """The "Retire" and "Offer again" buttons: the action is in the address."""
