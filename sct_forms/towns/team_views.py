"""A town's team: its staff accounts, and town staff inviting a teammate to their own town.

Who may invite whom is ``domain.accounts.may_invite``, asked by the service whatever the page
shows: town staff invite staff of their own town, administrators anyone (from their console).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user

from sct_forms.access import municipality_or_404, roles_required
from sct_forms.admin import accounts
from sct_forms.admin.account_forms import TeammateForm
from sct_forms.admin.account_messages import account_message
from sct_forms.admin.services import AccountError
from sct_forms.domain.accounts import INVITING_ROLES, may_invite
from sct_forms.domain.roles import ALL_ROLES, Role
from sct_forms.extensions import db
from sct_forms.i18n import gettext as _
from sct_forms.models import Municipality
from sct_forms.templating import render

bp = Blueprint("town_team", __name__, url_prefix="/towns")


def _team_page(town: Municipality, form: TeammateForm | None = None, status: int = 200):
    return render(
        "towns/team.html",
        town=town,
        rows=accounts.town_team(town),
        form=form or TeammateForm(formdata=None),
        failed=status != 200,
        may_invite=may_invite(current_user, Role.STAFF, town.id),
        Invitation=accounts.Invitation,
    ), status


@bp.get("/<slug>/team")
@roles_required(*ALL_ROLES)
def show(slug: str):
    return _team_page(municipality_or_404(slug))


@bp.post("/<slug>/team/invite")
@roles_required(*INVITING_ROLES)
def invite(slug: str):
    town = municipality_or_404(slug)
    form = TeammateForm()
    if not form.validate():
        return _team_page(town, form, 422)
    try:
        user, again = accounts.invite(
            email=form.email.data,
            name=form.name.data,
            role=Role.STAFF,
            town=town,
            actor=current_user,
        )
    except AccountError as error:
        db.session.rollback()
        if error.status == 403:
            abort(403)
        # An address the program holds for another role, town or a deactivated account is the
        # administrators' to settle.
        code = error.code if error.code == "has_password" else "teammate_elsewhere"
        form.email.errors = [*form.email.errors, account_message(code)]
        return _team_page(town, form, 422)
    if again:
        message = _("A new invitation link is on its way to %(email)s.", email=user.email)
    else:
        message = _(
            "The invitation is on its way to %(email)s. The link in it lets them choose their "
            "own password and join %(town)s.",
            email=user.email,
            town=town.name,
        )
    flash(message, "success")
    return redirect(url_for("town_team.show", slug=town.slug), 303)
