"""Filling in toolkit steps: saving, inline checks, rows, conflicts, expired sessions."""

from __future__ import annotations

import html as html_lib
import json
import re
from datetime import datetime

import pytest
from sqlalchemy import update

from sct_forms.domain.forms import Form
from sct_forms.extensions import db
from sct_forms.models import AuditEvent, StepAnswers, Toolkit, utcnow
from sct_forms.toolkits import services
from tests.conftest import PASSWORD, RequestIsolatedClient, make_user, sign_in
from tests.frozen_clock import FrozenClock
from tests.helpers import csrf_token_from
from tests.toolkit_helpers import (
    COMPLETE_ANSWERS,
    TRAINING_COMPLETE_ANSWERS,
    add_document,
    fill_completely,
    form_fields,
    make_record,
    make_toolkit,
)

HX = {"HX-Request": "true"}


@pytest.fixture
def toolkit(staff_user, cycle, catalog):
    return make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)


def step_url(toolkit, key="context"):
    return f"/toolkits/{toolkit.id}/steps/{key}"


def saved(toolkit, key):
    db.session.expire_all()
    return db.session.query(StepAnswers).filter_by(toolkit_id=toolkit.id, step_key=key).one()


def test_step_page_shows_the_questions_of_the_definition(as_user, staff_user, toolkit):
    html = as_user(staff_user).get(step_url(toolkit, "outreach")).get_data(as_text=True)
    assert "Step 3 of 6" in html
    assert 'name="activities-0-date"' in html and 'name="accommodations"' in html
    assert 'aria-current="step"' in html
    assert "Not started" in html
    assert 'name="base_version" value="0"' in html


def test_a_plain_save_stores_a_partial_draft_and_redirects(as_user, staff_user, toolkit):
    client = as_user(staff_user)
    response = client.post(
        step_url(toolkit), data={"goals": "Parks for all", "base_version": 0, "intent": "save"}
    )
    assert response.status_code == 303
    row = saved(toolkit, "context")
    assert row.data["goals"] == "Parks for all" and row.version == 1
    event = db.session.query(AuditEvent).filter_by(action="toolkit.step_saved").one()
    assert event.details["changes"]["goals"] == {"from": None, "to": "Parks for all"}


def test_save_and_continue_goes_to_the_next_step(as_user, staff_user, toolkit):
    data = form_fields("context", COMPLETE_ANSWERS["context"]) | {
        "base_version": 0,
        "intent": "continue",
    }
    response = as_user(staff_user).post(step_url(toolkit), data=data)
    assert response.headers["Location"] == step_url(toolkit, "affected_and_missing")


