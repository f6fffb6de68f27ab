"""Answers to change requests are part of the step: its buttons and autosave save them."""

from __future__ import annotations

import pytest

from sct_forms.extensions import db
from sct_forms.models import AuditEvent, ChangeRequest, Toolkit
from tests.toolkit_helpers import fill_completely, form_fields, make_toolkit, step_version

HX = {"HX-Request": "true"}


@pytest.fixture
def toolkit(staff_user, reviewer_user, cycle, catalog) -> Toolkit:
    """A toolkit whose changes were requested, with one open request on "context"."""
    toolkit = make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)
    fill_completely(toolkit, staff_user)
    toolkit.state, toolkit.revision_count = "changes_requested", 1
    db.session.add(
        ChangeRequest(
            toolkit_id=toolkit.id,
            revision_number=1,
            step_key="context",
            target="team",
            body="Name each team member's role.",
            created_by_id=reviewer_user.id,
        )
    )
    db.session.commit()
    return toolkit


def change_request() -> ChangeRequest:
    db.session.expire_all()
    return db.session.query(ChangeRequest).one()


def step_post(toolkit: Toolkit, **extra) -> dict:
    data = form_fields("context", toolkit.step_answers("context").data)
    data["base_version"] = step_version(toolkit, "context")
    data.update(extra)
    return data


def answer_fields(request_id: int, text: str, done: bool = True) -> dict:
    fields = {f"request-{request_id}-response": text}
    if done:
        fields[f"request-{request_id}-addressed"] = "y"
    return fields


def test_the_step_page_puts_request_answers_inside_the_step_form(as_user, staff_user, toolkit):
    html = as_user(staff_user).get(f"/toolkits/{toolkit.id}/steps/context").get_data(as_text=True)
    request_id = change_request().id
    assert f'name="request-{request_id}-response"' in html
    assert 'form="step-form"' in html
    assert f'id="respond-{request_id}"' not in html  # no separate form to forget to press


@pytest.mark.parametrize("intent", ["save", "continue"])
def test_save_draft_and_save_and_continue_keep_the_answer_to_a_request(
    as_user, staff_user, toolkit, intent
):
    request_id = change_request().id
    data = step_post(toolkit, intent=intent, **answer_fields(request_id, "Roles are listed now."))
    response = as_user(staff_user).post(f"/toolkits/{toolkit.id}/steps/context", data=data)
    assert response.status_code == 303
    saved = change_request()
    assert saved.town_response == "Roles are listed now."
    assert saved.status == "addressed" and saved.addressed_by_id == staff_user.id


def test_autosave_keeps_the_answer_to_a_request(as_user, staff_user, toolkit):
    request_id = change_request().id
    before = step_version(toolkit, "context")
    data = step_post(toolkit, **answer_fields(request_id, "Typed, not yet done.", done=False))
    response = as_user(staff_user).post(
        f"/toolkits/{toolkit.id}/steps/context/autosave", data=data, headers=HX
    )
    assert response.status_code == 200
    assert (
        f'name="base_version" value="{before + 1}" id="base-version" hx-swap-oob="true"'
        in response.get_data(as_text=True)
    )
    saved = change_request()
    assert (saved.town_response, saved.status) == ("Typed, not yet done.", "open")
    event = db.session.query(AuditEvent).filter_by(action="change_request.answered").one()
    assert event.details["request_id"] == request_id and event.details["addressed"] is False


