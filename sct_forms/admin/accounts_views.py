"""The administrators' accounts pages: the list, inviting people, one person's account.

What may be done is the service's answer (``admin.accounts``); the views parse the form, call
the service and put its refusals in words beside the field at fault, or as an error page.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from sct_forms.access import roles_required
from sct_forms.admin import accounts
from sct_forms.admin.account_forms import AccessForm, InviteForm
from sct_forms.admin.account_messages import account_message
from sct_forms.admin.services import AccountError
from sct_forms.domain.accounts import ACCOUNT_ADMIN_ROLES
from sct_forms.domain.roles import Role
from sct_forms.errors import render_error
from sct_forms.extensions import db
from sct_forms.forms import ButtonForm
from sct_forms.i18n import gettext as _
from sct_forms.inputs import bounded_int
from sct_forms.models import ROLES, Municipality, User
from sct_forms.templating import render

bp = Blueprint("admin_accounts", __name__, url_prefix="/admin/accounts")


def _towns() -> list[Municipality]:
    return list(db.session.scalars(select(Municipality).order_by(Municipality.name)))


def _town(town_id: int | None) -> Municipality | None:
    return db.session.get(Municipality, town_id) if town_id else None


def _refusal(error: AccountError):
    if error.status == 403:
        abort(403)
    return render_error(error.status, account_message(error.code))


def _put_beside_field(form, error: AccountError) -> None:  # noqa: ANN001
    field = getattr(form, error.field or "", None)
    target = field if field is not None else form.email if hasattr(form, "email") else form.role
    target.errors = [*target.errors, account_message(error.code)]


# --- the list -------------------------------------------------------------------------------


def _filters() -> accounts.Filters:
    role = request.args.get("role", "")
    active = {"yes": True, "no": False}.get(request.args.get("active", ""))
    return accounts.Filters(
        role=role if role in ROLES else None,
        town_id=request.args.get("town", type=bounded_int),
        active=active,
        search=request.args.get("q", "")[: accounts.SEARCH_MAX_LENGTH],
    )


@bp.get("/")
@roles_required(*ACCOUNT_ADMIN_ROLES)
def index():
    filters = _filters()
    return render(
        "admin/accounts/index.html",
        block="account_results",
        rows=accounts.accounts(filters),
        filters=filters,
        towns=_towns(),
        roles=list(Role),
        Invitation=accounts.Invitation,
    )


# --- inviting -------------------------------------------------------------------------------


@bp.route("/invite", methods=["GET", "POST"])
@roles_required(*ACCOUNT_ADMIN_ROLES)
def invite():
    towns = _towns()
    form = InviteForm(towns)
    if request.method == "GET":
        return _invite_page(form)
    if not form.validate():
        return _invite_page(form, 422)
    try:
        user, again = accounts.invite(
            email=form.email.data,
            name=form.name.data,
            role=form.role.data,
            town=_town(form.town_id),
            actor=current_user,
        )
    except AccountError as error:
        db.session.rollback()
        if error.status == 403:
            abort(403)
        _put_beside_field(form, error)
        return _invite_page(form, 422)
    if again:
        message = _("A new invitation link is on its way to %(email)s.", email=user.email)
    else:
        message = _(
            "The invitation is on its way to %(email)s. The link in it lets them choose their "
            "own password.",
            email=user.email,
        )
    flash(message, "success")
    return redirect(url_for("admin_accounts.show", user_id=user.id), 303)


def _invite_page(form: InviteForm, status: int = 200):
    return render("admin/accounts/invite.html", form=form, failed=status != 200), status


# --- one person's account -------------------------------------------------------------------


def _account_page(
    user: User,
    form: AccessForm | None = None,
    status: int = 200,
):
    if form is None:
        form = AccessForm(_towns(), formdata=None)
        form.role.data = user.role
        form.town.data = str(user.municipality_id) if user.municipality_id else ""
    return render(
        "admin/accounts/show.html",
        account=accounts.account_row(user),
        form=form,
        failed=status != 200,
        is_self=user.id == current_user.id,
        is_coach=user.role == Role.COACH,
        coach_towns=accounts.coach_towns(user),
        Invitation=accounts.Invitation,
    ), status


def _user_or_404(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)


@bp.get("/<int:user_id>")
@roles_required(*ACCOUNT_ADMIN_ROLES)
def show(user_id: int):
    return _account_page(_user_or_404(user_id))


@bp.post("/<int:user_id>/access")
@roles_required(*ACCOUNT_ADMIN_ROLES)
def change_access(user_id: int):
    user = _user_or_404(user_id)
    form = AccessForm(_towns())
    if not form.validate():
        return _account_page(user, form, 422)
    try:
        changed = accounts.change_access(user, form.role.data, _town(form.town_id), current_user)
    except AccountError as error:
        db.session.rollback()
        if error.status == 403:
            abort(403)
        _put_beside_field(form, error)
        return _account_page(user, form, 422)
    if changed:
        flash(
            _(
                "%(name)s's role and town are saved. They were signed out everywhere and see "
                "their new pages when they sign in again.",
                name=user.name,
            ),
            "success",
        )
    else:
        flash(_("Nothing changed: the role and town were already these."), "info")
    return redirect(url_for("admin_accounts.show", user_id=user.id), 303)


@bp.post("/<int:user_id>/deactivate")
@roles_required(*ACCOUNT_ADMIN_ROLES)
def deactivate(user_id: int):
    user = _user_or_404(user_id)
    ButtonForm().validate_button()
    try:
        accounts.deactivate(user, current_user)
    except AccountError as error:
        db.session.rollback()
        return _refusal(error)
    flash(
        _(
            "%(name)s's account is deactivated: they were signed out and cannot sign in. "
            "Their work and history stay.",
            name=user.name,
        ),
        "success",
    )
    return redirect(url_for("admin_accounts.show", user_id=user.id), 303)


@bp.post("/<int:user_id>/reactivate")
@roles_required(*ACCOUNT_ADMIN_ROLES)
def reactivate(user_id: int):
    user = _user_or_404(user_id)
    ButtonForm().validate_button()
    try:
        accounts.reactivate(user, current_user)
    except AccountError as error:
        db.session.rollback()
        return _refusal(error)
    flash(_("%(name)s's account is active again: they can sign in.", name=user.name), "success")
    return redirect(url_for("admin_accounts.show", user_id=user.id), 303)


@bp.post("/<int:user_id>/invitation")
@roles_required(*ACCOUNT_ADMIN_ROLES)
def reinvite(user_id: int):
    user = _user_or_404(user_id)
    ButtonForm().validate_button()
    try:
        accounts.reinvite(user, current_user)
    except AccountError as error:
        db.session.rollback()
        return _refusal(error)
    flash(_("A new invitation link is on its way to %(email)s.", email=user.email), "success")
    return redirect(url_for("admin_accounts.show", user_id=user.id), 303)
