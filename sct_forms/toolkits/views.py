"""Starting an Equity Toolkit or the record of action 1.2 or 1.3, and filling in its steps
(htmx-enhanced, works without JS)."""

from __future__ import annotations

import json
from datetime import date

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import format_time
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from sct_forms.access import (
    municipality_or_404,
    roles_required,
    toolkit_and_step,
    visible_or_404,
)
from sct_forms.auth.resume import resumable
from sct_forms.cycles import current_cycle
from sct_forms.domain.answers import (
    clean_text,
    normalise_step_answers,
    validate_step_answers,
    validate_value,
)
from sct_forms.domain.forms import ACTION_FORMS
from sct_forms.domain.roles import ALL_ROLES, Role
from sct_forms.extensions import csrf
from sct_forms.forms import ButtonForm
from sct_forms.i18n import get_locale_language
from sct_forms.inputs import cleans_its_own_text
from sct_forms.models import Toolkit
from sct_forms.templating import render
from sct_forms.toolkits import services
from sct_forms.toolkits.forms import ConflictForm, FieldCheckForm, StartToolkitForm, StepForm
from sct_forms.toolkits.messages import start_refused_message
from sct_forms.toolkits.pages import review_page, step_page, step_view
from sct_forms.toolkits.presenters import field_view

bp = Blueprint("toolkits", __name__)


# --- starting -------------------------------------------------------------------------------


