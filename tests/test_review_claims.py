"""A claim is enforced: only the reviewer holding a toolkit records verdicts, requests, decisions.

Another reviewer sees who holds it and may take it over openly; admins reassign but never decide;
every review POST is a validated form, so hostile values answer 4xx, never 500.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sct_forms.domain import claims
from sct_forms.extensions import db
from sct_forms.models import (
    AuditEvent,
    ChangeRequest,
    OutboxMessage,
    ReviewComment,
    StepVerdict,
    Toolkit,
)
from sct_forms.review import services
from tests.conftest import make_user
from tests.toolkit_helpers import fill_completely, make_toolkit

HUGE = str(2**40)


@pytest.fixture(autouse=True)
def no_mail_delivery(app):
    app.config["MAIL_DELIVERY"] = "off"


@pytest.fixture
def toolkit(staff_user, reviewer_user, cycle, catalog) -> Toolkit:
    """Submitted by the town and claimed by ``reviewer_user`` (the holder), one request open."""
    toolkit = make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)
    fill_completely(toolkit, staff_user)
    services.submit(toolkit, staff_user, "draft")
    services.start_review(toolkit, reviewer_user, "submitted")
    services.add_change_request(toolkit, "context", "team", "Name each role.", reviewer_user)
    return reload(toolkit)


def reload(toolkit: Toolkit) -> Toolkit:
    db.session.expire_all()
    return db.session.get(Toolkit, toolkit.id)


def the_request() -> ChangeRequest:
    db.session.expire_all()
    return db.session.query(ChangeRequest).order_by(ChangeRequest.id).first()


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return db.session.query(AuditEvent).filter_by(action=action).order_by(AuditEvent.id).all()


def work_done() -> tuple:
    """Everything a reviewer's action could change, to show a refused one changed nothing."""
    db.session.expire_all()
    toolkit = db.session.query(Toolkit).one()
    return (
        toolkit.state,
        toolkit.assigned_reviewer_id,
        db.session.query(StepVerdict).count(),
        [(r.id, r.status) for r in db.session.query(ChangeRequest).order_by(ChangeRequest.id)],
        db.session.query(AuditEvent).filter_by(object_type="toolkit").count(),
    )


# --- the rule ---------------------------------------------------------------------------------


def claim(user_id=2, role="reviewer", state="in_review", holder_id=1) -> claims.Claim:
    return claims.Claim(user_id=user_id, role=role, state=state, holder_id=holder_id)


def test_only_the_holder_may_decide_and_admins_never_do():
    assert claims.refusal("decide", claim(user_id=1)) is None
    assert claims.refusal("decide", claim(user_id=2)) == "held"
    assert claims.refusal("decide", claim(holder_id=None)) == "not_held"
    assert claims.refusal("decide", claim(role="admin")) == "role"
    assert claims.refusal("decide", claim(user_id=1, state="submitted")) == "state"
    for role in ("staff", "coach"):
        assert claims.refusal("decide", claim(role=role, user_id=1)) == "role"


def test_claiming_is_for_toolkits_nobody_else_holds():
    assert claims.refusal("claim", claim(state="submitted", holder_id=None)) is None
    assert claims.refusal("claim", claim(state="submitted", holder_id=2)) is None
    assert claims.refusal("claim", claim(state="submitted")) == "held"
    assert claims.refusal("start", claim(state="submitted")) == "held"
    assert claims.refusal("start", claim(state="in_review", holder_id=None)) == "state"
    assert claims.refusal("take_over", claim()) is None
    assert claims.refusal("take_over", claim(user_id=1)) == "yours"
    assert claims.refusal("take_over", claim(holder_id=None)) == "not_held"
    assert claims.refusal("take_over", claim(role="admin")) == "role"
    assert claims.refusal("release", claim()) == "held"
    assert claims.refusal("release", claim(role="admin")) is None
    assert claims.refusal("reassign", claim(role="admin")) is None
    assert claims.refusal("reassign", claim()) == "role"


# --- a second reviewer is refused, in the service and through the route -----------------------

# (name, service call, route call) for each action a non-holder must not take.
Action = tuple[str, Callable, Callable]


