"""Submitting, reviewing, requesting changes, resubmitting and approving toolkits."""

from __future__ import annotations

import re

import pytest

from sct_forms.extensions import db
from sct_forms.models import AuditEvent, ChangeRequest, Revision, Toolkit
from sct_forms.review import services
from tests.toolkit_helpers import fill_completely, make_toolkit


@pytest.fixture(autouse=True)
def no_mail_delivery(app):
    app.config["MAIL_DELIVERY"] = "off"


@pytest.fixture
def toolkit(staff_user, cycle, catalog):
    return make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)


@pytest.fixture
def complete_toolkit(toolkit, staff_user):
    fill_completely(toolkit, staff_user)
    return toolkit


def reload(toolkit) -> Toolkit:
    db.session.expire_all()
    return db.session.get(Toolkit, toolkit.id)


def submit(client, toolkit, expected="draft"):
    return client.post(f"/toolkits/{toolkit.id}/submit", data={"expected_state": expected})


def events(action: str) -> list[AuditEvent]:
    return db.session.query(AuditEvent).filter_by(action=action).order_by(AuditEvent.id).all()


def test_staff_cannot_submit_an_incomplete_toolkit(as_user, staff_user, toolkit):
    response = submit(as_user(staff_user), toolkit)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The toolkit is not complete yet" in html and "Still missing" in html
    assert reload(toolkit).state == "draft"


def test_submitting_freezes_a_revision_and_locks_editing(as_user, staff_user, complete_toolkit):
    client = as_user(staff_user)
    response = submit(client, complete_toolkit)
    assert response.status_code == 303
    toolkit = reload(complete_toolkit)
    assert toolkit.state == "submitted" and toolkit.revision_count == 1
    revision = db.session.query(Revision).one()
    assert revision.definition_version == "2024.1"
    assert revision.answers["context"]["goals"].startswith("Plan open space")
    assert {e["step_key"] for e in revision.evidence} == {"outreach", "engagement"}
    assert all(len(e["sha256"]) == 64 for e in revision.evidence)
    event = events("toolkit.submitted")[0]
    assert event.actor_id == staff_user.id
    assert (event.details["from_state"], event.details["to_state"]) == ("draft", "submitted")
    assert event.details["revision"] == 1
    save = client.post(
        f"/toolkits/{toolkit.id}/steps/context", data={"goals": "late edit", "base_version": 1}
    )
    assert save.status_code == 409
    assert reload(toolkit).step_answers("context").data["goals"].startswith("Plan open space")
    page = client.get(f"/toolkits/{toolkit.id}/steps/context").get_data(as_text=True)
    assert "You can read this step but not change it." in page
    assert "Your town sent this toolkit to the reviewers" in page
    assert "you can also withdraw it" in page
    assert re.search(r'<textarea[^>]*id="q-goals"[^>]*readonly', page)


def test_a_repeated_submit_click_gets_409(as_user, staff_user, complete_toolkit):
    client = as_user(staff_user)
    assert submit(client, complete_toolkit).status_code == 303
    again = submit(client, complete_toolkit)
    assert again.status_code == 409
    assert "This toolkit changed since you opened the page" in again.get_data(as_text=True)
    assert db.session.query(Revision).count() == 1


def submitted(client_factory, staff_user, toolkit):
    client = client_factory(staff_user)
    assert submit(client, toolkit).status_code == 303
    client.post("/sign-out")
    return reload(toolkit)


def test_reviewer_cannot_edit_answers_and_staff_cannot_decide(
    as_user, staff_user, reviewer_user, complete_toolkit
):
    toolkit = submitted(as_user, staff_user, complete_toolkit)
    staff = as_user(staff_user)
    decision = staff.post(
        f"/review/toolkits/{toolkit.id}/decision",
        data={"decision": "approve", "expected_state": "submitted"},
    )
    assert decision.status_code == 403
    staff.post("/sign-out")
    reviewer = as_user(reviewer_user)
    edit = reviewer.post(
        f"/toolkits/{toolkit.id}/steps/context", data={"goals": "reviewer edit", "base_version": 1}
    )
    assert edit.status_code == 403
    assert reload(toolkit).state == "submitted"


def test_coach_cannot_review(as_user, staff_user, coach_user, complete_toolkit):
    toolkit = submitted(as_user, staff_user, complete_toolkit)
    client = as_user(coach_user)
    assert client.get(f"/review/toolkits/{toolkit.id}").status_code == 403
    assert client.post(f"/review/toolkits/{toolkit.id}/claim").status_code == 403


