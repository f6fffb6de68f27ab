"""The toolkit pages that more than one view shows: a step page and the toolkit's own page.

Built here, below the views, so the step views, the evidence upload and the town's side of the
workflow (``toolkits.submission``) render the same pages without importing each other.
"""

from __future__ import annotations

from flask_login import current_user
from flask_wtf import FlaskForm

from sct_forms.coaching.presenters import coach_notes
from sct_forms.domain import workflow
from sct_forms.domain.roles import REVIEWING_ROLES, is_town_staff
from sct_forms.domain.workflow import State
from sct_forms.i18n import get_locale_language
from sct_forms.models import Toolkit
from sct_forms.review.queries import comments_of, requests_of, timeline
from sct_forms.templating import render
from sct_forms.toolkits import labels, services
from sct_forms.toolkits.presenters import StepView


def step_view(toolkit, definition, step, answers=None, *, problems=None, version=None, **extra):
    """A step's page model: its answers (stored unless given), open requests and problems."""
    row = toolkit.step_answers(step.key)
    editable = services.may_edit(current_user, toolkit)
    if "requests" not in extra:
        # Only when the caller did not pass them: the toolkit page passes each step's requests
        # from one query instead of one query per step.
        extra["requests"] = [
            r for r in requests_of(toolkit) if r.step_key == step.key and r.status != "closed"
        ]
    return StepView.build(
        toolkit=toolkit,
        definition=definition,
        step=step,
        answers=row.data if answers is None else answers,
        version=row.version if version is None else version,
        problems=problems or [],
        language=get_locale_language(),
        editable=editable,
        lock_reason=None
        if editable
        else labels.lock_reason(
            toolkit.state,
            toolkit.municipality.name,
            is_own_staff=is_town_staff(current_user, toolkit.municipality_id),
        ),
        **extra,
    )


def step_page(view: StepView, status: int = 200, **context) -> tuple[str, int]:  # noqa: ANN003
    """The step page of ``view``, with the coach's comments on the step.

    Every path that shows a step page (a load, a refused save or upload, an expired token, a
    merge) renders it here, so none of them shows the page without the coach's advice.
    """
    notes = coach_notes(view.toolkit, current_user, view.step.key)
    return render("toolkits/step.html", view=view, coach_notes=notes, **context), status


def step_page_with_upload_form(toolkit, definition, step_def, form: FlaskForm):
    """The step page again, with the upload's problem next to its field and the text kept."""
    return step_page(step_view(toolkit, definition, step_def), 422, upload_form=form)


def review_page(
    toolkit: Toolkit,
    error: str | None = None,
    status: int = 200,
    *,
    form: FlaskForm | None = None,
    request_id: int | None = None,
):
    """The toolkit's own page: every step's answers, evidence and what is still missing.

    ``form`` is a refused answer to the change request ``request_id``, shown as it was typed.
    """
    definition = services.definition_for(toolkit)
    language = get_locale_language()
    reviewer_side = current_user.role in REVIEWING_ROLES
    requests = requests_of(toolkit)
    overall = services.toolkit_completeness(toolkit)
    is_own_staff = is_town_staff(current_user, toolkit.municipality_id)
    # The town's own moves from here (submit, withdraw, reopen...), as the workflow allows them.
    town_transitions = (
        [t.name for t in workflow.allowed_transitions(toolkit.state, current_user.role)]
        if is_own_staff
        else []
    )
    return render(
        "toolkits/review.html",
        toolkit=toolkit,
        steps=[
            step_view(
                toolkit,
                definition,
                step_def,
                overall=overall,
                requests=[
                    r for r in requests if r.step_key == step_def.key and r.status != "closed"
                ],
            )
            for step_def in definition.steps
        ],
        language=language,
        completeness=overall,
        editable=services.may_edit(current_user, toolkit),
        may_submit=is_own_staff and workflow.submission(toolkit.state) is not None,
        town_transitions=town_transitions,
        # The town is shown the reason a reviewer must give for not approving.
        decision_reason=toolkit.decision_reason if toolkit.state == State.NOT_APPROVED else None,
        open_requests=[r for r in requests if r.status != "closed"],
        requests=requests,
        comments=comments_of(toolkit, include_internal=reviewer_side),
        timeline=timeline(toolkit, for_town=not reviewer_side),
        coach_notes=coach_notes(toolkit, current_user),
        error=error,
        failed_form=form,
        failed_request_id=request_id,
    ), status
