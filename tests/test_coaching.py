"""Equity coaching: a town asks for a coach, an administrator assigns one, the coach advises."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sct_forms.coaching import services
from sct_forms.coaching.services import CoachingError
from sct_forms.domain.coaching import RequestStatus
from sct_forms.domain.forms import Form
from sct_forms.extensions import db
from sct_forms.models import (
    AuditEvent,
    CoachAssignment,
    CoachComment,
    CoachRequest,
    OutboxMessage,
)
from tests.conftest import make_user
from tests.toolkit_helpers import make_record, make_toolkit

REQUEST = {
    "topics": "Reaching Spanish-speaking families\nfor our open space plan.",
    "meeting": "video",
    "availability": "Tuesday mornings",
}


@pytest.fixture
def new_coach(app, password_hash):
    """An active coach with no town yet."""
    return make_user("coach", "jordan.coach@sct.test", password_hash)


def open_request(town, staff_user) -> CoachRequest:
    return services.request_coach(town, staff_user, **REQUEST)


def mails(kind: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def audit_actions() -> list[str]:
    return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


# --- the town asks ----------------------------------------------------------------------------


def test_staff_ask_for_a_coach_and_the_administrators_are_emailed(
    as_user, staff_user, admin_user, town
):
    client = as_user(staff_user)
    page = client.get(f"/coaching/towns/{town.slug}/request")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<legend" in html and "How would you like to meet?" in html
    response = client.post(f"/coaching/towns/{town.slug}/request", data=REQUEST)
    assert response.status_code == 303
    request = db.session.scalars(select(CoachRequest)).one()
    assert (request.status, request.meeting, request.requested_by_id) == (
        RequestStatus.OPEN,
        "video",
        staff_user.id,
    )
    assert request.topics == REQUEST["topics"]
    [mail] = mails("coaching.requested")
    assert mail.to_address == admin_user.email
    assert "Windham" in mail.subject and "Tuesday mornings" in mail.body_text
    assert "http://localhost/coaching/requests" in mail.body_text
    assert "coaching.requested" in audit_actions()
    # The open request is shown, plainly, instead of a second form.
    html = client.get(f"/coaching/towns/{town.slug}/request").get_data(as_text=True)
    assert "Your request is waiting for a coach" in html and "Tuesday mornings" in html
    assert 'name="topics"' not in html


def test_a_refused_request_keeps_what_was_typed(as_user, staff_user, town):
    client = as_user(staff_user)
    data = {"topics": "Help with step 3", "meeting": "", "availability": "x" * 1001}
    response = client.post(f"/coaching/towns/{town.slug}/request", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in html
    assert "Choose how you would like to meet your coach." in html
    assert "Use 1000 characters or fewer. You have 1001." in html
    assert "Help with step 3" in html and "x" * 1001 in html
    assert db.session.scalars(select(CoachRequest)).all() == []


def test_topics_and_availability_are_required(as_user, staff_user, town):
    response = as_user(staff_user).post(
        f"/coaching/towns/{town.slug}/request", data={"meeting": "phone"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Say what you would like help with." in html
    assert "Say when you are available to meet." in html
    assert 'value="phone" checked' in html


def test_one_open_request_per_town(as_user, staff_user, town):
    open_request(town, staff_user)
    with pytest.raises(CoachingError) as refused:
        open_request(town, staff_user)
    assert refused.value.code == "already_open"
    response = as_user(staff_user).post(f"/coaching/towns/{town.slug}/request", data=REQUEST)
    assert response.status_code == 409
    assert "already asked for a coach" in response.get_data(as_text=True)
    assert len(db.session.scalars(select(CoachRequest)).all()) == 1


def test_staff_withdraw_their_open_request_and_may_ask_again(as_user, staff_user, town):
    request = open_request(town, staff_user)
    client = as_user(staff_user)
    assert client.post(f"/coaching/towns/{town.slug}/request/withdraw").status_code == 303
    db.session.refresh(request)
    assert request.status == RequestStatus.WITHDRAWN
    assert "coaching.request_withdrawn" in audit_actions()
    assert client.post(f"/coaching/towns/{town.slug}/request/withdraw").status_code == 409
    assert client.post(f"/coaching/towns/{town.slug}/request", data=REQUEST).status_code == 303


@pytest.mark.parametrize("role", ["other_staff_user", "coach_user", "reviewer_user", "admin_user"])
def test_only_the_towns_staff_ask_for_its_coach(request, town, staff_user, role):
    user = request.getfixturevalue(role)
    with pytest.raises(CoachingError) as refused:
        services.request_coach(town, user, **REQUEST)
    assert refused.value.status == 403
    open_request(town, staff_user)
    with pytest.raises(CoachingError) as refused:
        services.withdraw_open_request(town, user)
    assert refused.value.status == 403
    assert [r.status for r in db.session.scalars(select(CoachRequest))] == [RequestStatus.OPEN]


def test_other_roles_cannot_post_a_request(as_user, town, coach_user, reviewer_user):
    assert (
        as_user(coach_user).post(f"/coaching/towns/{town.slug}/request", data=REQUEST).status_code
        == 403
    )
    assert db.session.scalars(select(CoachRequest)).all() == []


def test_the_town_page_links_to_coaching(as_user, staff_user, town, cycle):
    html = as_user(staff_user).get(f"/towns/{town.slug}").get_data(as_text=True)
    assert f'href="/coaching/towns/{town.slug}/request"' in html


# --- administrators assign --------------------------------------------------------------------


def test_an_admin_assigns_a_coach_and_both_sides_are_emailed(
    as_user, staff_user, admin_user, new_coach, town
):
    request = open_request(town, staff_user)
    client = as_user(admin_user)
    page = client.get("/coaching/requests")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Windham" in html and "Tuesday mornings" in html and "By video call" in html
    assert staff_user.name in html and f'<option value="{new_coach.id}"' in html
    assert 'href="/coaching/requests"' in html  # the administrators' navigation

    response = client.post(
        f"/coaching/requests/{request.id}/assign", data={"coach_id": new_coach.id}
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert (request.status, request.coach_id, request.assigned_by_id) == (
        RequestStatus.ASSIGNED,
        new_coach.id,
        admin_user.id,
    )
    assert request.assigned_at is not None
    assignment = db.session.scalars(select(CoachAssignment)).one()
    assert (assignment.coach_id, assignment.municipality_id, assignment.assigned_by_id) == (
        new_coach.id,
        town.id,
        admin_user.id,
    )
    assert "coaching.assigned" in audit_actions()
    to_coach, to_town = mails("coaching.assigned")
    assert to_coach.to_address == new_coach.email
    assert "Windham" in to_coach.body_text and "Reaching Spanish-speaking" in to_coach.body_text
    assert staff_user.email in to_coach.body_text and "Tuesday mornings" in to_coach.body_text
    assert to_town.to_address == staff_user.email
    assert new_coach.name in to_town.body_text and new_coach.email in to_town.body_text
    # Pressed twice: nothing happens twice.
    again = client.post(f"/coaching/requests/{request.id}/assign", data={"coach_id": new_coach.id})
    assert again.status_code == 409
    assert len(mails("coaching.assigned")) == 2
    # The coach now sees the town; the town sees its coach.
    client.post("/sign-out")
    assert as_user(new_coach).get(f"/towns/{town.slug}").status_code == 200
    client.post("/sign-out")
    html = as_user(staff_user).get(f"/coaching/towns/{town.slug}/request").get_data(as_text=True)
    assert new_coach.email in html and "Coach assigned" in html


def test_assigning_a_coach_already_assigned_keeps_one_assignment(
    staff_user, admin_user, coach_user, town
):
    services.assign_coach(open_request(town, staff_user), coach_user.id, admin_user)
    assert len(db.session.scalars(select(CoachAssignment)).all()) == 1


def test_only_active_coaches_can_be_assigned(
    as_user, staff_user, admin_user, reviewer_user, new_coach, town
):
    request = open_request(town, staff_user)
    new_coach.active = False
    db.session.commit()
    for chosen in (new_coach.id, reviewer_user.id, 99999):
        with pytest.raises(CoachingError) as refused:
            services.assign_coach(request, chosen, admin_user)
        assert refused.value.code == "not_a_coach"
    client = as_user(admin_user)
    response = client.post(
        f"/coaching/requests/{request.id}/assign", data={"coach_id": reviewer_user.id}
    )
    assert response.status_code == 422
    assert "Choose an active coach from the list." in response.get_data(as_text=True)
    response = client.post(f"/coaching/requests/{request.id}/assign", data={"coach_id": "1e9"})
    assert response.status_code == 422
    db.session.refresh(request)
    assert request.status == RequestStatus.OPEN
    assert db.session.scalars(select(CoachAssignment)).all() == []


@pytest.mark.parametrize("role", ["staff_user", "coach_user", "reviewer_user"])
def test_only_admins_assign_and_end_assignments(
    request, as_user, town, staff_user, new_coach, role
):
    user = request.getfixturevalue(role)
    coach_request = open_request(town, staff_user)
    assignment = CoachAssignment(coach_id=new_coach.id, municipality_id=town.id)
    db.session.add(assignment)
    db.session.commit()
    with pytest.raises(CoachingError) as refused:
        services.assign_coach(coach_request, new_coach.id, user)
    assert refused.value.status == 403
    with pytest.raises(CoachingError) as refused:
        services.end_assignment(assignment, user)
    assert refused.value.status == 403
    client = as_user(user)
    assert client.get("/coaching/requests").status_code == 403
    response = client.post(
        f"/coaching/requests/{coach_request.id}/assign", data={"coach_id": new_coach.id}
    )
    assert response.status_code == 403
    assert client.post(f"/coaching/assignments/{assignment.id}/end").status_code == 403
    db.session.expire_all()
    assert coach_request.status == RequestStatus.OPEN
    assert len(db.session.scalars(select(CoachAssignment)).all()) == 2 - (role != "coach_user")


def test_an_admin_ends_an_assignment_and_the_coach_loses_the_town(
    as_user, admin_user, coach_user, town, cycle
):
    assignment = db.session.scalars(select(CoachAssignment)).one()
    client = as_user(admin_user)
    assert "Casey Coach" in client.get("/coaching/requests").get_data(as_text=True)
    assert client.post(f"/coaching/assignments/{assignment.id}/end").status_code == 303
    assert db.session.scalars(select(CoachAssignment)).all() == []
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "coaching.assignment_ended")
    ).one()
    assert event.actor_id == admin_user.id and event.details["coach_id"] == coach_user.id
    client.post("/sign-out")
    assert as_user(coach_user).get(f"/towns/{town.slug}").status_code == 404


# --- administrators assign a coach to a town directly -------------------------------------------


def direct(town, coach) -> dict:
    return {"town_id": town.id, "coach_id": coach.id}


def test_an_admin_assigns_a_coach_to_a_town_directly_and_both_sides_are_emailed(
    as_user, staff_user, admin_user, new_coach, town, other_town
):
    client = as_user(admin_user)
    html = client.get("/coaching/requests").get_data(as_text=True)
    assert '<h2 id="direct-title">Assign a coach to a town</h2>' in html
    # Every town, by name; every active coach.
    assert html.index(f'<option value="{other_town.id}">Mansfield') < html.index(
        f'<option value="{town.id}">Windham'
    )
    assert f'<option value="{new_coach.id}">Jordan Coach (jordan.coach@sct.test)' in html
    assert 'action="/coaching/assignments"' in html and "Assign the coach</button>" in html

    response = client.post("/coaching/assignments", data=direct(town, new_coach))
    assert response.status_code == 303
    assignment = db.session.scalars(select(CoachAssignment)).one()
    assert (assignment.coach_id, assignment.municipality_id, assignment.assigned_by_id) == (
        new_coach.id,
        town.id,
        admin_user.id,
    )
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "coaching.assigned")
    ).one()
    assert (event.actor_id, event.object_type, event.object_id) == (
        admin_user.id,
        "coach_assignment",
        str(assignment.id),
    )
    assert (event.municipality_id, event.details["coach_id"]) == (town.id, new_coach.id)
    to_coach, to_town = mails("coaching.assigned")
    assert to_coach.to_address == new_coach.email
    assert "You are the equity coach of Windham" in to_coach.subject
    # No request to quote: the coach is given the town's staff to write to.
    assert "contact the town's staff" in to_coach.body_text
    assert f"{staff_user.name}, {staff_user.email}" in to_coach.body_text
    assert staff_user.email in to_coach.body_html
    assert to_town.to_address == staff_user.email
    assert new_coach.name in to_town.body_text and new_coach.email in to_town.body_text
    page = client.get("/coaching/requests").get_data(as_text=True)
    assert "Jordan Coach is now the equity coach of Windham. Both are told by email." in page
    assert f'id="assignment-{assignment.id}"' in page
    # The coach's account page names the town and sends changes to the coaching page.
    account = client.get(f"/admin/accounts/{new_coach.id}").get_data(as_text=True)
    assert "<li>Windham</li>" in account and 'href="/coaching/requests"' in account
    client.post("/sign-out")
    assert as_user(new_coach).get(f"/towns/{town.slug}").status_code == 200


def test_a_coach_of_a_town_with_no_staff_is_told_the_program_will_put_them_in_touch(
    admin_user, new_coach, other_town
):
    services.assign_coach_to_town(other_town, new_coach.id, admin_user)
    [to_coach] = mails("coaching.assigned")
    assert "the town has no staff account yet" in to_coach.body_text


def test_assigning_a_coach_the_town_already_has_says_so_and_changes_nothing(
    as_user, staff_user, admin_user, coach_user, town
):
    with pytest.raises(CoachingError) as refused:
        services.assign_coach_to_town(town, coach_user.id, admin_user)
    assert (refused.value.code, refused.value.status) == ("already_assigned", 409)
    response = as_user(admin_user).post("/coaching/assignments", data=direct(town, coach_user))
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Casey Coach already coaches Windham. Nothing was changed." in html
    assert 'id="direct-coach-error"' in html and '<a href="#direct-coach">' in html
    assert f'<option value="{town.id}" selected>Windham' in html
    assert f'<option value="{coach_user.id}" selected>Casey Coach' in html
    assert len(db.session.scalars(select(CoachAssignment)).all()) == 1
    assert "coaching.assigned" not in audit_actions()
    assert mails("coaching.assigned") == []


def test_only_an_active_coach_account_is_assigned_to_a_town(
    as_user, admin_user, reviewer_user, coach_user, new_coach, town
):
    new_coach.active = False
    db.session.commit()
    for chosen in (new_coach.id, reviewer_user.id, admin_user.id, 99999, None):
        with pytest.raises(CoachingError) as refused:
            services.assign_coach_to_town(town, chosen, admin_user)
        assert (refused.value.code, refused.value.status) == ("not_a_coach", 422)
    client = as_user(admin_user)
    response = client.post("/coaching/assignments", data=direct(town, reviewer_user))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<title>Error: Coaching requests" in html
    assert 'id="direct-coach-error">Choose an active coach from the list.</p>' in html
    assert f'<option value="{town.id}" selected>Windham' in html  # the town chosen is kept
    nothing = client.post("/coaching/assignments", data={"town_id": "", "coach_id": "1e9"})
    html = nothing.get_data(as_text=True)
    assert nothing.status_code == 422
    assert 'id="direct-town-error">Choose a town from the list.</p>' in html
    assert 'id="direct-coach-error">Choose a coach from the list.</p>' in html
    unknown_town = client.post(
        "/coaching/assignments", data={"town_id": 99999, "coach_id": new_coach.id}
    )
    assert unknown_town.status_code == 422
    assert "Choose a town from the list." in unknown_town.get_data(as_text=True)
    assert [a.coach_id for a in db.session.scalars(select(CoachAssignment))] == [coach_user.id]
    assert mails("coaching.assigned") == []


@pytest.mark.parametrize("role", ["staff_user", "coach_user", "reviewer_user"])
def test_only_admins_assign_a_coach_to_a_town(request, as_user, new_coach, other_town, role):
    user = request.getfixturevalue(role)
    with pytest.raises(CoachingError) as refused:
        services.assign_coach_to_town(other_town, new_coach.id, user)
    assert refused.value.status == 403
    response = as_user(user).post("/coaching/assignments", data=direct(other_town, new_coach))
    assert response.status_code == 403
    assert [a.municipality_id for a in db.session.scalars(select(CoachAssignment))] == (
        [] if role != "coach_user" else [request.getfixturevalue("town").id]
    )
    assert mails("coaching.assigned") == []


def test_a_direct_assignment_answers_the_towns_open_request(
    as_user, staff_user, admin_user, new_coach, town
):
    request = open_request(town, staff_user)
    client = as_user(admin_user)
    response = client.post("/coaching/assignments", data=direct(town, new_coach))
    assert response.status_code == 303
    db.session.expire_all()
    assert (request.status, request.coach_id, request.assigned_by_id) == (
        RequestStatus.ASSIGNED,
        new_coach.id,
        admin_user.id,
    )
    assert request.assigned_at is not None
    assignment = db.session.scalars(select(CoachAssignment)).one()
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "coaching.assigned")
    ).one()
    assert event.details["assignment_id"] == assignment.id
    assert event.details["request_id"] == request.id
    # The coach is told what the town asked for, as with an assignment from the request.
    to_coach, to_town = mails("coaching.assigned")
    assert "Reaching Spanish-speaking" in to_coach.body_text
    assert "Tuesday mornings" in to_coach.body_text and staff_user.email in to_coach.body_text
    assert to_town.to_address == staff_user.email
    html = client.get("/coaching/requests").get_data(as_text=True)
    assert "0 requests waiting for a coach" in html


# --- the coach's towns ------------------------------------------------------------------------


def test_the_coach_sees_each_towns_level_and_what_the_next_needs(
    as_user, coach_user, staff_user, town, cycle, catalog
):
    draft = make_toolkit(town, cycle, catalog["3.4"], staff_user)
    approved = make_toolkit(town, cycle, catalog["5.4"], staff_user)
    approved.state = "approved"
    db.session.commit()
    html = as_user(coach_user).get("/coaching/towns").get_data(as_text=True)
    assert "Level reached for the equity requirement: Bronze." in html
    assert "Still missing for Silver:" in html
    assert "2 more different actions with an approved toolkit." in html
    assert "Equity Toolkit for 3.4 Develop an Open Space Plan" in html
    assert f'href="/toolkits/{draft.id}"' in html and f'href="/toolkits/{approved.id}"' in html
    assert "Draft" in html and "Approved" in html


# --- the coach's advice -----------------------------------------------------------------------


def test_a_coach_comments_on_a_draft_and_the_town_reads_it(
    as_user, client, coach_user, staff_user, reviewer_user, town, cycle, catalog
):
    toolkit = make_toolkit(town, cycle, catalog["3.4"], staff_user)
    coach = as_user(coach_user)
    step_page = coach.get(f"/toolkits/{toolkit.id}/steps/outreach")
    assert step_page.status_code == 200
    comment_form = f'action="/coaching/toolkits/{toolkit.id}/comments"'
    assert comment_form in step_page.get_data(as_text=True)
    response = coach.post(
        f"/coaching/toolkits/{toolkit.id}/comments",
        data={"step_key": "outreach", "body": "Try the library's Saturday hours."},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(
        f"/toolkits/{toolkit.id}/steps/outreach#coach-comments"
    )
    coach.post(f"/coaching/toolkits/{toolkit.id}/comments", data={"body": "A good start overall."})
    comments = db.session.scalars(select(CoachComment).order_by(CoachComment.id)).all()
    assert [(c.step_key, c.author_id, c.municipality_id) for c in comments] == [
        ("outreach", coach_user.id, town.id),
        (None, coach_user.id, town.id),
    ]
    assert audit_actions().count("toolkit.coach_commented") == 2
    [first, second] = mails("coaching.commented")
    assert first.to_address == staff_user.email and first.toolkit_id == toolkit.id
    assert "Try the library's Saturday hours." in first.body_text and "step 3" in first.body_text
    assert f"/toolkits/{toolkit.id}/steps/outreach" in first.body_text
    client.post("/sign-out")

    staff = as_user(staff_user)
    html = staff.get(f"/toolkits/{toolkit.id}/steps/outreach").get_data(as_text=True)
    assert "Advice from your equity coach, Casey Coach," in html
    assert "Try the library&#39;s Saturday hours." in html
    assert "A good start overall." not in html  # on the record's page, not on each step
    assert 'action="/coaching/toolkits/' not in html  # staff read, they do not write advice
    overview = staff.get(f"/toolkits/{toolkit.id}").get_data(as_text=True)
    assert (
        "A good start overall." in overview and "Try the library&#39;s Saturday hours." in overview
    )
    client.post("/sign-out")
    review_side = as_user(reviewer_user).get(f"/toolkits/{toolkit.id}").get_data(as_text=True)
    assert "A good start overall." in review_side


def test_the_email_about_advice_on_a_record_of_action_1_3_names_the_record(
    as_user, coach_user, staff_user, town, cycle, catalog, password_hash
):
    record = make_record(town, cycle, catalog["1.3"], Form.STATEMENT, staff_user)
    make_user("staff", "ana.staff@windham.test", password_hash, town, preferred_language="es")
    coach = as_user(coach_user)
    coach.post(
        f"/coaching/toolkits/{record.id}/comments",
        data={"step_key": "adoption_record", "body": "Attach the signed minutes."},
    )
    coach.post(f"/coaching/toolkits/{record.id}/comments", data={"body": "Well written."})
    sent = mails("coaching.commented")
    english = [m for m in sent if m.to_address == staff_user.email]
    [spanish_step, _] = [m for m in sent if m.to_address == "ana.staff@windham.test"]
    title = "Action 1.3: Develop and Adopt a Statement on Equity"
    for mail in english:
        assert "Equity Toolkit" not in mail.subject + mail.body_text + mail.body_html
        assert title in mail.subject and f"the record of {title}." in mail.body_text
        assert f"the record of {title}." in mail.body_html
    assert "on step 2 of the record of" in english[0].body_text
    assert "left advice on the record of" in english[1].body_text
    # The title follows the recipient's language, like every other email about a record.
    spanish_title = "Acción 1.3: Elaborar y adoptar una declaración sobre equidad"
    assert spanish_title in spanish_step.subject and spanish_title in spanish_step.body_text
    assert "Equity Toolkit" not in spanish_step.body_text


def test_a_refused_save_or_upload_still_shows_the_coachs_advice(
    as_user, coach_user, staff_user, town, cycle, catalog
):
    toolkit = make_toolkit(town, cycle, catalog["3.4"], staff_user)
    services.add_comment(toolkit, "context", "Name the neighbourhoods.", coach_user)
    services.add_comment(toolkit, "outreach", "Ask the library to host.", coach_user)
    client = as_user(staff_user)
    too_long = client.post(
        f"/toolkits/{toolkit.id}/steps/context", data={"goals": "x" * 5001, "base_version": 0}
    )
    html = too_long.get_data(as_text=True)
    assert too_long.status_code == 422 and "x" * 5001 in html
    assert "Advice from your equity coach, Casey Coach," in html
    assert "Name the neighbourhoods." in html and "Ask the library to host." not in html
    no_file = client.post(
        f"/toolkits/{toolkit.id}/steps/outreach/evidence",
        data={"title": "Flyer", "alt_text": ""},
        content_type="multipart/form-data",
    )
    html = no_file.get_data(as_text=True)
    assert no_file.status_code == 422 and "There is a problem" in html
    assert "Ask the library to host." in html and "Name the neighbourhoods." not in html


def test_a_refused_comment_keeps_the_text_and_says_why(
    as_user, coach_user, staff_user, town, cycle, catalog
):
    toolkit = make_toolkit(town, cycle, catalog["3.4"], staff_user)
    client = as_user(coach_user)
    long_text = "word " * 900
    response = client.post(
        f"/coaching/toolkits/{toolkit.id}/comments", data={"step_key": "context", "body": long_text}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in html and "Use 4000 characters or fewer. You have 4499." in html
    assert long_text.strip() in html
    empty = client.post(f"/coaching/toolkits/{toolkit.id}/comments", data={"body": "  "})
    assert empty.status_code == 422
    assert "Write your advice before sending it." in empty.get_data(as_text=True)
    nul = client.post(f"/coaching/toolkits/{toolkit.id}/comments", data={"body": "a\x00b"})
    assert nul.status_code == 400  # refused before any view, as every NUL byte is
    unknown_step = client.post(
        f"/coaching/toolkits/{toolkit.id}/comments", data={"step_key": "nope", "body": "Hi"}
    )
    assert unknown_step.status_code == 404
    assert db.session.scalars(select(CoachComment)).all() == []


@pytest.mark.parametrize("role", ["staff_user", "reviewer_user", "admin_user", "unassigned_coach"])
def test_only_the_towns_coach_comments(
    request, as_user, staff_user, town, cycle, catalog, role, password_hash
):
    toolkit = make_toolkit(town, cycle, catalog["3.4"], staff_user)
    if role == "unassigned_coach":
        user = make_user("coach", "lee.coach@sct.test", password_hash)
    else:
        user = request.getfixturevalue(role)
    with pytest.raises(CoachingError) as refused:
        services.add_comment(toolkit, "context", "Advice", user)
    assert refused.value.status == 403
    response = as_user(user).post(
        f"/coaching/toolkits/{toolkit.id}/comments", data={"step_key": "context", "body": "Hi"}
    )
    assert response.status_code == (404 if role == "unassigned_coach" else 403)
    assert db.session.scalars(select(CoachComment)).all() == []
    assert mails("coaching.commented") == []
