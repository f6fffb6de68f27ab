from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from sct_forms.auth.password_policy import MAX_LENGTH
from sct_forms.forms import OUT_OF_DATE
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
    # A save whose session ended, carried through this page (auth.resume finishes it).
    resume_url = HiddenField()
    resume_data = HiddenField()


class LanguageForm(FlaskForm):
    # Only a page from before a change to the languages offered sends another one.
    language = SelectField(_l("Language"), invalid_choice_message=OUT_OF_DATE)
    back = HiddenField(name="next")  # the page to return to, checked by safe_next_url

    def __init__(self, languages: tuple[str, ...], **kwargs) -> None:  # noqa: ANN003
        super().__init__(**kwargs)
        self.language.choices = [(code, LANGUAGE_NAMES.get(code, code)) for code in languages]


# --- passwords and accounts ---------------------------------------------------------------------
# The length limit here only bounds the input; password_policy decides what is acceptable, in
# the service, with the person's own name and email in view.


def _new_password_fields() -> tuple[PasswordField, PasswordField]:
    new = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(message=_l("Enter a new password.")),
            Length(max=MAX_LENGTH, message=_l("Use at most %(max)d characters.")),
        ],
        render_kw={"autocomplete": "new-password", "spellcheck": "false"},
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(message=_l("Enter the new password a second time.")),
            EqualTo("new_password", message=_l("The two new passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password", "spellcheck": "false"},
    )
    return new, confirm


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[
            DataRequired(message=_l("Enter your current password.")),
            Length(max=MAX_LENGTH),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    new_password, confirm_password = _new_password_fields()


class SetPasswordForm(FlaskForm):
    """Choosing a password from an emailed link: a reset or an invitation."""

    new_password, confirm_password = _new_password_fields()


def _strip(value: str | None) -> str | None:
    # A pasted address often brings a space along.
    return value.strip() if isinstance(value, str) else value


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Enter your email address.")),
            Regexp(r"^[^@\s]+@[^@\s]+$", message=_l("Enter an email address like name@town.gov.")),
            Length(max=254),
        ],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
