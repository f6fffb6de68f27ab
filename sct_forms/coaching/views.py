"""Equity coaching: a town asks for a coach, administrators assign one, the coach advises.

What may be done is the service's answer (``coaching.services``); the views parse the form,
call the service and put its refusals in words and HTTP statuses.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user

from sct_forms.access import municipality_or_404, roles_required, visible_or_404
from sct_forms.coaching import queries, services
from sct_forms.coaching.forms import (
    AssignCoachForm,
    AssignTownCoachForm,
    CoachCommentForm,
    CoachRequestForm,
)
from sct_forms.coaching.messages import coaching_message
from sct_forms.coaching.presenters import coach_notes
from sct_forms.cycles import current_cycle
from sct_forms.domain.coaching import (
    AVAILABILITY_MAX_LENGTH,
    MEETINGS,
    TOPICS_MAX_LENGTH,
    RequestStatus,
)
from sct_forms.domain.roles import ALL_ROLES, Role
from sct_forms.errors import render_error
from sct_forms.extensions import db
from sct_forms.forms import ButtonForm
from sct_forms.i18n import gettext as _
from sct_forms.models import CoachAssignment, CoachRequest, Municipality, Toolkit
from sct_forms.templating import render
from sct_forms.toolkits.services import definition_for
from sct_forms.towns.queries import tiers_for

bp = Blueprint("coaching", __name__, url_prefix="/coaching")


def meeting_labels() -> dict[str, str]:
    labels = {
        "phone": _("By phone"),
        "video": _("By video call"),
        "in_person": _("In person"),
    }
    return {meeting: labels[meeting] for meeting in MEETINGS}


def status_labels() -> dict[str, str]:
    return {
        RequestStatus.OPEN: _("Waiting for a coach"),
        RequestStatus.ASSIGNED: _("Coach assigned"),
        RequestStatus.WITHDRAWN: _("Withdrawn by the town"),
    }


def _refusal(error: services.CoachingError):
    """403 and 409 as error pages; 422 refusals are shown on the form by the caller."""
    if error.status == 403:
        abort(403)
    return render_error(error.status, coaching_message(error.code, error.params))


# --- the coach's towns ------------------------------------------------------------------------


@bp.get("/towns")
@roles_required(Role.COACH)
def my_towns():
    cycle = current_cycle(date.today())
    towns = [
        (
            town,
            tiers_for(town, cycle) if cycle else None,
            queries.toolkits_of_town(town, cycle.id) if cycle else [],
        )
        for town in queries.towns_of_coach(current_user)
    ]
    return render("coaching/my_towns.html", towns=towns, cycle=cycle)


# --- a town asks for a coach ------------------------------------------------------------------


@bp.get("/towns/<slug>/request")
@roles_required(*ALL_ROLES)
def town_request(slug: str):
    return _request_page(municipality_or_404(slug))


def _request_page(
    town: Municipality,
    form: CoachRequestForm | None = None,
    error: str | None = None,
    status: int = 200,
):
    return render(
        "coaching/request.html",
        town=town,
        form=form or CoachRequestForm(formdata=None),
        failed=form is not None,
        error=error,
        open_request=queries.open_request_of(town),
        past_requests=queries.requests_of_town(town),
        coaches=queries.coaches_of(town),
        may_request=services.may_request(current_user, town),
        meeting_labels=meeting_labels(),
        status_labels=status_labels(),
        topics_max=TOPICS_MAX_LENGTH,
        availability_max=AVAILABILITY_MAX_LENGTH,
    ), status


@bp.post("/towns/<slug>/request")
@roles_required(Role.STAFF)
def send_request(slug: str):
    town = municipality_or_404(slug)
    form = CoachRequestForm()
    if not form.validate():
        form.anchor()
        return _request_page(town, form, status=422)
    try:
        services.request_coach(
            town,
            current_user,
            topics=form.topics.data,
            meeting=form.meeting.data,
            availability=form.availability.data,
        )
    except services.CoachingError as error:
        if error.status == 403:
            abort(403)
        return _request_page(
            town, form, coaching_message(error.code, error.params), status=error.status
        )
    flash(_("Your request is sent. The program will assign a coach and email you."), "info")
    return redirect(url_for("coaching.town_request", slug=town.slug), 303)


@bp.post("/towns/<slug>/request/withdraw")
@roles_required(Role.STAFF)
def withdraw_request(slug: str):
    town = municipality_or_404(slug)
    ButtonForm().validate_button()
    try:
        services.withdraw_open_request(town, current_user)
    except services.CoachingError as error:
        return _refusal(error)
    flash(_("Your request for a coach is withdrawn."), "info")
    return redirect(url_for("coaching.town_request", slug=town.slug), 303)


# --- administrators assign coaches ------------------------------------------------------------


@bp.get("/requests")
@roles_required(Role.ADMIN)
def requests():
    return _requests_page()


def _requests_page(
    error: str | None = None,
    form: AssignCoachForm | None = None,
    failed_id: int | None = None,
    direct_form: AssignTownCoachForm | None = None,
    status: int = 200,
):
    return render(
        "coaching/requests.html",
        open_requests=queries.open_requests(),
        recent=queries.recent_closed_requests(),
        coaches=queries.active_coaches(),
        towns=queries.towns(),
        direct_form=direct_form,
        assignments=queries.assignments(),
        meeting_labels=meeting_labels(),
        status_labels=status_labels(),
        error=error,
        failed_form=form,
        failed_id=failed_id,
    ), status


@bp.post("/requests/<int:coach_request_id>/assign")
@roles_required(Role.ADMIN)
def assign(coach_request_id: int):
    request = db.session.get(CoachRequest, coach_request_id) or abort(404)
    form = AssignCoachForm()
    if not form.validate():
        form.anchor(request.id)
        return _requests_page(form=form, failed_id=request.id, status=422)
    try:
        services.assign_coach(request, form.coach_id.data, current_user)
    except services.CoachingError as error:
        if error.status == 422:
            form.coach_id.errors.append(coaching_message(error.code, error.params))
            form.anchor(request.id)
            return _requests_page(form=form, failed_id=request.id, status=422)
        return _refusal(error)
    coach = request.coach
    flash(
        _(
            "%(coach)s is now the equity coach of %(town)s. Both are told by email.",
            coach=coach.name,
            town=request.municipality.name,
        ),
        "info",
    )
    return redirect(url_for("coaching.requests"), 303)


@bp.post("/assignments")
@roles_required(Role.ADMIN)
def assign_to_town():
    form = AssignTownCoachForm()
    town = None
    if form.validate():
        town = db.session.get(Municipality, form.town_id.data)
        if town is None:
            form.town_id.errors.append(form.town_id.message)
    if town is None:
        form.anchor()
        return _requests_page(direct_form=form, status=422)
    try:
        assignment = services.assign_coach_to_town(town, form.coach_id.data, current_user)
    except services.CoachingError as error:
        if error.params.get("field") != "coach_id":
            return _refusal(error)
        # Not a coach, or already this town's coach: said beside the coach, choices kept.
        form.coach_id.errors.append(coaching_message(error.code, error.params))
        form.anchor()
        return _requests_page(direct_form=form, status=error.status)
    flash(
        _(
            "%(coach)s is now the equity coach of %(town)s. Both are told by email.",
            coach=assignment.coach.name,
            town=town.name,
        ),
        "info",
    )
    return redirect(url_for("coaching.requests"), 303)


@bp.post("/assignments/<int:assignment_id>/end")
@roles_required(Role.ADMIN)
def end_assignment(assignment_id: int):
    assignment = db.session.get(CoachAssignment, assignment_id) or abort(404)
    ButtonForm().validate_button()
    coach, town = assignment.coach.name, assignment.municipality.name
    try:
        services.end_assignment(assignment, current_user)
    except services.CoachingError as error:
        return _refusal(error)
    flash(_("%(coach)s no longer coaches %(town)s.", coach=coach, town=town), "info")
    return redirect(url_for("coaching.requests"), 303)


# --- a coach's advice on a record -------------------------------------------------------------


@bp.post("/toolkits/<int:toolkit_id>/comments")
@roles_required(Role.COACH)
def comment(toolkit_id: int):
    toolkit = visible_or_404(Toolkit, toolkit_id)
    form = CoachCommentForm()
    step_key = form.step_key.data or None
    step = None
    if step_key:
        try:
            step = definition_for(toolkit).step(step_key)
        except KeyError:
            abort(404)
    error = None
    if form.validate():
        try:
            services.add_comment(toolkit, step_key, form.body.data, current_user)
        except services.CoachingError as refused:
            if refused.status != 422:
                return _refusal(refused)
            error = coaching_message(refused.code, refused.params)
        else:
            flash(_("Your advice is saved. The town's staff are told by email."), "info")
            if step is not None:
                target = url_for("toolkits.step", toolkit_id=toolkit.id, step_key=step.key)
            else:
                target = url_for("toolkits.review", toolkit_id=toolkit.id)
            return redirect(target + "#coach-comments", 303)
    form.anchor()
    return render(
        "coaching/comment.html",
        toolkit=toolkit,
        step=step,
        form=form,
        coach_form=form,
        coach_notes=coach_notes(toolkit, current_user, step_key),
        error=error,
    ), 422