def _actions(second) -> list[Action]:  # noqa: ANN001
    def decide(choice: str) -> Action:
        return (
            f"decide {choice}",
            lambda t: services.decide(t, choice, second, "in_review", "A reason."),
            lambda c, t: c.post(
                f"/review/toolkits/{t.id}/decision",
                data={"decision": choice, "reason": "A reason.", "expected_state": "in_review"},
            ),
        )

    return [
        (
            "verdict",
            lambda t: services.set_verdict(t, "context", "meets", second),
            lambda c, t: c.post(
                f"/review/toolkits/{t.id}/steps/context/verdict", data={"verdict": "meets"}
            ),
        ),
        (
            "request",
            lambda t: services.add_change_request(t, "outcomes", "", "Say more.", second),
            lambda c, t: c.post(
                f"/review/toolkits/{t.id}/requests",
                data={"step_key": "outcomes", "target": "", "body": "Say more."},
            ),
        ),
        (
            "close request",
            lambda t: services.close_request(the_request(), t, second),
            lambda c, t: c.post(f"/review/requests/{the_request().id}/close"),
        ),
        decide("approve"),
        decide("request_changes"),
        decide("not_approve"),
        (
            "assign to self",
            lambda t: services.assign(t, second, second),
            lambda c, t: c.post(
                f"/review/toolkits/{t.id}/assign", data={"reviewer_id": str(second.id)}
            ),
        ),
        (
            "release",
            lambda t: services.release(t, second, "in_review"),
            lambda c, t: c.post(
                f"/review/toolkits/{t.id}/release", data={"expected_state": "in_review"}
            ),
        ),
    ]


ACTION_NAMES = [
    "verdict",
    "request",
    "close request",
    "decide approve",
    "decide request_changes",
    "decide not_approve",
    "assign to self",
    "release",
]


@pytest.mark.parametrize("name", ACTION_NAMES)
def test_a_second_reviewer_is_refused_in_the_service(name, toolkit, second_reviewer_user):
    _, call, _ = next(a for a in _actions(second_reviewer_user) if a[0] == name)
    before = work_done()
    with pytest.raises(services.WorkflowError) as refused:
        call(toolkit)
    assert refused.value.status == 409 and refused.value.code == "held"
    assert refused.value.params["holder"] == "Riley Reviewer"
    assert work_done() == before


@pytest.mark.parametrize("name", ACTION_NAMES)
def test_a_second_reviewer_is_refused_through_the_route(
    name, as_user, toolkit, second_reviewer_user
):
    _, _, post = next(a for a in _actions(second_reviewer_user) if a[0] == name)
    client = as_user(second_reviewer_user)
    before = work_done()
    response = post(client, toolkit)
    assert response.status_code == 409
    assert "Riley Reviewer is reviewing this toolkit" in response.get_data(as_text=True)
    assert work_done() == before


def test_a_second_reviewer_cannot_start_a_toolkit_another_holds(
    as_user, staff_user, reviewer_user, second_reviewer_user, toolkit
):
    """After changes and a resubmission the toolkit stays with the reviewer who asked for them."""
    services.decide(toolkit, "request_changes", reviewer_user, "in_review")
    request = the_request()
    services.respond_to_request(request, reload(toolkit), staff_user, "Done.", addressed=True)
    services.submit(reload(toolkit), staff_user, "changes_requested")
    toolkit = reload(toolkit)
    assert (toolkit.state, toolkit.assigned_reviewer_id) == ("submitted", reviewer_user.id)
    client = as_user(second_reviewer_user)
    response = client.post(
        f"/review/toolkits/{toolkit.id}/claim", data={"expected_state": "submitted"}
    )
    assert response.status_code == 409
    assert reload(toolkit).state == "submitted"
    page = client.get(f"/review/toolkits/{toolkit.id}").get_data(as_text=True)
    assert "Start reviewing" not in page and "Take over this review" in page


def test_a_reviewer_may_assign_an_unclaimed_toolkit_to_themself(
    as_user, staff_user, reviewer_user, second_reviewer_user, cycle, catalog
):
    toolkit = make_toolkit(staff_user.municipality, cycle, catalog["5.4"], staff_user)
    fill_completely(toolkit, staff_user)
    services.submit(toolkit, staff_user, "draft")
    client = as_user(second_reviewer_user)
    other = client.post(
        f"/review/toolkits/{toolkit.id}/assign", data={"reviewer_id": str(reviewer_user.id)}
    )
    assert other.status_code == 403
    mine = client.post(
        f"/review/toolkits/{toolkit.id}/assign", data={"reviewer_id": str(second_reviewer_user.id)}
    )
    assert mine.status_code == 303
    assert reload(toolkit).assigned_reviewer_id == second_reviewer_user.id


def test_comments_stay_open_to_every_reviewer(as_user, toolkit, second_reviewer_user):
    client = as_user(second_reviewer_user)
    response = client.post(
        f"/review/toolkits/{toolkit.id}/comments",
        data={"step_key": "context", "body": "Advice from a colleague.", "visibility": "internal"},
    )
    assert response.status_code == 303
    assert db.session.query(ReviewComment).one().author_id == second_reviewer_user.id


