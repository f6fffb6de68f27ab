"""The action catalog pages of the program console: list, check and import a CSV, edit, retire.

Administrators only (the services in admin.catalog refuse everyone else too). Importing is a
check (POST /check: every row checked, the changes previewed, nothing written) and a
confirmation (POST /import: the changes written in one transaction); see admin.catalog for how
the checked file is kept between the two.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from sct_forms.access import roles_required
from sct_forms.admin import catalog
from sct_forms.admin.catalog_forms import (
    ActionTitlesForm,
    CatalogUploadForm,
    ConfirmImportForm,
    RetireForm,
)
from sct_forms.domain.roles import Role
from sct_forms.extensions import db
from sct_forms.forms import OUT_OF_DATE
from sct_forms.i18n import gettext as _
from sct_forms.i18n import ngettext
from sct_forms.inputs import bounded_int
from sct_forms.models import Action
from sct_forms.reference_data import CatalogImportError
from sct_forms.templating import render

bp = Blueprint("admin_catalog", __name__, url_prefix="/admin/catalog")

# A page lists this many problems of a refused file, then says how many more there are.
PROBLEMS_SHOWN = 100


def _catalog_page(
    *,
    year: int | None = None,
    upload_form: CatalogUploadForm | None = None,
    problems: list[str] | None = None,
    error: str | None = None,
    status: int = 200,
):
    years = catalog.catalog_years()
    if year is None or (year not in years and upload_form is None):
        year = years[0] if years else None
    if upload_form is None:
        upload_form = CatalogUploadForm(formdata=None, catalog_year=year)
    return render(
        "admin/catalog/index.html",
        years=years,
        year=year,
        groups=catalog.catalog_of(year) if year is not None else [],
        upload_form=upload_form,
        problems=(problems or [])[:PROBLEMS_SHOWN],
        more_problems=max(0, len(problems or []) - PROBLEMS_SHOWN),
        error=error,
        retire_form=RetireForm(formdata=None),
        equity_numbers=catalog.EQUITY_NUMBERS,
        upload_kb=catalog.UPLOAD_LIMIT // 1024,
    ), status


def _action_or_404(action_id: int) -> Action:
    return db.session.get(Action, action_id) or abort(404)


@bp.get("")
@roles_required(Role.ADMIN)
def index():
    return _catalog_page(year=request.args.get("year", type=bounded_int))


@bp.post("/check")
@roles_required(Role.ADMIN)
def check():
    form = CatalogUploadForm()
    if not form.validate():
        return _catalog_page(year=form.catalog_year.data, upload_form=form, status=422)
    year = form.catalog_year.data
    data = form.file.data.stream.read(catalog.UPLOAD_LIMIT + 1)
    try:
        checked = catalog.check_upload(current_user, year, data)
    except PermissionError:
        abort(403)
    except CatalogImportError as refused:
        return _catalog_page(year=year, upload_form=form, problems=refused.problems, status=422)
    except catalog.CatalogRefusedError as refused:
        return _catalog_page(year=year, upload_form=form, error=str(refused), status=422)
    return render(
        "admin/catalog/preview.html",
        checked=checked,
        plan=checked.plan,
        filename=form.file.data.filename,
        form=ConfirmImportForm(
            formdata=None, token=checked.token, sha256=checked.sha256, plan=checked.plan_sha256
        ),
    )


@bp.post("/import")
@roles_required(Role.ADMIN)
def confirm():
    form = ConfirmImportForm()
    if not form.validate():
        if "csrf_token" in form.errors:
            form.validate_button()  # refused (400, audited) like any request without its token
        return _catalog_page(error=str(OUT_OF_DATE), status=422)
    try:
        plan = catalog.confirm_import(
            current_user, form.token.data or "", form.sha256.data or "", form.plan.data or ""
        )
    except PermissionError:
        abort(403)
    except catalog.CatalogRefusedError as refused:
        return _catalog_page(error=str(refused), status=409)
    flash(
        ngettext(
            "The %(year)s catalog is updated: %(num)s change imported.",
            "The %(year)s catalog is updated: %(num)s changes imported.",
            plan.change_count,
            year=plan.catalog_year,
        ),
        "info",
    )
    return redirect(url_for("admin_catalog.index", year=plan.catalog_year), 303)


@bp.route("/actions/<int:action_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit(action_id: int):
    action = _action_or_404(action_id)
    form = ActionTitlesForm(obj=action)
    error = None
    if form.validate_on_submit():
        try:
            changed = catalog.edit_titles(current_user, action, form.title.data, form.title_es.data)
        except PermissionError:
            abort(403)
        except catalog.CatalogRefusedError as refused:
            error = str(refused)
        else:
            message = (
                _("The titles of action %(number)s are saved.", number=action.number)
                if changed
                else _("Nothing changed.")
            )
            flash(message, "info")
            return redirect(url_for("admin_catalog.index", year=action.catalog_year), 303)
    status = 422 if error or form.errors else 200
    return render("admin/catalog/edit.html", action=action, form=form, error=error), status


def _retirement(action_id: int, change) -> object:  # noqa: ANN001
    action = _action_or_404(action_id)
    RetireForm().validate_button()
    try:
        change(current_user, action)
    except PermissionError:
        abort(403)
    except catalog.CatalogRefusedError as refused:
        return _catalog_page(year=action.catalog_year, error=str(refused), status=409)
    return None


@bp.post("/actions/<int:action_id>/retire")
@roles_required(Role.ADMIN)
def retire(action_id: int):
    refused = _retirement(action_id, catalog.retire)
    if refused is not None:
        return refused
    action = _action_or_404(action_id)
    flash(
        _(
            "%(action)s is retired: no longer offered for new toolkits. "
            "Toolkits that use it keep it.",
            action=action.label,
        ),
        "info",
    )
    return redirect(url_for("admin_catalog.index", year=action.catalog_year), 303)


@bp.post("/actions/<int:action_id>/unretire")
@roles_required(Role.ADMIN)
def unretire(action_id: int):
    refused = _retirement(action_id, catalog.unretire)
    if refused is not None:
        return refused
    action = _action_or_404(action_id)
    flash(_("%(action)s is offered again for new toolkits.", action=action.label), "info")
    return redirect(url_for("admin_catalog.index", year=action.catalog_year), 303)
