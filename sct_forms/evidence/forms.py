"""The evidence upload form: it parses what was sent; services.add_evidence judges it."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField

from sct_forms.i18n import lazy_gettext as _l


class UploadForm(FlaskForm):
    """A file for a step, its title and, for a photo, a description and the people's consent.

    No rules here: what a file, title or description needs is the service's rule, and its
    refusal is added to the field it names. The ids are the inputs' ids on the step page.
    """

    file = FileField(_l("File"), id="upload-file")
    title = StringField(_l("Title"), id="upload-title")
    alt_text = StringField(_l("Description of the image (for images)"), id="upload-alt-text")
    people_consented = BooleanField(
        _l("For photos: the people who can be recognized agreed to the photo being used."),
        id="upload-people-consented",
    )