# --- what each reviewer sees ------------------------------------------------------------------


def test_a_non_holder_sees_who_holds_it_and_no_decision_controls(
    as_user, toolkit, second_reviewer_user
):
    client = as_user(second_reviewer_user)
    page = client.get(f"/review/toolkits/{toolkit.id}").get_data(as_text=True)
    assert "Reviewed by Riley Reviewer since" in page
    assert "Take over this review" in page
    for control in ("Record decision", "Save verdict", "Add change request", "Close this request"):
        assert control not in page, control
    assert "Add comment" in page
    queue = client.get("/review/queue").get_data(as_text=True)
    assert "Riley Reviewer" in queue and "since" in queue


def test_the_holder_sees_the_decision_controls_and_no_take_over(
    as_user, toolkit, reviewer_user
):
    page = as_user(reviewer_user).get(f"/review/toolkits/{toolkit.id}").get_data(as_text=True)
    assert "You have been reviewing this toolkit since" in page
    for control in ("Record decision", "Save verdict", "Add change request", "Close this request"):
        assert control in page, control
    assert "Take over this review" not in page


# --- taking over ------------------------------------------------------------------------------


def test_taking_over_is_audited_emails_nobody_and_locks_out_the_first_reviewer(
    as_user, client, toolkit, reviewer_user, second_reviewer_user
):
    emails_before = db.session.query(OutboxMessage).count()  # the submission's, to the reviewers
    second = as_user(second_reviewer_user)
    response = second.post(
        f"/review/toolkits/{toolkit.id}/take-over",
        data={
            "confirm": "y",
            "reason": "Riley is away this month.",
            "expected_reviewer_id": str(reviewer_user.id),
        },
    )
    assert response.status_code == 303
    assert reload(toolkit).assigned_reviewer_id == second_reviewer_user.id
    (event,) = events("toolkit.review_taken_over")
    assert event.actor_id == second_reviewer_user.id
    assert event.details["from_reviewer_id"] == reviewer_user.id
    assert event.details["to_reviewer_id"] == second_reviewer_user.id
    assert event.details["reason"] == "Riley is away this month."
    assert db.session.query(OutboxMessage).count() == emails_before
    history = second.get(f"/review/toolkits/{toolkit.id}").get_data(as_text=True)
    assert "Sam Reviewer took over the review from Riley Reviewer." in history
    second.post("/sign-out")

    first = as_user(reviewer_user)
    refused = first.post(
        f"/review/toolkits/{toolkit.id}/steps/context/verdict", data={"verdict": "meets"}
    )
    assert refused.status_code == 409
    assert "Sam Reviewer is reviewing this toolkit" in refused.get_data(as_text=True)
    first.post("/sign-out")

    second = as_user(second_reviewer_user)
    approved = second.post(
        f"/review/toolkits/{toolkit.id}/decision",
        data={"decision": "approve", "expected_state": "in_review"},
    )
    assert approved.status_code == 303
    assert reload(toolkit).state == "approved"