def test_done_without_saying_what_changed_keeps_the_request_open_and_says_why(
    as_user, staff_user, toolkit
):
    request_id = change_request().id
    data = step_post(toolkit, intent="save", **answer_fields(request_id, "   "))
    response = as_user(staff_user).post(f"/toolkits/{toolkit.id}/steps/context", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Say what you changed, then check" in html
    assert f'href="#response-{request_id}"' in html
    assert f'id="addressed-{request_id}" name="request-{request_id}-addressed" value="y" ' in html
    assert change_request().status == "open"


def test_an_answer_over_the_limit_is_refused_whole_and_kept_in_the_page(
    as_user, staff_user, toolkit
):
    request_id = change_request().id
    long_answer = "x" * 5001
    answer = answer_fields(request_id, long_answer)
    data = step_post(toolkit, intent="save", goals="New goals", **answer)
    before = step_version(toolkit, "context")
    response = as_user(staff_user).post(f"/toolkits/{toolkit.id}/steps/context", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Not saved: some answers are too long" in html
    assert long_answer in html and "New goals" in html
    assert step_version(toolkit, "context") == before
    assert change_request().town_response == ""


def test_a_step_answer_over_its_limit_is_not_stored(as_user, staff_user, toolkit):
    client = as_user(staff_user)
    huge = "y" * 200_000
    before = step_version(toolkit, "context")
    data = step_post(toolkit, intent="save", goals=huge)
    page = client.post(f"/toolkits/{toolkit.id}/steps/context", data=data)
    assert page.status_code == 422
    assert "Use 5000 characters or fewer. You have 200000." in page.get_data(as_text=True)
    autosave = client.post(f"/toolkits/{toolkit.id}/steps/context/autosave", data=data, headers=HX)
    assert autosave.status_code == 422
    assert "an answer is too long" in autosave.get_data(as_text=True)
    assert step_version(toolkit, "context") == before
    db.session.expire_all()
    assert db.session.get(Toolkit, toolkit.id).step_answers("context").data["goals"] != huge


def test_the_audit_log_keeps_an_excerpt_of_each_change_not_a_copy(as_user, staff_user, toolkit):
    long_goals = "z" * 4900
    data = step_post(toolkit, intent="save", goals=long_goals)
    assert as_user(staff_user).post(f"/toolkits/{toolkit.id}/steps/context", data=data).status_code
    event = db.session.query(AuditEvent).filter_by(action="toolkit.step_saved").one()
    change = event.details["changes"]["goals"]
    assert change["to"]["length"] == 4900 and len(change["to"]["excerpt"]) <= 201
    assert len(str(event.details)) < 1000


def test_a_conflict_keeps_the_request_answer_and_keep_mine_saves_it(
    as_user, staff_user, toolkit
):
    request_id = change_request().id
    client = as_user(staff_user)
    stale = step_post(toolkit, intent="save", **answer_fields(request_id, "Mine, typed late."))
    # Someone else saves the step first.
    newer = step_post(toolkit, intent="save", goals="Their goals")
    assert client.post(f"/toolkits/{toolkit.id}/steps/context", data=newer).status_code == 303
    conflict = client.post(f"/toolkits/{toolkit.id}/steps/context", data=stale)
    html = conflict.get_data(as_text=True)
    assert conflict.status_code == 409
    assert f'name="request-{request_id}-response" value="Mine, typed late."' in html
    assert change_request().town_response == ""
    resolved = client.post(
        f"/toolkits/{toolkit.id}/steps/context/conflict",
        data={
            "choice": "keep_mine",
            "mine": "{}",
            "their_version": step_version(toolkit, "context"),
            **answer_fields(request_id, "Mine, typed late."),
        },
    )
    assert resolved.status_code in (303, 422)
    assert change_request().town_response == "Mine, typed late."


def test_answers_to_requests_of_other_steps_or_other_toolkits_are_ignored(
    as_user, staff_user, toolkit
):
    request_id = change_request().id
    data = form_fields("outreach", toolkit.step_answers("outreach").data)
    data.update(base_version=step_version(toolkit, "outreach"), intent="save")
    data.update(answer_fields(request_id, "Posted to the wrong step."))
    as_user(staff_user).post(f"/toolkits/{toolkit.id}/steps/outreach", data=data)
    assert change_request().town_response == ""


def test_staff_of_another_town_cannot_answer_through_a_step(
    as_user, other_staff_user, toolkit
):
    request_id = change_request().id
    data = step_post(toolkit, intent="save", **answer_fields(request_id, "Not our town."))
    response = as_user(other_staff_user).post(f"/toolkits/{toolkit.id}/steps/context", data=data)
    assert response.status_code == 404
    assert change_request().town_response == ""


@pytest.mark.parametrize("role_fixture", ["reviewer_user", "coach_user", "admin_user"])
def test_other_roles_cannot_save_a_step_or_answer_a_request(
    request, as_user, toolkit, role_fixture
):
    user = request.getfixturevalue(role_fixture)
    request_id = change_request().id
    data = step_post(toolkit, intent="save", **answer_fields(request_id, "Not the town."))
    response = as_user(user).post(f"/toolkits/{toolkit.id}/steps/context", data=data)
    assert response.status_code == 403
    assert change_request().town_response == ""