def start_review(client, toolkit):
    return client.post(f"/review/toolkits/{toolkit.id}/claim", data={"expected_state": "submitted"})


def test_queue_lists_submissions_oldest_first_with_filters(
    as_user, staff_user, reviewer_user, complete_toolkit, cycle, catalog, other_staff_user
):
    older = submitted(as_user, staff_user, complete_toolkit)
    newer = make_toolkit(other_staff_user.municipality, cycle, catalog["5.4"], other_staff_user)
    fill_completely(newer, other_staff_user)
    submitted(as_user, other_staff_user, newer)
    client = as_user(reviewer_user)
    html = client.get("/review/queue").get_data(as_text=True)
    assert html.index("Windham: 3.4") < html.index("Mansfield: 5.4")
    filtered = client.get("/review/queue?category=5").get_data(as_text=True)
    assert "Mansfield: 5.4" in filtered and "Windham: 3.4" not in filtered
    by_town = client.get(
        f"/review/queue?town={older.municipality_id}", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "Windham: 3.4" in by_town and "Mansfield" not in by_town and "<html" not in by_town
    aged = client.get("/review/queue?age=7").get_data(as_text=True)
    assert "0 toolkits in the queue." in aged and "Mansfield: 5.4" not in aged
    start_review(client, older)
    in_review = client.get("/review/queue?status=in_review").get_data(as_text=True)
    assert "Windham: 3.4" in in_review and reviewer_user.name in in_review


def test_claiming_twice_is_a_409(as_user, staff_user, reviewer_user, complete_toolkit):
    toolkit = submitted(as_user, staff_user, complete_toolkit)
    client = as_user(reviewer_user)
    assert start_review(client, toolkit).status_code == 303
    assert start_review(client, toolkit).status_code == 409
    toolkit = reload(toolkit)
    assert toolkit.state == "in_review" and toolkit.assigned_reviewer_id == reviewer_user.id


def request_change(client, toolkit, step, body, target=""):
    return client.post(
        f"/review/toolkits/{toolkit.id}/requests",
        data={"step_key": step, "target": target, "body": body},
    )


def decide(client, toolkit, decision, reason=""):
    return client.post(
        f"/review/toolkits/{toolkit.id}/decision",
        data={"decision": decision, "reason": reason, "expected_state": "in_review"},
    )


def test_requesting_changes_needs_a_change_request(
    as_user, staff_user, reviewer_user, complete_toolkit
):
    toolkit = submitted(as_user, staff_user, complete_toolkit)
    client = as_user(reviewer_user)
    start_review(client, toolkit)
    response = decide(client, toolkit, "request_changes")
    assert response.status_code == 422
    assert "Add at least one change request" in response.get_data(as_text=True)
    assert reload(toolkit).state == "in_review"


def test_not_approving_needs_a_reason(as_user, staff_user, reviewer_user, complete_toolkit):
    toolkit = submitted(as_user, staff_user, complete_toolkit)
    client = as_user(reviewer_user)
    start_review(client, toolkit)
    assert decide(client, toolkit, "not_approve").status_code == 422
    assert (
        decide(client, toolkit, "not_approve", "Work started before the window.").status_code == 303
    )
    toolkit = reload(toolkit)
    assert toolkit.state == "not_approved"
    assert toolkit.decision_reason == "Work started before the window."


def test_internal_comments_are_never_shown_to_staff(
    app, as_user, staff_user, reviewer_user, complete_toolkit
):
    toolkit = submitted(as_user, staff_user, complete_toolkit)
    reviewer = as_user(reviewer_user)
    start_review(reviewer, toolkit)
    reviewer.post(
        f"/review/toolkits/{toolkit.id}/comments",
        data={"step_key": "context", "body": "SECRET-INTERNAL-NOTE", "visibility": "internal"},
    )
    reviewer.post(
        f"/review/toolkits/{toolkit.id}/comments",
        data={"step_key": "context", "body": "Visible note for the town", "visibility": "town"},
    )
    request_change(reviewer, toolkit, "context", "Name the partner groups.", "team")
    decide(reviewer, toolkit, "request_changes")
    reviewer.post("/sign-out")
    staff = as_user(staff_user)
    pages = [f"/toolkits/{toolkit.id}", f"/towns/{toolkit.municipality.slug}"] + [
        f"/toolkits/{toolkit.id}/steps/{key}"
        for key in (
            "context",
            "affected_and_missing",
            "outreach",
            "engagement",
            "outcomes",
            "reflection",
        )
    ]
    for url in pages:
        for headers in ({}, {"HX-Request": "true"}):
            html = staff.get(url, headers=headers).get_data(as_text=True)
            assert "SECRET-INTERNAL-NOTE" not in html, url
    assert "Visible note for the town" in staff.get(f"/toolkits/{toolkit.id}").get_data(
        as_text=True
    )
    assert staff.get(f"/review/toolkits/{toolkit.id}").status_code == 403


def test_the_whole_loop_from_change_requests_to_bronze(
    as_user, staff_user, reviewer_user, complete_toolkit
):
    toolkit = submitted(as_user, staff_user, complete_toolkit)
    reviewer = as_user(reviewer_user)
    start_review(reviewer, toolkit)
    request_change(reviewer, toolkit, "context", "Name each team member's role.", "team")
    request_change(reviewer, toolkit, "outcomes", "Say when you reported back.", "closing_the_loop")
    assert decide(reviewer, toolkit, "request_changes").status_code == 303
    reviewer.post("/sign-out")
    toolkit = reload(toolkit)
    assert toolkit.state == "changes_requested"

    staff = as_user(staff_user)
    town_page = staff.get("/towns/windham").get_data(as_text=True)
    assert "Your turn: 2 changes requested" in town_page
    step = staff.get(f"/toolkits/{toolkit.id}/steps/context").get_data(as_text=True)
    assert "Name each team member&#39;s role." in step or "Name each team member's role." in step
    assert step.index("Name each team member") > step.index('id="q-team-field"')
    # Resubmitting before every request is answered is refused.
    blocked = submit(staff, toolkit, "changes_requested")
    assert blocked.status_code == 422
    assert "Answer the 2 open change requests" in blocked.get_data(as_text=True)
    staff.post(
        f"/toolkits/{toolkit.id}/steps/context",
        data={
            **{k: v for k, v in toolkit.step_answers("context").data.items()},
            "team": "Parks director leads; planner maps; two residents co-chair.",
            "base_version": toolkit.step_answers("context").version,
        },
    )
    for request in db.session.query(ChangeRequest).all():
        response = staff.post(
            f"/change-requests/{request.id}/respond",
            data={"response": "Done, see the step.", "addressed": "y"},
        )
        assert response.status_code == 303
    assert submit(staff, toolkit, "changes_requested").status_code == 303
    staff.post("/sign-out")
    toolkit = reload(toolkit)
    assert toolkit.state == "submitted" and toolkit.revision_count == 2

    reviewer = as_user(reviewer_user)
    changes = reviewer.get(f"/review/toolkits/{toolkit.id}/changes?since=1").get_data(as_text=True)
    assert "What did the community say" not in changes  # unchanged answers are left out
    # Inside the changed answer, the words put in are marked (and said, for screen readers).
    added = re.findall(r"<ins>(.*?)</ins>", changes, re.DOTALL)
    assert any("co-chair" in run and "Added:" in run for run in added), added
    assert "two residents" not in "".join(added)  # kept words are not marked
    # Each request sits beside the town's answer, the one on an unchanged step too.
    rows = re.findall(r'<tr id="request-\d+">(.*?)</tr>', changes, re.DOTALL)
    assert len(rows) == 2
    assert any("Name each team member" in row and "Done, see the step." in row for row in rows)
    assert any("Say when you reported back." in row for row in rows)
    start_review(reviewer, toolkit)
    assert decide(reviewer, toolkit, "approve").status_code == 303
    toolkit = reload(toolkit)
    assert toolkit.state == "approved"
    assert all(r.status == "closed" for r in db.session.query(ChangeRequest).all())
    reviewer.post("/sign-out")
    town_page = as_user(staff_user).get("/towns/windham").get_data(as_text=True)
    assert "Level reached for the equity requirement: Bronze." in town_page


def test_every_transition_leaves_an_audit_event(
    as_user, staff_user, reviewer_user, complete_toolkit
):
    toolkit = submitted(as_user, staff_user, complete_toolkit)
    reviewer = as_user(reviewer_user)
    start_review(reviewer, toolkit)
    decide(reviewer, toolkit, "approve")
    transitions = [
        e
        for e in db.session.query(AuditEvent).order_by(AuditEvent.id)
        if "from_state" in (e.details or {})
    ]
    assert [(e.action, e.details["from_state"], e.details["to_state"]) for e in transitions] == [
        ("toolkit.submitted", "draft", "submitted"),
        ("toolkit.review_started", "submitted", "in_review"),
        ("toolkit.approved", "in_review", "approved"),
    ]
    assert all(e.actor_id and e.details["revision"] == 1 for e in transitions)


def test_withdraw_and_reopen(as_user, staff_user, toolkit):
    client = as_user(staff_user)
    assert (
        client.post(
            f"/toolkits/{toolkit.id}/withdraw", data={"expected_state": "draft"}
        ).status_code
        == 303
    )
    assert reload(toolkit).state == "withdrawn"
    assert "Withdrawn by your town" in client.get("/towns/windham").get_data(as_text=True)
    step = client.get(f"/toolkits/{toolkit.id}/steps/context").get_data(as_text=True)
    assert "To change it, reopen it from the toolkit&#39;s page." in step
    assert (
        client.post(
            f"/toolkits/{toolkit.id}/reopen", data={"expected_state": "withdrawn"}
        ).status_code
        == 303
    )
    assert reload(toolkit).state == "draft"


def test_reviewers_see_the_frozen_evidence_even_after_the_draft_changes(
    app, as_user, staff_user, reviewer_user, complete_toolkit
):
    toolkit = submitted(as_user, staff_user, complete_toolkit)
    revision = db.session.query(Revision).one()
    item = revision.evidence[0]
    client = as_user(reviewer_user)
    page = client.get(f"/review/toolkits/{toolkit.id}").get_data(as_text=True)
    assert item["title"] in page
    url = f"/toolkits/{toolkit.id}/revisions/1/evidence/{item['sha256']}"
    assert f'href="{url}"' in page


def test_town_page_explains_each_tier_in_words(as_user, staff_user, complete_toolkit):
    submitted(as_user, staff_user, complete_toolkit)
    html = as_user(staff_user).get("/towns/windham").get_data(as_text=True)
    assert "No level reached yet" in html
    assert "If the toolkits with reviewers are approved: Bronze." in html
    assert (
        "needs 3 different actions with an approved toolkit: you have 0 approved, "
        "1 with reviewers, 0 in progress."
    ) in " ".join(html.split())


def changes_requested(staff_user, reviewer_user, toolkit) -> ChangeRequest:
    """The toolkit back with the town, one change request open."""
    services.submit(toolkit, staff_user, "draft")
    services.start_review(toolkit, reviewer_user, "submitted")
    request = services.add_change_request(toolkit, "context", "team", "Name roles.", reviewer_user)
    services.decide(toolkit, "request_changes", reviewer_user, "in_review")
    return request


def test_a_made_up_expected_state_is_refused_with_a_message(
    as_user, staff_user, complete_toolkit
):
    client = as_user(staff_user)
    for value in ("bogus", "x" * 500, "submitted\u202e"):
        response = submit(client, complete_toolkit, value)
        assert response.status_code == 422, value
        assert "This page is out of date. Reload it and try again." in response.get_data(
            as_text=True
        )
    assert reload(complete_toolkit).state == "draft"


def test_an_answer_over_5000_characters_is_refused_whole_and_kept_in_the_page(
    as_user, staff_user, reviewer_user, complete_toolkit
):
    request = changes_requested(staff_user, reviewer_user, complete_toolkit)
    text = "We changed it. " * 400  # 6000 characters
    client = as_user(staff_user)
    response = client.post(
        f"/change-requests/{request.id}/respond", data={"response": text, "addressed": "y"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Use 5000 characters or fewer. You have 5999." in html
    assert text.strip() + "</textarea>" in html
    db.session.expire_all()
    stored = db.session.get(ChangeRequest, request.id)
    assert not stored.town_response and stored.status == "open"


def test_a_control_character_in_an_answer_is_refused_and_never_stored(
    as_user, staff_user, reviewer_user, complete_toolkit
):
    request = changes_requested(staff_user, reviewer_user, complete_toolkit)
    client = as_user(staff_user)
    for text in ("Done\x00", "Done\x1b[31m"):
        response = client.post(
            f"/change-requests/{request.id}/respond", data={"response": text, "addressed": "y"}
        )
        assert 400 <= response.status_code < 500, repr(text)
    db.session.expire_all()
    assert not db.session.get(ChangeRequest, request.id).town_response
    answered = client.post(
        f"/change-requests/{request.id}/respond",
        data={"response": "Line one.\r\n\tLine two.", "addressed": "y", "back": "//evil.test/"},
    )
    assert answered.status_code == 303
    assert answered.headers["Location"].startswith(f"/toolkits/{complete_toolkit.id}")
    db.session.expire_all()
    assert db.session.get(ChangeRequest, request.id).town_response == "Line one.\n\tLine two."
