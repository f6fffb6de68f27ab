"""The program console's cycles: the list, a new cycle (blank or copied), a cycle's page.

Administrators only; the service (admin.cycles) refuses everyone else too. A future cycle's
page is its form; a running cycle's form asks for the cycle's name before a change is saved;
a past cycle's page shows its settings without a form.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user

from sct_forms.access import roles_required
from sct_forms.admin.cycle_forms import TRAINING_ROLES, CycleForm, show_problems
from sct_forms.admin.cycles import (
    ConfirmationNeededError,
    CycleInvalidError,
    CycleRefusedError,
    CycleSettings,
    all_cycles,
    catalog_years,
    check_settings,
    copy_of_latest,
    create_cycle,
    may_manage_cycles,
    settings_of,
    update_cycle,
)
from sct_forms.cycles import phase_of
from sct_forms.domain.action_rules import DEFAULT_TRAINING_RULE
from sct_forms.domain.cycle_phases import Phase
from sct_forms.domain.roles import Role
from sct_forms.domain.tiers import DEFAULT_TIER_RULES, TIER_ORDER
from sct_forms.extensions import db
from sct_forms.i18n import gettext as _
from sct_forms.models import Cycle
from sct_forms.templating import render

bp = Blueprint("admin_cycles", __name__, url_prefix="/admin/cycles")


def _today() -> date:
    return date.today()


def _allowed() -> None:
    if not may_manage_cycles(current_user):
        abort(403)


def _cycle_or_404(cycle_id: int) -> Cycle:
    return db.session.get(Cycle, cycle_id) or abort(404)


def _form() -> CycleForm:
    return CycleForm(catalog_years())


def _blank() -> CycleSettings:
    years = catalog_years()
    return CycleSettings(
        name="",
        opens_on=None,
        submission_deadline=None,
        lookback_start=None,
        catalog_year=years[0] if years else None,
        tier_rules_data=DEFAULT_TIER_RULES,
    )


def _page(template: str, form: CycleForm, status: int = 200, **context):  # noqa: ANN003
    return render(
        template,
        form=form,
        tiers=TIER_ORDER,
        training_roles=TRAINING_ROLES,
        default_training=DEFAULT_TRAINING_RULE,
        today=_today(),
        **context,
    ), status


@bp.get("")
@roles_required(Role.ADMIN)
def index():
    try:
        cycles = all_cycles(current_user)
    except CycleRefusedError:
        abort(403)
    today = _today()
    return render(
        "admin/cycles/index.html",
        cycles=[(cycle, phase_of(cycle, today)) for cycle in cycles],
        today=today,
    )


@bp.get("/new")
@roles_required(Role.ADMIN)
def new():
    _allowed()
    form = _form()
    form.fill(_blank())
    return _page("admin/cycles/new.html", form, copied_from=None)


@bp.get("/copy-last")
@roles_required(Role.ADMIN)
def copy_last():
    try:
        copied = copy_of_latest(current_user)
    except CycleRefusedError:
        abort(403)
    if copied is None:
        return redirect(url_for("admin_cycles.new"), 303)
    latest, settings = copied
    form = _form()
    form.fill(settings)
    return _page("admin/cycles/new.html", form, copied_from=latest)


def _token_error(form: CycleForm) -> str | None:
    """The form's token problem (a page left open too long), if any: nothing else is read."""
    token = getattr(form, "csrf_token", None)
    return str(token.errors[0]) if token is not None and token.errors else None


def _checked(form: CycleForm, cycle: Cycle | None) -> bool:
    """Whether the validated form may be saved: what was typed, then the service's rules,
    every problem beside its field (a refused form shows them all at once)."""
    form.missing_counts()
    show_problems(form, check_settings(current_user, form.settings(), cycle, _today()))
    return not any(f.errors for f in form)


@bp.post("/new")
@roles_required(Role.ADMIN)
def create():
    form = _form()
    form.validate()
    try:
        if _token_error(form) or not _checked(form, None):
            return _page("admin/cycles/new.html", form, 422, copied_from=None, failed=True)
        cycle = create_cycle(current_user, form.settings(), _today())
    except CycleRefusedError:
        abort(403)
    except CycleInvalidError as invalid:  # a name taken by a cycle created meanwhile
        db.session.rollback()
        show_problems(form, invalid.problems)
        return _page("admin/cycles/new.html", form, 422, copied_from=None, failed=True)
    flash(_("The cycle %(name)s is created.", name=cycle.name), "info")
    return redirect(url_for("admin_cycles.show", cycle_id=cycle.id), 303)


def _cycle_page(cycle: Cycle, form: CycleForm | None = None, status: int = 200, **context):  # noqa: ANN003
    phase = phase_of(cycle, _today())
    if phase is Phase.PAST:
        return render(
            "admin/cycles/past.html",
            cycle=cycle,
            default_training=DEFAULT_TRAINING_RULE,
            **context,
        ), status
    if form is None:
        form = _form()
        form.fill(settings_of(cycle))
    return _page("admin/cycles/edit.html", form, status, cycle=cycle, phase=phase, **context)


@bp.get("/<int:cycle_id>")
@roles_required(Role.ADMIN)
def show(cycle_id: int):
    _allowed()
    return _cycle_page(_cycle_or_404(cycle_id))


@bp.post("/<int:cycle_id>")
@roles_required(Role.ADMIN)
def update(cycle_id: int):
    cycle = _cycle_or_404(cycle_id)
    form = _form()
    form.validate()
    past = phase_of(cycle, _today()) is Phase.PAST
    if token := _token_error(form):
        return _cycle_page(cycle, form, 422, failed=True, error=None if not past else token)
    try:
        if not past and not _checked(form, cycle):
            return _cycle_page(cycle, form, 422, failed=True)
        changes = update_cycle(
            current_user, cycle, form.settings(), _today(), confirmation=form.confirmation.data
        )
    except CycleRefusedError as refused:
        if refused.code == "past":
            return _refused_past(cycle)
        abort(403)
    except CycleInvalidError as invalid:
        db.session.rollback()
        show_problems(form, invalid.problems)
        return _cycle_page(cycle, form, 422, failed=True)
    except ConfirmationNeededError as needed:
        db.session.rollback()
        message = (
            _("The name you typed is not this cycle's name. Type %(name)s.", name=cycle.name)
            if needed.mistyped
            else _("Type the cycle's name, %(name)s, to confirm these changes.", name=cycle.name)
        )
        form.confirmation.errors = [message]
        return _cycle_page(cycle, form, 422, failed=True, changes=needed.changes)
    if changes:
        flash(_("The changes to %(name)s are saved.", name=cycle.name), "info")
    else:
        flash(_("Nothing was changed."), "info")
    return redirect(url_for("admin_cycles.show", cycle_id=cycle.id), 303)


def _refused_past(cycle: Cycle):
    error = _(
        "The deadline of %(name)s has passed: its settings can no longer change.", name=cycle.name
    )
    return _cycle_page(cycle, error=error, status=409)