def test_taking_over_needs_the_confirmation_and_keeps_the_reason_typed(
    as_user, toolkit, reviewer_user, second_reviewer_user
):
    client = as_user(second_reviewer_user)
    response = client.post(
        f"/review/toolkits/{toolkit.id}/take-over", data={"reason": "Riley asked me to."}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Check the box to confirm you take over this review." in html
    assert "Riley asked me to.</textarea>" in html
    assert reload(toolkit).assigned_reviewer_id == reviewer_user.id


def test_taking_over_from_a_stale_page_is_refused(
    as_user, toolkit, reviewer_user, admin_user, second_reviewer_user, password_hash
):
    """The page showed Riley as the holder; an admin gave the toolkit to Jo meanwhile."""
    third = make_user("reviewer", "jo.reviewer@sct.test", password_hash)
    services.assign(toolkit, third, admin_user)
    client = as_user(second_reviewer_user)
    response = client.post(
        f"/review/toolkits/{toolkit.id}/take-over",
        data={"confirm": "y", "expected_reviewer_id": str(reviewer_user.id)},
    )
    assert response.status_code == 409
    assert reload(toolkit).assigned_reviewer_id == third.id


def test_the_holder_and_admins_cannot_take_over(as_user, toolkit, reviewer_user, admin_user):
    for user, status in ((reviewer_user, 409), (admin_user, 403)):
        client = as_user(user)
        response = client.post(f"/review/toolkits/{toolkit.id}/take-over", data={"confirm": "y"})
        assert response.status_code == status
        client.post("/sign-out")
    with pytest.raises(services.WorkflowError) as refused:
        services.take_over(toolkit, admin_user, None)
    assert refused.value.status == 403
    assert events("toolkit.review_taken_over") == []


# --- admins -----------------------------------------------------------------------------------


def test_an_admin_reassigns_and_releases_but_does_not_decide(
    as_user, toolkit, reviewer_user, second_reviewer_user, admin_user
):
    client = as_user(admin_user)
    response = client.post(
        f"/review/toolkits/{toolkit.id}/assign", data={"reviewer_id": str(second_reviewer_user.id)}
    )
    assert response.status_code == 303
    assert reload(toolkit).assigned_reviewer_id == second_reviewer_user.id
    (event,) = events("toolkit.assigned")
    assert event.details["from_reviewer_id"] == reviewer_user.id
    assert event.details["reviewer_id"] == second_reviewer_user.id
    decision = client.post(
        f"/review/toolkits/{toolkit.id}/decision",
        data={"decision": "approve", "expected_state": "in_review"},
    )
    assert decision.status_code == 403
    release = client.post(
        f"/review/toolkits/{toolkit.id}/release", data={"expected_state": "in_review"}
    )
    assert release.status_code == 303
    toolkit = reload(toolkit)
    assert (toolkit.state, toolkit.assigned_reviewer_id) == ("submitted", None)


def test_a_toolkit_in_review_that_an_admin_left_without_reviewer_can_be_picked_up(
    as_user, toolkit, admin_user, second_reviewer_user
):
    services.assign(toolkit, None, admin_user)
    client = as_user(second_reviewer_user)
    page = client.get(f"/review/toolkits/{toolkit.id}").get_data(as_text=True)
    assert "Review this toolkit" in page and "Record decision" not in page
    refused = client.post(
        f"/review/toolkits/{toolkit.id}/steps/context/verdict", data={"verdict": "meets"}
    )
    assert refused.status_code == 409
    assert "Nobody is reviewing this toolkit yet." in refused.get_data(as_text=True)
    picked = client.post(
        f"/review/toolkits/{toolkit.id}/assign", data={"reviewer_id": str(second_reviewer_user.id)}
    )
    assert picked.status_code == 303
    page = client.get(f"/review/toolkits/{toolkit.id}").get_data(as_text=True)
    assert "Record decision" in page and "Review this toolkit" not in page


# --- staff and coaches ------------------------------------------------------------------------


def _every_review_post(toolkit: Toolkit, request_id: int) -> list[tuple[str, dict]]:
    base = f"/review/toolkits/{toolkit.id}"
    return [
        (f"{base}/claim", {"expected_state": "in_review"}),
        (f"{base}/release", {"expected_state": "in_review"}),
        (f"{base}/take-over", {"confirm": "y"}),
        (f"{base}/assign", {"reviewer_id": "1"}),
        (f"{base}/steps/context/verdict", {"verdict": "meets"}),
        (f"{base}/comments", {"step_key": "context", "body": "Hi", "visibility": "town"}),
        (f"{base}/requests", {"step_key": "context", "body": "Change it."}),
        (f"/review/requests/{request_id}/close", {}),
        (f"{base}/decision", {"decision": "approve", "expected_state": "in_review"}),
    ]


@pytest.mark.parametrize("role", ["staff_user", "coach_user"])
def test_staff_and_coaches_are_refused_every_review_action(request, as_user, toolkit, role):
    user = request.getfixturevalue(role)
    client = as_user(user)
    before = work_done()
    for url, data in _every_review_post(toolkit, the_request().id):
        assert client.post(url, data=data).status_code == 403, url
    assert work_done() == before
    for call in (
        lambda: services.set_verdict(toolkit, "context", "meets", user),
        lambda: services.take_over(toolkit, user, None),
        lambda: services.assign(toolkit, user, user),
        lambda: services.decide(toolkit, "approve", user, "in_review"),
        lambda: services.close_request(the_request(), toolkit, user),
    ):
        with pytest.raises(services.WorkflowError) as refused:
            call()
        assert refused.value.status == 403


# --- hostile values ---------------------------------------------------------------------------


def test_a_nul_byte_in_a_comment_is_refused_and_never_stored(
    as_user, toolkit, second_reviewer_user
):
    with pytest.raises(services.WorkflowError) as refused:
        services.add_comment(toolkit, "context", "bad\x00text", "town", second_reviewer_user)
    assert refused.value.status == 422 and refused.value.code == "control_characters"
    client = as_user(second_reviewer_user)
    response = client.post(
        f"/review/toolkits/{toolkit.id}/comments",
        data={"step_key": "context", "body": "bad\x00text", "visibility": "town"},
    )
    assert 400 <= response.status_code < 500
    assert db.session.query(ReviewComment).count() == 0


def test_a_comment_over_5000_characters_is_refused_whole_and_kept_in_the_page(
    as_user, toolkit, second_reviewer_user
):
    text = "word " * 1200  # 6000 characters
    client = as_user(second_reviewer_user)
    response = client.post(
        f"/review/toolkits/{toolkit.id}/comments",
        data={"step_key": "context", "body": text, "visibility": "internal"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Use 5000 characters or fewer. You have 5999." in html
    assert text.strip() + "</textarea>" in html
    assert 'id="vis-context-internal" name="visibility" value="internal" checked' in html
    assert db.session.query(ReviewComment).count() == 0
    with pytest.raises(services.WorkflowError) as refused:
        services.add_comment(toolkit, "context", "x" * 5001, "town", second_reviewer_user)
    assert refused.value.code == "too_long"


def test_a_long_reason_and_an_unknown_decision_are_refused_and_the_reason_kept(
    as_user, toolkit, reviewer_user
):
    client = as_user(reviewer_user)
    reason = "r" * 2001
    long = client.post(
        f"/review/toolkits/{toolkit.id}/decision",
        data={"decision": "not_approve", "reason": reason, "expected_state": "in_review"},
    )
    html = long.get_data(as_text=True)
    assert long.status_code == 422
    assert "Use 2000 characters or fewer. You have 2001." in html
    assert reason + "</textarea>" in html
    assert 'value="not_approve" checked' in html
    unknown = client.post(
        f"/review/toolkits/{toolkit.id}/decision",
        data={"decision": "approve_everything", "expected_state": "in_review"},
    )
    assert unknown.status_code == 422 and "Choose a decision." in unknown.get_data(as_text=True)
    assert reload(toolkit).state == "in_review"


def test_an_unknown_verdict_is_a_422(as_user, toolkit, reviewer_user):
    client = as_user(reviewer_user)
    response = client.post(
        f"/review/toolkits/{toolkit.id}/steps/context/verdict", data={"verdict": "superb"}
    )
    assert response.status_code == 422
    assert "Choose a verdict for this step." in response.get_data(as_text=True)
    assert db.session.query(StepVerdict).count() == 0


def test_a_reviewer_id_that_cannot_be_one_is_a_422(as_user, toolkit, admin_user, reviewer_user):
    client = as_user(admin_user)
    for value in (HUGE, "-1", "0", "1e999999", "[]", "null", "1.5", "٣"):
        response = client.post(
            f"/review/toolkits/{toolkit.id}/assign", data={"reviewer_id": value}
        )
        assert response.status_code == 422, value
        assert "Choose a reviewer from the list." in response.get_data(as_text=True), value
    unknown = client.post(f"/review/toolkits/{toolkit.id}/assign", data={"reviewer_id": "99999"})
    assert unknown.status_code == 422
    assert "Choose an active reviewer." in unknown.get_data(as_text=True)
    assert reload(toolkit).assigned_reviewer_id == reviewer_user.id


def test_query_numbers_out_of_range_are_absent_on_the_queue_and_404_for_revisions(
    as_user, toolkit, reviewer_user
):
    client = as_user(reviewer_user)
    for query in (
        f"town={HUGE}",
        f"category={HUGE}",
        f"age={HUGE}",
        "age=999999999",
        "age=-5",
        "age=1e999",
        "town=abc",
        "status=nonsense",
    ):
        response = client.get(f"/review/queue?{query}")
        assert response.status_code == 200, query
        assert "Windham: 3.4" in response.get_data(as_text=True), query
    base = f"/review/toolkits/{toolkit.id}"
    for url in (
        f"{base}?revision={HUGE}",
        f"{base}?revision=-1",
        f"{base}?revision=1e9",
        f"{base}?revision=99",
        f"{base}/changes?since={HUGE}",
        f"{base}/changes?to={HUGE}",
        f"{base}/changes?since=-1",
        f"{base}/changes?to=x",
    ):
        assert client.get(url).status_code == 404, url
    assert client.get(f"{base}?revision=1").status_code == 200


def test_a_made_up_expected_state_is_a_422(as_user, toolkit, reviewer_user):
    client = as_user(reviewer_user)
    response = client.post(
        f"/review/toolkits/{toolkit.id}/release", data={"expected_state": "x" * 300}
    )
    assert response.status_code == 422
    assert "This page is out of date." in response.get_data(as_text=True)
    assert reload(toolkit).state == "in_review"