def test_invalid_answers_are_saved_and_shown_with_errors(as_user, staff_user, toolkit):
    response = as_user(staff_user).post(
        step_url(toolkit),
        data={"goals": "x", "start_date": "2019-05-01", "base_version": 0, "intent": "continue"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This date is before July 1, 2023" in html
    assert 'value="2019-05-01"' in html  # what was typed stays in the field
    assert saved(toolkit, "context").data["start_date"] == "2019-05-01"


def test_future_dates_get_a_clear_message(as_user, staff_user, toolkit):
    response = as_user(staff_user).post(
        step_url(toolkit), data={"start_date": "2999-01-01", "base_version": 0}
    )
    assert "This date is in the future" in response.get_data(as_text=True)


def test_blur_check_returns_a_422_fragment_with_the_error(as_user, staff_user, toolkit):
    response = as_user(staff_user).post(
        step_url(toolkit) + "/check",
        data={"field": "start_date", "start_date": "2019-01-01"},
        headers=HX,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This date is before" in html and "<html" not in html
    assert 'id="q-start_date-error"' in html


def test_blur_check_of_a_good_value_clears_the_error(as_user, staff_user, toolkit):
    response = as_user(staff_user).post(
        step_url(toolkit) + "/check",
        data={"field": "goals", "goals": "Parks"},
        headers=HX,
    )
    assert response.status_code == 200
    assert "hidden" in response.get_data(as_text=True)


def test_blur_check_of_a_group_field(as_user, staff_user, toolkit):
    response = as_user(staff_user).post(
        step_url(toolkit, "engagement") + "/check",
        data={"field": "events.3.participants", "events-3-participants": "many"},
        headers=HX,
    )
    assert response.status_code == 422
    assert "Enter a number, like 25." in response.get_data(as_text=True)
    assert 'id="q-events-3-participants-error"' in response.get_data(as_text=True)


def test_autosave_returns_the_saved_time_and_new_version(as_user, staff_user, toolkit):
    response = as_user(staff_user).post(
        step_url(toolkit) + "/autosave",
        data={"goals": "Draft text", "base_version": 0},
        headers=HX,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.match(r"Saved at \d{1,2}:\d{2}\s?[AP]M<", html)  # the status line, nothing around
    assert "<html" not in html
    # Out of band: the version the next save builds on, the step's meter and its state.
    assert 'name="base_version" value="1" id="base-version" hx-swap-oob="true"' in html
    progress = r'id="step-progress" hx-swap-oob="true">.*This step is 25% complete'
    assert re.search(progress, html, re.S)
    assert '<meter id="step-meter" min="0" max="100" value="25">' in html
    assert re.search(
        r'<li class="step-in_progress" id="current-step" hx-swap-oob="true">.*'
        r'aria-current="step".*id="current-step-state">In progress</span>',
        html,
        re.S,
    )
    assert saved(toolkit, "context").data["goals"] == "Draft text"


def test_autosave_ignores_which_button_was_last_pressed(as_user, staff_user, toolkit):
    """The step form's buttons (add a row, save and continue) are the form's, not autosave's."""
    response = as_user(staff_user).post(
        step_url(toolkit, "affected_and_missing") + "/autosave",
        data={"groups-0-name": "Renters", "intent": "remove:groups:0", "base_version": 0},
        headers=HX,
    )
    assert response.status_code == 200
    assert saved(toolkit, "affected_and_missing").data["groups"][0]["name"] == "Renters"


@pytest.mark.parametrize(
    ("posted", "status", "said"),
    [
        ({"goals": "x" * 5001}, 422, "Not saved: an answer is too long."),
        ({"goals": "x", "base_version": 7}, 409, "Not saved: someone else changed this step."),
    ],
)
def test_autosave_that_does_not_save_says_why_in_the_status_line(
    as_user, staff_user, toolkit, posted, status, said
):
    response = as_user(staff_user).post(
        step_url(toolkit) + "/autosave", data={"base_version": 0} | posted, headers=HX
    )
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert html.startswith(said) and "<" not in html and html == html.strip()
    assert saved(toolkit, "context").data == {}


def test_autosave_of_a_submitted_toolkit_says_it_is_locked(as_user, staff_user, toolkit):
    toolkit.state = "submitted"
    db.session.commit()
    response = as_user(staff_user).post(
        step_url(toolkit) + "/autosave", data={"goals": "x", "base_version": 0}, headers=HX
    )
    assert response.status_code == 409
    assert response.get_data(as_text=True).startswith("Not saved: this toolkit can no longer")


def test_htmx_adds_a_blank_row_in_place(as_user, staff_user, toolkit):
    response = as_user(staff_user).get(
        step_url(toolkit, "outreach") + "/rows/activities?index=3", headers=HX
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="activities-3-date"' in html and "<html" not in html


def test_plain_post_adds_a_row_after_saving(as_user, staff_user, toolkit):
    data = form_fields("outreach", COMPLETE_ANSWERS["outreach"]) | {
        "base_version": 0,
        "intent": "add:activities",
    }
    html = as_user(staff_user).post(step_url(toolkit, "outreach"), data=data).get_data(as_text=True)
    assert 'name="activities-1-date"' in html
    assert len(saved(toolkit, "outreach").data["activities"]) == 1


def test_plain_post_removes_a_row(as_user, staff_user, toolkit):
    client = as_user(staff_user)
    two_rows = {
        "activities-0-date": "2026-02-10",
        "activities-0-method": "flyers",
        "activities-1-date": "2026-02-11",
        "activities-1-method": "door_to_door",
    }
    client.post(step_url(toolkit, "outreach"), data=two_rows | {"base_version": 0})
    # Without JavaScript the remove button submits the whole form, naming the row to drop.
    response = client.post(
        step_url(toolkit, "outreach"),
        data=two_rows | {"base_version": 1, "intent": "remove:activities:0"},
    )
    assert response.status_code == 303
    rows = saved(toolkit, "outreach").data["activities"]
    assert [row["date"] for row in rows] == ["2026-02-11"]


def test_two_people_saving_the_same_step_never_overwrite_silently(
    app, staff_user, password_hash, toolkit
):
    colleague = make_user("staff", "lee.staff@windham.test", password_hash, staff_user.municipality)
    first, second = app.test_client(), app.test_client()
    sign_in(first, staff_user)
    sign_in(second, colleague)
    url = step_url(toolkit, "outreach")
    for client in (first, second):
        assert 'name="base_version" value="0"' in client.get(url).get_data(as_text=True)
    mine = {"activities-0-date": "2026-02-10", "activities-0-languages": "Spanish"}
    theirs = {"activities-0-date": "2026-02-10", "activities-0-languages": "Portuguese"}
    assert first.post(url, data=theirs | {"base_version": 0}).status_code == 303
    conflict = second.post(url, data=mine | {"base_version": 0})
    html = conflict.get_data(as_text=True)
    assert conflict.status_code == 409
    assert "Someone else changed this step" in html
    assert "Portuguese" in html and "Spanish" in html
    assert saved(toolkit, "outreach").data["activities"][0]["languages"] == "Portuguese"

    keep_mine = second.post(
        url + "/conflict",
        data={
            "choice": "keep_mine",
            "their_version": 1,
            "mine": json.dumps({"activities": [{"date": "2026-02-10", "languages": "Spanish"}]}),
        },
    )
    assert keep_mine.status_code == 303
    row = saved(toolkit, "outreach")
    assert row.data["activities"][0]["languages"] == "Spanish" and row.version == 2
    events = db.session.query(AuditEvent).order_by(AuditEvent.id).all()
    saves = [e for e in events if e.action == "toolkit.step_saved"]
    assert [e.actor_id for e in saves] == [staff_user.id, colleague.id]
    assert saves[0].details["changes"]["activities.0.languages"]["to"] == "Portuguese"
    assert saves[1].details["changes"]["activities.0.languages"] == {
        "from": "Portuguese",
        "to": "Spanish",
    }
    assert saves[1].details["resolution"] == "keep_mine"
    conflict_event = next(e for e in events if e.action == "toolkit.step_conflict")
    assert conflict_event.details["mine"]["activities"][0]["languages"] == "Spanish"


def test_keep_theirs_drops_mine_but_keeps_it_in_the_audit_log(as_user, staff_user, toolkit):
    client = as_user(staff_user)
    client.post(step_url(toolkit), data={"goals": "Theirs", "base_version": 0})
    response = client.post(
        step_url(toolkit) + "/conflict",
        data={
            "choice": "keep_theirs",
            "their_version": 1,
            "mine": json.dumps({"goals": "Mine"}),
        },
    )
    assert response.status_code == 303
    assert saved(toolkit, "context").data["goals"] == "Theirs"
    event = db.session.query(AuditEvent).filter_by(action="toolkit.step_conflict_resolved").one()
    assert event.details["discarded"]["goals"] == "Mine"


def test_merge_by_hand_shows_mine_in_the_fields_and_theirs_beside(as_user, staff_user, toolkit):
    client = as_user(staff_user)
    client.post(step_url(toolkit), data={"goals": "Theirs", "base_version": 0})
    html = client.post(
        step_url(toolkit) + "/conflict",
        data={
            "choice": "merge",
            "their_version": 1,
            "mine": json.dumps({"goals": "Mine"}),
        },
    ).get_data(as_text=True)
    assert ">Mine</textarea>" in html
    assert "The other person's version:" in html and "Theirs" in html
    assert 'name="base_version" value="1"' in html and 'name="resolution" value="merged"' in html


def test_autosave_conflict_answers_409_without_saving(as_user, staff_user, toolkit):
    client = as_user(staff_user)
    client.post(step_url(toolkit), data={"goals": "First", "base_version": 0})
    response = client.post(
        step_url(toolkit) + "/autosave",
        data={"goals": "Second", "base_version": 0},
        headers=HX,
    )
    assert response.status_code == 409
    assert "someone else changed this step" in response.get_data(as_text=True)
    assert saved(toolkit, "context").data["goals"] == "First"


# --- the audit record of autosaves ------------------------------------------------------------
# An auditor reads who changed what in each step, and when. A record per autosave (one every few
# seconds of typing) buried that under thousands of records per toolkit; now the autosaves of
# one person in one step, while nothing else happens to the toolkit, are one record brought up to
# date: how many saves, since when, the latest version, and each changed field from its value
# before the stretch to its latest. Every other save and event is still a record of its own.


def step_saves(toolkit) -> list[AuditEvent]:
    db.session.expire_all()
    return (
        db.session.query(AuditEvent)
        .filter_by(action="toolkit.step_saved", object_id=str(toolkit.id))
        .order_by(AuditEvent.id)
        .all()
    )


def autosave(client, toolkit, version, key="context", **answers):
    response = client.post(
        step_url(toolkit, key) + "/autosave", data=answers | {"base_version": version}, headers=HX
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_autosaves_of_a_step_by_one_person_are_one_audit_record(as_user, staff_user, toolkit):
    client = as_user(staff_user)
    autosave(client, toolkit, 0, goals="Parks")
    autosave(client, toolkit, 1, goals="Parks for all", team="Planner")
    autosave(client, toolkit, 2, goals="Parks for all residents", team="Planner")

    [record] = step_saves(toolkit)
    details = record.details
    assert record.actor_id == staff_user.id and details["step"] == "context"
    assert (details["autosave"], details["saves"], details["first_version"]) == (True, 3, 1)
    assert details["version"] == saved(toolkit, "context").version == 3
    assert details["changes"] == {
        "goals": {"from": None, "to": "Parks for all residents"},
        "team": {"from": "", "to": "Planner"},  # the first save stored it empty
    }
    # Its time is the latest save's (the town's last work, for reminders), "since" the first's.
    assert record.at == db.session.get(Toolkit, toolkit.id).updated_at
    assert datetime.fromisoformat(details["since"]) < record.at


def test_a_steps_record_goes_on_across_autosaves_of_other_steps(as_user, staff_user, toolkit):
    client = as_user(staff_user)
    autosave(client, toolkit, 0, goals="Parks")
    autosave(client, toolkit, 0, key="outcomes", closing_the_loop="A bilingual meeting")
    autosave(client, toolkit, 1, goals="Parks for all")

    records = [(r.details["step"], r.details["saves"]) for r in step_saves(toolkit)]
    assert records == [("context", 2), ("outcomes", 1)]


def test_anything_else_between_two_autosaves_starts_a_new_record(
    app, staff_user, password_hash, toolkit
):
    """Another person's save of the step, or a save with a button, comes between: who changed
    what, in which order, stays readable."""
    colleague = make_user("staff", "lee.staff@windham.test", password_hash, staff_user.municipality)
    mine, theirs = app.test_client(), app.test_client()
    sign_in(mine, staff_user)
    sign_in(theirs, colleague)

    autosave(mine, toolkit, 0, goals="Mine")
    autosave(theirs, toolkit, 1, goals="Theirs")
    autosave(mine, toolkit, 2, goals="Mine again")
    button = mine.post(step_url(toolkit), data={"goals": "With the button", "base_version": 3})
    assert button.status_code == 303
    autosave(mine, toolkit, 4, goals="Typed after")

    records = step_saves(toolkit)
    assert [(r.actor_id, r.details.get("autosave"), r.details["version"]) for r in records] == [
        (staff_user.id, True, 1),
        (colleague.id, True, 2),
        (staff_user.id, True, 3),
        (staff_user.id, None, 4),
        (staff_user.id, True, 5),
    ]
    assert records[2].details["changes"] == {"goals": {"from": "Theirs", "to": "Mine again"}}


def test_a_long_stretch_of_typing_is_a_record_per_quarter_hour(
    monkeypatch, as_user, staff_user, toolkit
):
    clock = FrozenClock(utcnow())
    monkeypatch.setattr("sct_forms.toolkits.services.utcnow", clock)
    client = as_user(staff_user)
    autosave(client, toolkit, 0, goals="One")
    clock.advance(minutes=14)
    autosave(client, toolkit, 1, goals="Two")
    clock.advance(minutes=2)  # 16 minutes after the record began
    autosave(client, toolkit, 2, goals="Three")

    assert [r.details["saves"] for r in step_saves(toolkit)] == [2, 1]


def test_the_autosaves_meter_reads_the_step_as_the_toolkits_page_does(
    staff_user, cycle, catalog, toolkit
):
    """The autosave works out its own step's completeness alone; it must agree with the
    whole toolkit's, step by step, files and the form's own rules included."""
    fill_completely(toolkit, staff_user, with_evidence=False)
    add_document(toolkit, "outreach", "Flyer", "0", staff_user)
    toolkit.step_answers("context").data = {"goals": "Parks", "start_date": "2019-01-01"}
    toolkit.step_answers("reflection").data = {}
    training = make_record(
        staff_user.municipality, cycle, catalog["1.2"], Form.TRAINING, staff_user
    )
    series = TRAINING_COMPLETE_ANSWERS["series"]
    training.step_answers("series").data = series | {"sessions": series["sessions"][:2]}
    members = TRAINING_COMPLETE_ANSWERS["delegation"]["members"]
    training.step_answers("delegation").data = {"members": members[:1]}
    db.session.commit()

    for record in (toolkit, training):
        whole = services.toolkit_completeness(record)
        assert [services.step_progress(record, step.step_key) for step in whole.steps] == list(
            whole.steps
        )
    assert {s.state for s in services.toolkit_completeness(toolkit).steps} == {
        "complete",
        "in_progress",
        "not_started",
    }


def test_a_save_landing_between_reading_the_step_and_writing_it_is_a_conflict(staff_user, toolkit):
    """The version check is the UPDATE's own WHERE clause: a save another server made after this
    one read the step turns this one into a conflict, never an overwrite."""
    row = toolkit.step_answers("context")
    assert row.version == 0
    with db.engine.begin() as other_server:
        other_server.execute(
            update(StepAnswers)
            .where(StepAnswers.id == row.id)
            .values(data={"goals": "Theirs"}, version=1)
        )

    result = services.save_step(toolkit, "context", {"goals": "Mine"}, 0, staff_user, autosave=True)

    assert result.conflicted and (result.their_version, result.theirs) == (1, {"goals": "Theirs"})
    assert saved(toolkit, "context").data == {"goals": "Theirs"}
    conflict = db.session.query(AuditEvent).filter_by(action="toolkit.step_conflict").one()
    assert conflict.details["mine"] == {"goals": "Mine"}  # what was typed stays in the log
    assert step_saves(toolkit) == []


def test_save_with_an_expired_session_keeps_the_text_until_sign_in(app, staff_user, toolkit):
    client = app.test_client()  # no session: it has expired
    typed = "A long answer typed over an hour."
    response = client.post(step_url(toolkit), data={"goals": typed, "base_version": 0})
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Your text is kept" in html
    assert "A long answer typed over an hour." in html  # carried inside the sign-in form
    assert saved(toolkit, "context").data == {}
    resume_data = html.split('name="resume_data" value="')[1].split('"')[0]

    response = client.post(
        "/sign-in",
        data={
            "email": staff_user.email,
            "password": PASSWORD,
            "resume_url": step_url(toolkit),
            "resume_data": html_lib.unescape(resume_data),
        },
    )
    assert response.status_code == 303
    assert saved(toolkit, "context").data["goals"] == typed


def test_autosave_with_an_expired_session_answers_401_for_the_page_to_ask(app, toolkit):
    response = app.test_client().post(
        step_url(toolkit) + "/autosave",
        data={"goals": "x", "base_version": 0},
        headers=HX,
    )
    assert response.status_code == 401
    assert "Your session ended" in response.get_data(as_text=True)


def test_signing_in_again_in_the_step_page_finishes_the_autosave(app, staff_user, toolkit):
    """The dialog's way: a token for the new session, then signing in finishes the autosave."""
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()  # the session has ended
    token = client.get("/csrf-token")
    assert token.status_code == 200 and token.headers["Cache-Control"] == "no-store"
    response = client.post(
        "/sign-in",
        data={
            "email": staff_user.email,
            "password": PASSWORD,
            "csrf_token": token.get_data(as_text=True),
            "resume_url": step_url(toolkit) + "/autosave",
            "resume_data": json.dumps([["goals", "Typed after it ended"], ["base_version", "0"]]),
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.startswith("Saved at ")
    assert 'name="base_version" value="1" id="base-version" hx-swap-oob="true"' in html
    assert saved(toolkit, "context").data["goals"] == "Typed after it ended"
    assert client.get(step_url(toolkit)).status_code == 200  # signed in


def test_resumed_save_still_checks_who_may_edit(app, other_staff_user, toolkit):
    client = app.test_client()
    response = client.post(
        "/sign-in",
        data={
            "email": other_staff_user.email,
            "password": PASSWORD,
            "resume_url": step_url(toolkit),
            "resume_data": json.dumps([["goals", "hijack"]]),
        },
    )
    assert response.status_code == 404
    assert saved(toolkit, "context").data == {}


def test_expired_csrf_token_keeps_the_typed_text_in_the_page(app, staff_user, toolkit):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    token = csrf_token_from(client.get("/sign-in").get_data(as_text=True))
    client.post(
        "/sign-in", data={"email": staff_user.email, "password": PASSWORD, "csrf_token": token}
    )
    response = client.post(
        step_url(toolkit),
        data={
            "goals": "Typed before the token expired",
            "base_version": 0,
            "csrf_token": "stale",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Your answers are not saved yet" in html
    assert ">Typed before the token expired</textarea>" in html
    assert saved(toolkit, "context").data == {}
    fresh = csrf_token_from(html)
    response = client.post(
        step_url(toolkit),
        data={
            "goals": "Typed before the token expired",
            "base_version": 0,
            "csrf_token": fresh,
        },
    )
    assert response.status_code == 303


def test_fresh_csrf_token_for_long_open_pages(as_user, staff_user):
    response = as_user(staff_user).get("/csrf-token")
    assert response.status_code == 200 and len(response.get_data(as_text=True)) > 20


def test_other_towns_staff_cannot_open_or_save_a_toolkit(as_user, other_staff_user, toolkit):
    client = as_user(other_staff_user)
    assert client.get(step_url(toolkit)).status_code == 404
    assert client.get(f"/toolkits/{toolkit.id}").status_code == 404
    assert client.post(step_url(toolkit), data={"goals": "x", "base_version": 0}).status_code == 404
    assert saved(toolkit, "context").data == {}


def test_coach_and_reviewer_read_but_cannot_save(as_user, coach_user, reviewer_user, toolkit):
    client = as_user(coach_user)
    html = client.get(step_url(toolkit)).get_data(as_text=True)
    assert "You can read this step but not change it." in html
    assert "Only staff of Windham can change this toolkit. You can read it." in html
    assert client.post(step_url(toolkit), data={"goals": "x", "base_version": 0}).status_code == 403


def test_review_page_lists_what_is_missing_with_links(as_user, staff_user, toolkit):
    html = as_user(staff_user).get(f"/toolkits/{toolkit.id}").get_data(as_text=True)
    assert "Still missing" in html
    assert f'href="/toolkits/{toolkit.id}/steps/context#q-goals"' in html
    assert "Upload at least 1 file as evidence for this step." in html


def test_request_with_isolated_client_class_is_in_use(app):
    assert isinstance(app.test_client(), RequestIsolatedClient)
