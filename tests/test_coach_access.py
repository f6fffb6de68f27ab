"""A coach reads the records of the towns assigned to them, in every state, and changes nothing;
the towns not assigned to them do not exist for them (404 on every route)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from sct_forms.domain.workflow import STATES
from sct_forms.evidence import storage
from sct_forms.extensions import db
from sct_forms.models import (
    AuditEvent,
    Certificate,
    ChangeRequest,
    CoachComment,
    Evidence,
    OutboxMessage,
    ReviewComment,
    Revision,
    StepAnswers,
    StepVerdict,
    Toolkit,
)
from sct_forms.review import services as review_services
from tests.helpers import example_url_args
from tests.toolkit_helpers import COMPLETE_ANSWERS, fill_completely, form_fields, make_toolkit

STEPS = tuple(COMPLETE_ANSWERS)
POST_FORM = re.compile(r'<form[^>]*\bmethod="post"[^>]*>', re.I)
ACTION = re.compile(r'action="([^"]*)"')


def everything() -> tuple:
    """Everything an action on a record, a review or a certificate could change."""
    db.session.expire_all()

    def count(model) -> int:  # noqa: ANN001
        return db.session.scalar(select(func.count()).select_from(model))

    return (
        [
            (t.id, t.state, t.revision_count, t.assigned_reviewer_id)
            for t in db.session.scalars(select(Toolkit).order_by(Toolkit.id))
        ],
        [
            (a.toolkit_id, a.step_key, a.version)
            for a in db.session.scalars(select(StepAnswers).order_by(StepAnswers.id))
        ],
        [
            (r.id, r.status, r.town_response)
            for r in db.session.scalars(select(ChangeRequest).order_by(ChangeRequest.id))
        ],
        *(
            count(model)
            for model in (
                Toolkit,
                Evidence,
                Revision,
                ReviewComment,
                StepVerdict,
                Certificate,
                CoachComment,
                OutboxMessage,
            )
        ),
        # Refusals are audited; nothing else may be.
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action.not_like("access.%"))
        ),
    )


@pytest.fixture
def reviewed(staff_user, reviewer_user, cycle, catalog) -> Toolkit:
    """Submitted, held by ``reviewer_user``, one change request open."""
    toolkit = make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)
    fill_completely(toolkit, staff_user)
    review_services.submit(toolkit, staff_user, "draft")
    review_services.start_review(toolkit, reviewer_user, "submitted")
    review_services.add_change_request(toolkit, "context", "team", "Name each role.", reviewer_user)
    db.session.expire_all()
    return db.session.get(Toolkit, toolkit.id)


@pytest.fixture
def draft(staff_user, cycle, catalog) -> Toolkit:
    toolkit = make_toolkit(staff_user.municipality, cycle, catalog["5.4"], staff_user)
    fill_completely(toolkit, staff_user)
    return toolkit


def post_forms(html: str) -> list[str]:
    """The addresses of the page's POST forms."""
    return [ACTION.search(tag).group(1) for tag in POST_FORM.findall(html)]


def editable_inputs(html: str) -> list[str]:
    """Text boxes without readonly and choices without disabled, other than the coach's own."""
    found = []
    for tag in re.findall(r"<(?:input|textarea|select)\b[^>]*>", html, re.I):
        if 'type="hidden"' in tag or 'id="coach-comment"' in tag:
            continue
        if 'id="language-choice"' in tag or 'name="language"' in tag:
            continue  # the page's language switch
        if "readonly" in tag or "disabled" in tag:
            continue
        found.append(tag)
    return found


# --- reading: every state, read-only ------------------------------------------------------