@bp.route("/towns/<slug>/toolkits/new", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def start(slug: str):
    town = municipality_or_404(slug)
    cycle = current_cycle(date.today())
    if cycle is None:
        abort(404)
    form = StartToolkitForm()
    query = (request.values.get("q") or "").strip()
    error = None
    if form.validate_on_submit():
        try:
            toolkit = services.start_toolkit(
                town, cycle, form.action_id.data, form.confirmed.data, current_user
            )
        except services.StartRefusedError as refused:
            error = start_refused_message(refused.code, refused.params)
        else:
            first = services.definition_for(toolkit).steps[0]
            return redirect(
                url_for("toolkits.step", toolkit_id=toolkit.id, step_key=first.key), 303
            )
    groups = services.pairable_actions(town, cycle)
    paired = {t.paired_action_id: t for t in services.toolkits_of(town, cycle)}
    if query:
        needle = query.lower()
        groups = [
            (category, [a for a in actions if needle in a.label.lower()])
            for category, actions in groups
        ]
        groups = [(category, actions) for category, actions in groups if actions]
    status = 422 if error or form.errors else 200
    return render(
        "toolkits/start.html",
        block="action_list",
        town=town,
        cycle=cycle,
        form=form,
        groups=groups,
        paired=paired,
        query=query,
        error=error,
    ), status


@bp.post("/towns/<slug>/actions/<form>/start")
@roles_required(Role.STAFF)
def start_action(slug: str, form: str):
    """Start (or open, if it exists) the town's record of action 1.2 or 1.3 in this cycle."""
    town = municipality_or_404(slug)
    cycle = current_cycle(date.today())
    if cycle is None or form not in ACTION_FORMS:
        abort(404)
    ButtonForm().validate_button()
    try:
        record = services.start_action_record(town, cycle, form, current_user)
    except PermissionError:
        abort(403)
    except services.StartRefusedError:
        abort(404)
    first = services.definition_for(record).steps[0]
    return redirect(url_for("toolkits.step", toolkit_id=record.id, step_key=first.key), 303)


# --- step pages -----------------------------------------------------------------------------


@bp.get("/toolkits/<int:toolkit_id>/steps/<step_key>")
@roles_required(*ALL_ROLES)
def step(toolkit_id: int, step_key: str):
    toolkit, definition, step_def = toolkit_and_step(toolkit_id, step_key)
    return step_page(step_view(toolkit, definition, step_def))


@bp.post("/toolkits/<int:toolkit_id>/steps/<step_key>")
@cleans_its_own_text
@roles_required(Role.STAFF)
@csrf.exempt  # checked below, so an expired token keeps what was typed instead of losing it
def save_step(toolkit_id: int, step_key: str):
    toolkit, definition, step_def = toolkit_and_step(toolkit_id, step_key)
    return save_posted_step(toolkit, definition, step_def, request.form)


@resumable("toolkits.save_step")
def resume_save_step(posted: MultiDict, toolkit_id: int, step_key: str) -> Response:
    """Finish a step save that was posted when the session had ended."""
    if current_user.role != Role.STAFF:
        abort(403)
    toolkit, definition, step_def = toolkit_and_step(toolkit_id, step_key)
    return save_posted_step(toolkit, definition, step_def, posted)


@bp.post("/toolkits/<int:toolkit_id>/steps/<step_key>/autosave")
@cleans_its_own_text
@roles_required(Role.STAFF)
@csrf.exempt  # checked below, so an expired token gets a new one and the text is saved
def autosave_step(toolkit_id: int, step_key: str):
    """Save a step while it is typed in (htmx): the save status for the status line."""
    toolkit, _definition, step_def = toolkit_and_step(toolkit_id, step_key, *services.SAVE_LOADS)
    return autosave_posted_step(toolkit, step_def, request.form)


@resumable("toolkits.autosave_step")
def resume_autosave_step(posted: MultiDict, toolkit_id: int, step_key: str) -> Response:
    """Finish an autosave after signing in again in the step page's dialog."""
    if current_user.role != Role.STAFF:
        abort(403)
    toolkit, _definition, step_def = toolkit_and_step(toolkit_id, step_key, *services.SAVE_LOADS)
    return autosave_posted_step(toolkit, step_def, posted)


def autosave_posted_step(toolkit, step_def, posted: MultiDict):  # noqa: ANN201
    """Save the posted step and say how it went.

    The status line gets the answer; the form's version, the step's meter and its place in the
    step list follow out of band, so the next save and "Save and continue" build on this one.
    Only this step's completeness is worked out: the other steps are not changed by the save.
    """
    form = StepForm(formdata=posted)
    if not form.token_valid():
        return _save_status("token_expired", 400)
    if not services.may_edit(current_user, toolkit):
        return _save_status("locked", 409)
    # The step's files (for its meter) are read in the save's transaction, before its commit:
    # read after it, they would open a second transaction (two more round trips on PostgreSQL).
    # A save does not change them.
    evidence_kinds = services.step_evidence_kinds(toolkit, step_def.key)
    result = services.save_step(
        toolkit,
        step_def.key,
        normalise_step_answers(step_def, posted),
        form.base_version.data,
        current_user,
        resolution=form.resolution_choice(),
        request_answers=posted_request_answers(toolkit, step_def, posted),
        autosave=True,
    )
    if result.refused:
        return _save_status("too_long", 422)
    if result.conflicted:
        return _save_status("conflict", 409)
    return render(
        "toolkits/_autosaved.html",
        toolkit=toolkit,
        step=step_def,
        version=result.version,
        progress=services.step_progress(toolkit, step_def.key, evidence_kinds=evidence_kinds),
        language=get_locale_language(),
        saved_at=format_time(toolkit.updated_at, "short"),
    )


def _save_status(state: str, status: int):  # noqa: ANN202
    return render("toolkits/_save_status.html", state=state), status


def save_posted_step(toolkit, definition, step_def, posted: MultiDict) -> Response:
    """Save what a step form posted and answer with the next page, or this one again."""
    form = StepForm(formdata=posted)
    intent = form.intent.data
    if intent.startswith("remove:"):
        posted = _without_row(posted, intent)
    answers = normalise_step_answers(step_def, posted)
    request_answers = posted_request_answers(toolkit, step_def, posted)
    if not form.token_valid():
        view = step_view(
            toolkit,
            definition,
            step_def,
            answers,
            token_expired=True,
            version=form.base_version.data,
            request_answers=request_answers,
        )
        return step_page(view, 400)
    if not services.may_edit(current_user, toolkit):
        abort(409)
    base_version = form.base_version.data
    result = services.save_step(
        toolkit,
        step_def.key,
        answers,
        base_version,
        current_user,
        resolution=form.resolution_choice(),
        request_answers=request_answers,
    )
    if result.refused:
        view = step_view(
            toolkit,
            definition,
            step_def,
            answers,
            version=base_version,
            problems=[p for p in result.refused if not p.path.startswith("request-")],
            request_answers=request_answers,
            request_problems=[p for p in result.refused if p.path.startswith("request-")],
            not_saved=True,
        )
        return step_page(view, 422)
    if result.conflicted:
        view = step_view(
            toolkit, definition, step_def, answers, conflict=result, request_answers=request_answers
        )
        return render("toolkits/conflict.html", view=view, mine_json=json.dumps(answers)), 409
    ctx = services.validation_context(toolkit)
    problems = validate_step_answers(step_def, answers, ctx, check_required=False)
    request_problems = [
        problem
        for answer in request_answers
        if (problem := services.request_answer_problem(answer)) is not None
    ]

    def saved_page_again(status: int = 200, **extra):  # noqa: ANN003, ANN202
        """The step page with what was just saved, its problems and any extra view options."""
        view = step_view(
            toolkit,
            definition,
            step_def,
            answers,
            version=result.version,
            problems=problems,
            request_answers=request_answers,
            request_problems=request_problems,
            **extra,
        )
        return step_page(view, status)

    if intent.startswith("add:"):
        return saved_page_again(extra_rows={intent[4:]: 1}, focus_new_row=intent[4:])
    if intent.startswith("remove:"):
        return redirect(url_for("toolkits.step", toolkit_id=toolkit.id, step_key=step_def.key), 303)
    if problems or request_problems:
        return saved_page_again(422)
    if intent == "continue":
        following = definition.step_after(step_def.key)
        target = (
            url_for("toolkits.step", toolkit_id=toolkit.id, step_key=following.key)
            if following
            else url_for("toolkits.review", toolkit_id=toolkit.id)
        )
        return redirect(target, 303)
    return redirect(
        url_for("toolkits.step", toolkit_id=toolkit.id, step_key=step_def.key, saved=1), 303
    )


def posted_request_answers(toolkit, step_def, posted: MultiDict) -> list[services.RequestAnswer]:
    """The answers to the step's change requests that the form posted (fields present only)."""
    found = []
    for change in services.answerable_requests(toolkit, step_def.key, current_user):
        name = f"request-{change.id}"
        if f"{name}-response" not in posted:
            continue
        found.append(
            services.RequestAnswer(
                request_id=change.id,
                response=clean_text(posted.get(f"{name}-response")),
                addressed=posted.get(f"{name}-addressed") == "y",
            )
        )
    return found


def _without_row(posted: MultiDict, intent: str) -> MultiDict:
    """The posted fields less the row a "remove:<group>:<index>" button names (no-JS path)."""
    _, group, index = (intent.split(":") + ["", ""])[:3]
    prefix = f"{group}-{index}-"
    return MultiDict([(k, v) for k, v in posted.items(multi=True) if not k.startswith(prefix)])


@bp.post("/toolkits/<int:toolkit_id>/steps/<step_key>/check")
@cleans_its_own_text
@roles_required(Role.STAFF)
def check_field(toolkit_id: int, step_key: str):
    """Blur validation of one field: its error slot, 422 when there is a problem."""
    form = FieldCheckForm()
    form.check_token()
    toolkit, definition, step_def = toolkit_and_step(toolkit_id, step_key)
    path = form.field.data
    language = get_locale_language()
    blank = field_view(step_def, path, [], language)
    if blank is None:
        abort(404)
    # The field's value is an answer: the step definition decides its name and type.
    question = blank.question
    if question.type == "multi_choice":
        raw = request.form.getlist(blank.name)
    else:
        raw = (request.form.get(blank.name) or "").strip()
    ctx = services.validation_context(toolkit)
    problems = validate_value(question, raw, ctx, path=path, check_required=True)
    view = field_view(step_def, path, problems, language)
    return render("toolkits/_field_error.html", field=view), 422 if problems else 200


@bp.get("/toolkits/<int:toolkit_id>/steps/<step_key>/rows/<group_key>")
@roles_required(Role.STAFF)
def new_row(toolkit_id: int, step_key: str, group_key: str):
    """A blank row of a repeatable group, for htmx to add in place."""
    toolkit, definition, step_def = toolkit_and_step(toolkit_id, step_key)
    if not services.may_edit(current_user, toolkit):
        abort(409)
    index = request.args.get("index", type=int)
    view = step_view(toolkit, definition, step_def)
    group = view.group(group_key)
    if group is None or index is None or index < 0 or index > 500:
        abort(404)
    return render(
        "toolkits/_group_row.html", view=view, group=group, row=group.blank_row(index), new=True
    )


@bp.post("/toolkits/<int:toolkit_id>/steps/<step_key>/conflict")
@cleans_its_own_text
@roles_required(Role.STAFF)
def resolve_conflict(toolkit_id: int, step_key: str):
    """The user's choice after a conflict: keep theirs, keep mine, or merge by hand."""
    form = ConflictForm()
    form.validate_button()
    toolkit, definition, step_def = toolkit_and_step(toolkit_id, step_key)
    if not services.may_edit(current_user, toolkit):
        abort(409)
    mine = _posted_answers(form.mine.data)
    if mine is None:
        return _unreadable_answers(toolkit, step_def, form.mine.data)
    mine_form = _answers_to_form(step_def, mine)
    mine = normalise_step_answers(step_def, mine_form)
    # Answers to change requests travel beside the answers, as the step form posted them.
    for name, value in request.form.items(multi=True):
        if name.startswith("request-"):
            mine_form.add(name, value)
    request_answers = posted_request_answers(toolkit, step_def, mine_form)
    choice = form.choice.data
    row = toolkit.step_answers(step_def.key)
    if choice == "keep_theirs":
        services.record_conflict_kept_theirs(
            toolkit, step_def.key, mine, current_user, request_answers
        )
        return redirect(url_for("toolkits.step", toolkit_id=toolkit.id, step_key=step_def.key), 303)
    if choice == "keep_mine":
        mine_form.setlist("base_version", [str(form.their_version.data)])
        mine_form.setlist("resolution", ["keep_mine"])
        mine_form.setlist("intent", ["save"])
        return save_posted_step(toolkit, definition, step_def, mine_form)
    if choice == "merge":
        theirs = row.data or {}
        view = step_view(
            toolkit,
            definition,
            step_def,
            mine,
            version=row.version,
            merging_with=theirs,
            request_answers=request_answers,
        )
        return step_page(view)
    abort(400)


def _posted_answers(text: str) -> dict | None:
    """The answers a conflict page posted back as JSON; None unless they are a JSON object."""
    try:
        answers = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return answers if isinstance(answers, dict) else None


def _unreadable_answers(toolkit: Toolkit, step_def, raw: str):  # noqa: ANN001, ANN202
    """A 422 page when the posted answers are not readable, showing any text that was sent."""
    try:
        decoded = json.loads(raw)
    except (ValueError, RecursionError):
        decoded = raw
    texts = [decoded] if isinstance(decoded, str) and decoded.strip() else []
    texts += [
        value
        for name, value in request.form.items(multi=True)
        if name.startswith("request-") and name.endswith("-response") and value.strip()
    ]
    return render(
        "toolkits/conflict_unreadable.html",
        toolkit=toolkit,
        step=step_def,
        step_title=step_def.title.get(get_locale_language()),
        texts=texts,
    ), 422


def _answers_to_form(step_def, answers: dict) -> MultiDict:
    """Stored answers back into the shape a step form posts (rows of the wrong shape dropped)."""
    form = MultiDict()
    for question in step_def.questions:
        value = answers.get(question.key)
        if question.type == "group":
            rows = value if isinstance(value, list) else []
            for index, row in enumerate(rows):
                if not isinstance(row, dict):
                    continue
                for sub in question.fields:
                    sub_value = row.get(sub.key, "")
                    name = f"{question.key}-{index}-{sub.key}"
                    for item in sub_value if isinstance(sub_value, list) else [sub_value]:
                        form.add(name, item)
        elif isinstance(value, list):
            for item in value:
                form.add(question.key, item)
        elif value is not None:
            form.add(question.key, value)
    return form


@bp.get("/toolkits/<int:toolkit_id>")
@roles_required(*ALL_ROLES)
def review(toolkit_id: int):
    """Review and submit: every step's answers, evidence and what is still missing."""
    return review_page(visible_or_404(Toolkit, toolkit_id))
