from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField
from wtforms.validators import DataRequired, Length, Regexp

from sct_forms.i18n import LANGUAGE_NAMES
from sct_forms.i18n import lazy_gettext as _l


class SignInForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[
            DataRequired(message=_l("Enter your email address.")),
            # Only the shape is checked: the account list decides who can sign in.
            Regexp(r"^[^@\s]+@[^@\s]+$", message=_l("Enter an email address like name@town.gov.")),
            Length(max=254),
        ],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=_l("Enter your password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class LanguageForm(FlaskForm):
    language = SelectField(_l("Language"))

    def __init__(self, languages: tuple[str, ...], **kwargs) -> None:  # noqa: ANN003
        super().__init__(**kwargs)
        self.language.choices = [(code, LANGUAGE_NAMES.get(code, code)) for code in languages]