@pytest.mark.parametrize("state", STATES)
def test_a_coach_reads_an_assigned_towns_record_in_every_state_read_only(
    as_user, coach_user, staff_user, cycle, catalog, state
):
    toolkit = make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)
    fill_completely(toolkit, staff_user)
    toolkit.state = state
    db.session.commit()
    client = as_user(coach_user)
    own = {"/sign-out", "/language", f"/coaching/toolkits/{toolkit.id}/comments"}

    overview = client.get(f"/toolkits/{toolkit.id}")
    html = overview.get_data(as_text=True)
    assert overview.status_code == 200, state
    assert set(post_forms(html)) <= own, state
    assert editable_inputs(html) == [], state
    assert "Your advice for the town on the whole Equity Toolkit" in html

    for step_key in STEPS:
        page = client.get(f"/toolkits/{toolkit.id}/steps/{step_key}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200, (state, step_key)
        # The answers sit in the step's form, which a coach cannot send: no button, no autosave.
        assert set(post_forms(html)) <= own | {f"/toolkits/{toolkit.id}/steps/{step_key}"}
        assert 'name="intent"' not in html and "data-autosave" not in html
        assert "/evidence" not in "".join(post_forms(html))
        assert editable_inputs(html) == [], (state, step_key)
        assert "readonly" in html or "disabled" in html  # the answers are there, locked
        assert "You can read this step but not change it." in html
        assert f'value="{step_key}"' in html  # the comment form names the step


def test_a_coach_downloads_an_assigned_towns_packets_and_evidence(
    as_user, coach_user, staff_user, cycle, catalog, town
):
    toolkit = make_toolkit(town, cycle, catalog["3.4"], staff_user)
    fill_completely(toolkit, staff_user)
    evidence = db.session.scalars(select(Evidence)).first()
    evidence.storage_name = storage.store(b"%PDF-1.4 flyer")
    db.session.commit()
    client = as_user(coach_user)
    download = client.get(f"/evidence/{evidence.id}/download")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 flyer"
    download.close()
    for url in (
        f"/toolkits/{toolkit.id}/packet/preview",
        f"/toolkits/{toolkit.id}/packet",
        f"/towns/{town.slug}/packet/preview",
        f"/towns/{town.slug}/packet",
    ):
        assert client.get(url).status_code == 200, url


# --- changing: refused on every route -----------------------------------------------------


def every_state_changing_request(town, draft: Toolkit, reviewed: Toolkit, cycle) -> list:
    change = db.session.scalars(select(ChangeRequest)).one()
    evidence = db.session.scalars(select(Evidence).where(Evidence.toolkit_id == draft.id)).first()
    d, r = f"/toolkits/{draft.id}", f"/review/toolkits/{reviewed.id}"
    answers = form_fields("context", COMPLETE_ANSWERS["context"])
    return [
        # toolkits
        ("post", f"/towns/{town.slug}/toolkits/new", {"action_id": "1", "confirmed": "y"}),
        ("post", f"/towns/{town.slug}/actions/equity-training/start", {}),
        ("post", f"{d}/steps/context", {**answers, "base_version": "1", "intent": "save"}),
        ("post", f"{d}/steps/context/autosave", {**answers, "base_version": "1"}),
        ("post", f"{d}/steps/context/check", {"field": "goals", "goals": "x"}),
        ("post", f"{d}/steps/context/conflict", {"choice": "keep_mine", "mine": "{}"}),
        ("get", f"{d}/steps/affected_and_missing/rows/groups?index=1", None),
        ("post", f"{d}/submit", {"expected_state": "draft"}),
        ("post", f"{d}/withdraw", {"expected_state": "draft"}),
        ("post", f"{d}/reopen", {"expected_state": "withdrawn"}),
        ("post", f"/change-requests/{change.id}/respond", {"response": "Done", "addressed": "y"}),
        ("post", f"{d}/steps/outreach/evidence", {"title": "Flyer"}),
        ("post", f"/evidence/{evidence.id}/delete", {}),
        # review
        ("post", f"{r}/claim", {"expected_state": "in_review"}),
        ("post", f"{r}/release", {"expected_state": "in_review"}),
        ("post", f"{r}/take-over", {"confirm": "y"}),
        ("post", f"{r}/assign", {"reviewer_id": "1"}),
        ("post", f"{r}/steps/context/verdict", {"verdict": "meets"}),
        ("post", f"{r}/comments", {"step_key": "context", "body": "Hi", "visibility": "town"}),
        ("post", f"{r}/requests", {"step_key": "context", "body": "Change it."}),
        ("post", f"/review/requests/{change.id}/close", {}),
        ("post", f"{r}/decision", {"decision": "approve", "expected_state": "in_review"}),
        # certificates
        ("post", f"/towns/{town.slug}/certificate", {"cycle": str(cycle.id)}),
        ("post", "/certificates/SCT-2026-0001/revoke", {"reason": "x"}),
        ("post", f"/admin/cycles/{cycle.id}/certificates", {}),
        # the program console's cycles
        ("post", "/admin/cycles/new", {"name": "Renamed"}),
        ("post", f"/admin/cycles/{cycle.id}", {"name": "Renamed"}),
        # coaching: requests and assignments are not the coach's
        (
            "post",
            f"/coaching/towns/{town.slug}/request",
            {"topics": "x", "meeting": "phone", "availability": "x"},
        ),
        ("post", f"/coaching/towns/{town.slug}/request/withdraw", {}),
        ("post", "/coaching/requests/1/assign", {"coach_id": "1"}),
        ("post", "/coaching/assignments/1/end", {}),
        ("post", "/coaching/assignments", {"town_id": str(town.id), "coach_id": "1"}),
        # recertification and teammates are the town staff's
        ("post", f"/towns/{town.slug}/team/invite", {"name": "x", "email": "x@example.org"}),
        ("post", f"/towns/{town.slug}/toolkits/copy/{draft.id}", {"action_id": "1"}),
        ("post", f"{d}/copied/evidence/1", {}),
        # the rest of the program console is the administrators'
        ("post", "/admin/outbox/1/retry", {}),
        ("post", "/admin/catalog/check", {"catalog_year": "2024"}),
        ("post", "/admin/catalog/import", {"token": "x", "sha256": "x", "plan": "x"}),
        ("post", "/admin/catalog/actions/1/edit", {"title": "x", "title_es": "x"}),
        ("post", "/admin/catalog/actions/1/retire", {}),
        ("post", "/admin/catalog/actions/1/unretire", {}),
        ("post", "/admin/accounts/invite", {"name": "x", "email": "x@example.org"}),
        ("post", "/admin/accounts/1/access", {"role": "admin"}),
        ("post", "/admin/accounts/1/deactivate", {}),
        ("post", "/admin/accounts/1/reactivate", {}),
        ("post", "/admin/accounts/1/invitation", {}),
    ]


def test_a_coach_of_the_town_cannot_edit_submit_review_or_certify(
    as_user, coach_user, town, cycle, draft, reviewed
):
    client = as_user(coach_user)
    before = everything()
    requests = every_state_changing_request(town, draft, reviewed, cycle)
    for method, url, data in requests:
        response = client.open(url, method=method.upper(), data=data)
        assert response.status_code in (403, 404), (url, response.status_code)
        assert everything() == before, url
    assert len(requests) >= 29


def test_every_state_changing_route_is_in_the_list(app, town, cycle, draft, reviewed):
    """A new route that changes something must be added to the refusals above."""
    listed = {
        re.sub(r"\d+", "1", url.split("?")[0])
        for _method, url, _data in every_state_changing_request(town, draft, reviewed, cycle)
    }
    # A person's own account and reminder settings, and the coach's own advice, are theirs.
    exempt = {"auth.", "account.", "reminders.", "coaching.comment"}
    missing, checked = [], 0
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "POST" not in rule.methods or rule.endpoint.startswith(tuple(exempt)):
                continue
            args = example_url_args(
                rule,
                {
                    "slug": town.slug,
                    "form": "equity-training",
                    "step_key": "context",
                    "serial": "SCT-2026-0001",
                },
            )
            url = re.sub(r"\d+", "1", rule.build(args)[1])
            checked += 1
            if (
                url not in listed
                and url.replace("/steps/context/", "/steps/outreach/") not in listed
            ):
                missing.append(rule.rule)
    assert missing == []
    assert checked >= 25


# --- a town not assigned: 404 everywhere --------------------------------------------------


def test_a_town_not_assigned_answers_404_on_every_route(
    app, as_user, coach_user, other_town, other_staff_user, cycle, catalog
):
    toolkit = make_toolkit(other_town, cycle, catalog["3.4"], other_staff_user)
    fill_completely(toolkit, other_staff_user)
    evidence = db.session.scalars(select(Evidence).where(Evidence.toolkit_id == toolkit.id)).first()
    values = {
        "slug": other_town.slug,
        "toolkit_id": toolkit.id,
        "evidence_id": evidence.id,
        "step_key": "context",
        "group_key": "groups",
        "form": "equity-training",
        "number": 1,
    }
    client = as_user(coach_user)
    before = everything()
    checked = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not set(rule.arguments) & {"slug", "toolkit_id", "evidence_id"}:
                continue
            url = rule.build(example_url_args(rule, values))[1]
            for method in sorted(rule.methods & {"GET", "POST"}):
                response = client.open(url, method=method)
                assert response.status_code == 404, (method, rule.rule, response.status_code)
                checked.append((method, rule.rule))
    assert everything() == before
    assert ("GET", "/towns/<slug>") in checked and (
        "GET",
        "/coaching/towns/<slug>/request",
    ) in checked
    assert len(checked) >= 40
