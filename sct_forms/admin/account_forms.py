"""The forms of the accounts pages: every value a POST carries is checked before a view uses it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from sct_forms.domain.roles import Role
from sct_forms.forms import OUT_OF_DATE, ButtonForm, NoControlCharacters, tidy
from sct_forms.i18n import lazy_gettext as _l
from sct_forms.models import Municipality
from sct_forms.templating import role_label

NAME_MAX_LENGTH = 120  # user_account.name
EMAIL_MAX_LENGTH = 254  # user_account.email


def _name_field() -> StringField:
    return StringField(
        _l("Name"),
        filters=[tidy],
        validators=[
            DataRequired(message=_l("Enter the person's name.")),
            Length(max=NAME_MAX_LENGTH, message=_l("Use %(max)d characters or fewer.")),
            NoControlCharacters(),
        ],
        render_kw={"autocomplete": "off"},
    )


def _email_field() -> EmailField:
    return EmailField(
        _l("Email"),
        filters=[tidy],
        validators=[
            DataRequired(message=_l("Enter the person's email address.")),
            Regexp(r"^[^@\s]+@[^@\s]+$", message=_l("Enter an email address like name@town.gov.")),
            Length(max=EMAIL_MAX_LENGTH, message=_l("Use %(max)d characters or fewer.")),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


def _role_field() -> SelectField:
    return SelectField(
        _l("Role"),
        validators=[DataRequired(message=_l("Choose a role."))],
        invalid_choice_message=OUT_OF_DATE,
    )


def _town_field() -> SelectField:
    return SelectField(_l("Town"), invalid_choice_message=OUT_OF_DATE)


class _RoleAndTown(ButtonForm):
    """A role and a town, with the choices the database holds today."""

    def __init__(self, towns: Iterable[Municipality], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.role.choices = [("", _l("Choose a role"))] + [
            (role.value, role_label(role)) for role in Role
        ]
        self.town.choices = [("", _l("No town"))] + [(str(t.id), t.name) for t in towns]

    @property
    def town_id(self) -> int | None:
        return int(self.town.data) if self.town.data else None


class InviteForm(_RoleAndTown):
    name = _name_field()
    email = _email_field()
    role = _role_field()
    town = _town_field()


class AccessForm(_RoleAndTown):
    """A new role and town for an account."""

    role = _role_field()
    town = _town_field()


class TeammateForm(ButtonForm):
    """Town staff invite a teammate: the role and the town are theirs."""

    name = _name_field()
    email = _email_field()
