"""Every POST goes through a form: refused input comes back on its own page with 422 and what
was typed, and each form checks its own CSRF token."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from sct_forms.admin import catalog as catalog_admin
from sct_forms.auth import tokens
from sct_forms.coaching import services as coaching
from sct_forms.extensions import db
from sct_forms.models import (
    AuditEvent,
    Certificate,
    ChangeRequest,
    CoachAssignment,
    Evidence,
    OutboxMessage,
    Toolkit,
)
from sct_forms.review import services as review
from tests.conftest import PASSWORD
from tests.evidence import samples
from tests.helpers import sign_in_with_csrf
from tests.recertification_helpers import copy_on_a_new_action, earlier_toolkit
from tests.toolkit_helpers import fill_completely, make_toolkit

NEW_PASSWORD = "lantern orchard velvet sixteen"


def changes_requested(town, cycle, action, staff_user, reviewer_user) -> ChangeRequest:
    """A submitted toolkit the reviewer sent back with one open change request."""
    toolkit = make_toolkit(town, cycle, action, staff_user)
    fill_completely(toolkit, staff_user)
    review.submit(toolkit, staff_user, "draft")
    review.start_review(toolkit, reviewer_user, "submitted")
    review.add_change_request(toolkit, "context", "team", "Name each role.", reviewer_user)
    review.decide(toolkit, "request_changes", reviewer_user, "in_review")
    return db.session.scalars(select(ChangeRequest)).one()


# --- refused input: the same page, 422, what was typed kept -----------------------------------


def test_a_malformed_action_id_is_refused_on_the_start_page(as_user, staff_user, cycle, catalog):
    response = as_user(staff_user).post(
        "/towns/windham/toolkits/new", data={"action_id": "3.4", "confirmed": "y"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<title>Error: Start an Equity Toolkit" in html
    assert '<li><a href="#action-choices">Choose an action from the list.</a></li>' in html
    assert 'id="action-choices-error">Choose an action from the list.</p>' in html
    assert '<input checked id="confirmed" name="confirmed"' in html  # the tick is kept
    assert db.session.query(Toolkit).count() == 0


def test_a_start_refused_comes_back_with_the_search_the_person_typed(
    as_user, staff_user, cycle, catalog
):
    client = as_user(staff_user)
    searched = client.get("/towns/windham/toolkits/new?q=open+space").get_data(as_text=True)
    assert '<input type="hidden" name="q" value="open space">' in searched  # inside the form
    pollinators = catalog["3.12"]
    response = client.post(  # the confirmation not ticked
        "/towns/windham/toolkits/new", data={"action_id": catalog["3.4"].id, "q": "open space"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="action-search" name="q" value="open space"' in html
    assert "1 action matches." in html and pollinators.title not in html
    assert db.session.query(Toolkit).count() == 0


def test_a_refused_answer_to_a_change_request_stays_at_its_field_with_the_tick(
    as_user, town, cycle, catalog, staff_user, reviewer_user
):
    change = changes_requested(town, cycle, catalog["3.4"], staff_user, reviewer_user)
    text = "We named every role. " * 300  # over the 5000-character limit
    response = as_user(staff_user).post(
        f"/change-requests/{change.id}/respond", data={"response": text, "addressed": "y"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'<li><a href="#response-{change.id}">Use 5000 characters or fewer.' in html
    assert f'<p class="error-message" id="response-{change.id}-error">Use 5000' in html
    assert (
        f'name="response" rows="2" aria-invalid="true" '
        f'aria-describedby="response-{change.id}-error">{text.strip()}</textarea>'
    ) in html
    tick = html.split(f'id="addressed-{change.id}"')[1].split(">")[0]
    assert "checked" in tick
    db.session.expire_all()
    stored = db.session.get(ChangeRequest, change.id)
    assert not stored.town_response and stored.status == "open"


def test_a_refused_upload_names_its_field_and_keeps_title_description_and_consent(
    as_user, staff_user, cycle, catalog
):
    toolkit = make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)
    response = as_user(staff_user).post(
        f"/toolkits/{toolkit.id}/steps/outreach/evidence",
        data={
            "file": (io.BytesIO(samples.png_bytes()), "workshop.png"),
            "title": "Workshop photo",
            "alt_text": "",
            "people_consented": "y",
        },
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = html.split('id="upload-error-summary"')[1].split("</div>")[0]
    assert '<a href="#upload-alt-text">Describe what the image shows' in summary
    assert 'id="upload-alt-text-error">Describe what the image shows' in html
    assert 'aria-describedby="upload-alt-text-hint upload-alt-text-error"' in html
    assert 'value="Workshop photo"' in html
    consent = html.split('id="upload-people-consented"')[1].split(">")[0]
    assert "checked" in consent
    assert db.session.query(Evidence).count() == 0


def test_a_language_not_offered_is_refused_and_changes_nothing(client):
    response = client.post("/language", data={"language": "fr", "next": "/sign-in"})
    assert response.status_code == 422
    assert "This page is out of date. Reload it and try again." in response.get_data(as_text=True)
    assert '<html lang="en">' in client.get("/sign-in").get_data(as_text=True)


def test_the_language_form_returns_only_to_a_page_of_this_site(client):
    response = client.post("/language", data={"language": "es", "next": "//evil.test/"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


# --- each form checks its token ---------------------------------------------------------------

# A step save refused for its token keeps the text: the step page or the autosave status says so.
TOKEN_REFUSED = (
    "The CSRF token is missing.",
    "could not be sent",
    "Your answers are not saved yet",
    "Not saved yet: this page was open a long time",
)


@pytest.fixture
def form_checks_app(app: Flask) -> Flask:
    """CSRF on, but CSRFProtect's check before every view off: only the forms check tokens."""
    app.config["WTF_CSRF_ENABLED"] = True
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    return app


def _signed_in(app: Flask, user) -> FlaskClient:  # noqa: ANN001
    client = app.test_client()
    assert sign_in_with_csrf(client, user.email, PASSWORD).status_code == 303
    return client


def _state_changes() -> list[str]:
    """Audited changes; refusals are audited too, but change nothing."""
    actions = db.session.scalars(select(AuditEvent.action)).all()
    db.session.commit()  # ends the read, so the next request may write
    return [action for action in actions if not action.startswith("access.")]


def test_every_post_form_refuses_a_request_without_its_token(
    form_checks_app,
    town,
    other_town,
    cycle,
    catalog,
    staff_user,
    reviewer_user,
    second_reviewer_user,
    admin_user,
    coach_user,
):
    app = form_checks_app
    draft = make_toolkit(town, cycle, catalog["5.4"], staff_user)
    fill_completely(draft, staff_user)
    change = changes_requested(town, cycle, catalog["3.4"], staff_user, reviewer_user)
    reviewed = change.toolkit_id
    evidence = db.session.scalars(select(Evidence).filter_by(toolkit_id=draft.id)).first()
    certificate = Certificate(
        serial="SCT-2026-TEST-0001",
        municipality_id=town.id,
        cycle_id=cycle.id,
        tier="bronze",
        expires_on=date(2028, 12, 31),
        issued_by_id=admin_user.id,
    )
    db.session.add(certificate)
    db.session.commit()
    coach_request = coaching.request_coach(
        town, staff_user, topics="Outreach.", meeting="phone", availability="Mornings."
    )
    assignment = db.session.scalars(select(CoachAssignment)).one()
    gave_up = OutboxMessage(
        kind="test.message", to_address="a@sct.test", subject="Hi", body_text="Hi.", attempts=10
    )
    db.session.add(gave_up)
    earlier = earlier_toolkit(town, catalog["3.4"], staff_user)
    earlier_file = earlier.evidence[0]
    copied = copy_on_a_new_action(town, cycle, earlier, staff_user)
    version = draft.step_answers("context").version
    catalog_preview = catalog_admin.check_upload(
        admin_user, 2026, b"number,title,category_number,required_for\n3.15,Restore Riverbanks,3,\n"
    )
    catalog["5.7"].retired_at = catalog_admin.utcnow()  # for the "Offer again" button
    links = {
        p: tokens.issue(second_reviewer_user, p, timedelta(days=1)) for p in ("reset", "invite")
    }
    db.session.commit()
    clients = {
        "anonymous": app.test_client(),
        "staff": _signed_in(app, staff_user),
        "reviewer": _signed_in(app, reviewer_user),
        "second_reviewer": _signed_in(app, second_reviewer_user),
        "admin": _signed_in(app, admin_user),
        "coach": _signed_in(app, coach_user),
    }
    new_password = {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    pdf = (io.BytesIO(samples.pdf_bytes()), "flyer.pdf")
    # endpoint: (who, address, a form that would be accepted with its token)
    posts = {
        "account.accept_invitation": ("anonymous", f"/invitation/{links['invite']}", new_password),
        "account.reset_password": ("anonymous", f"/password/reset/{links['reset']}", new_password),
        "account.change_password": (
            "staff",
            "/account/password",
            {"current_password": PASSWORD, **new_password},
        ),
        "account.forgot_password": ("anonymous", "/password/forgot", {"email": staff_user.email}),
        "auth.choose_language": ("anonymous", "/language", {"language": "es", "next": "/"}),
        "auth.sign_in": (
            "anonymous",
            "/sign-in",
            {"email": staff_user.email, "password": PASSWORD},
        ),
        "auth.sign_out": ("staff", "/sign-out", {}),
        "coaching.send_request": (
            "staff",
            f"/coaching/towns/{town.slug}/request",
            {"topics": "Outreach.", "meeting": "video", "availability": "Evenings."},
        ),
        "coaching.withdraw_request": ("staff", f"/coaching/towns/{town.slug}/request/withdraw", {}),
        "coaching.assign": (
            "admin",
            f"/coaching/requests/{coach_request.id}/assign",
            {"coach_id": coach_user.id},
        ),
        "coaching.assign_to_town": (
            "admin",
            "/coaching/assignments",
            {"town_id": other_town.id, "coach_id": coach_user.id},
        ),
        "coaching.end_assignment": ("admin", f"/coaching/assignments/{assignment.id}/end", {}),
        "coaching.comment": (
            "coach",
            f"/coaching/toolkits/{draft.id}/comments",
            {"step_key": "context", "body": "Good start."},
        ),
        "admin_outbox.retry": (
            "admin",
            f"/admin/outbox/{gave_up.id}/retry",
            {"attempts": "10", "send_after": gave_up.send_after.isoformat()},
        ),
        "admin_accounts.invite": (
            "admin",
            "/admin/accounts/invite",
            {"name": "Jo New", "email": "jo@windham.test", "role": "staff", "town": town.id},
        ),
        "admin_accounts.change_access": (
            "admin",
            f"/admin/accounts/{staff_user.id}/access",
            {"role": "reviewer", "town": ""},
        ),
        "admin_accounts.deactivate": ("admin", f"/admin/accounts/{staff_user.id}/deactivate", {}),
        "admin_accounts.reactivate": ("admin", f"/admin/accounts/{staff_user.id}/reactivate", {}),
        "admin_accounts.reinvite": ("admin", f"/admin/accounts/{staff_user.id}/invitation", {}),
        "town_team.invite": (
            "staff",
            f"/towns/{town.slug}/team/invite",
            {"name": "Jordan New", "email": "jordan@windham.test"},
        ),
        "admin_catalog.check": (
            "admin",
            "/admin/catalog/check",
            {
                "file": (io.BytesIO(b"number,title,category_number\n3.4,Plans,3\n"), "c.csv"),
                "catalog_year": "2024",
            },
        ),
        "admin_catalog.confirm": (
            "admin",
            "/admin/catalog/import",
            {
                "token": catalog_preview.token,
                "sha256": catalog_preview.sha256,
                "plan": catalog_preview.plan_sha256,
            },
        ),
        "admin_catalog.edit": (
            "admin",
            f"/admin/catalog/actions/{catalog['3.4'].id}/edit",
            {"title": "Open Space Plans", "title_es": "Planes de espacios abiertos"},
        ),
        "admin_catalog.retire": ("admin", f"/admin/catalog/actions/{catalog['3.4'].id}/retire", {}),
        "admin_catalog.unretire": (
            "admin",
            f"/admin/catalog/actions/{catalog['5.7'].id}/unretire",
            {},
        ),
        "certificates.issue": ("admin", f"/towns/{town.slug}/certificate", {"cycle": cycle.id}),
        "certificates.release": ("admin", f"/admin/cycles/{cycle.id}/certificates", {}),
        "admin_cycles.create": ("admin", "/admin/cycles/new", {"name": "2027 Spring"}),
        "admin_cycles.update": (
            "admin",
            f"/admin/cycles/{cycle.id}",
            {"name": "Renamed", "confirmation": cycle.name},
        ),
        "certificates.revoke_certificate": (
            "admin",
            f"/certificates/{certificate.serial}/revoke",
            {"reason": "Issued by mistake."},
        ),
        "evidence.delete": ("staff", f"/evidence/{evidence.id}/delete", {}),
        "evidence.upload": (
            "staff",
            f"/toolkits/{draft.id}/steps/outreach/evidence",
            {"file": pdf, "title": "Flyer"},
        ),
        "reminders.settings": ("staff", "/account/reminders", {"reminders": "off"}),
        "review.add_request": (
            "reviewer",
            f"/review/toolkits/{reviewed}/requests",
            {"step_key": "context", "target": "", "body": "Say who leads."},
        ),
        "review.assign": (
            "admin",
            f"/review/toolkits/{reviewed}/assign",
            {"reviewer_id": second_reviewer_user.id},
        ),
        "review.claim": (
            "reviewer",
            f"/review/toolkits/{reviewed}/claim",
            {"expected_state": "changes_requested"},
        ),
        "review.close_request": ("reviewer", f"/review/requests/{change.id}/close", {}),
        "review.comment": (
            "reviewer",
            f"/review/toolkits/{reviewed}/comments",
            {"step_key": "context", "body": "Thank you.", "visibility": "town"},
        ),
        "review.decision": (
            "reviewer",
            f"/review/toolkits/{reviewed}/decision",
            {"decision": "approve", "expected_state": "changes_requested"},
        ),
        "review.release": (
            "reviewer",
            f"/review/toolkits/{reviewed}/release",
            {"expected_state": "changes_requested"},
        ),
        "review.take_over": (
            "second_reviewer",
            f"/review/toolkits/{reviewed}/take-over",
            {"expected_reviewer_id": reviewer_user.id, "confirm": "y", "reason": "Away."},
        ),
        "review.verdict": (
            "reviewer",
            f"/review/toolkits/{reviewed}/steps/context/verdict",
            {"verdict": "meets"},
        ),
        "submission.reopen": ("staff", f"/toolkits/{draft.id}/reopen", {"expected_state": "draft"}),
        "submission.respond": (
            "staff",
            f"/change-requests/{change.id}/respond",
            {"response": "Done.", "addressed": "y"},
        ),
        "submission.submit": ("staff", f"/toolkits/{draft.id}/submit", {"expected_state": "draft"}),
        "submission.withdraw": (
            "staff",
            f"/toolkits/{draft.id}/withdraw",
            {"expected_state": "draft"},
        ),
        "toolkits.start": (
            "staff",
            f"/towns/{town.slug}/toolkits/new",
            {"action_id": catalog["3.12"].id, "confirmed": "y"},
        ),
        "toolkits.start_action": ("staff", f"/towns/{town.slug}/actions/equity-training/start", {}),
        "recertification.copy": (
            "staff",
            f"/towns/{town.slug}/toolkits/copy/{earlier.id}",
            {"action_id": catalog["3.12"].id, "confirmed": "y"},
        ),
        "recertification.attach": (
            "staff",
            f"/toolkits/{copied.id}/copied/evidence/{earlier_file.id}",
            {"back": "step"},
        ),
        "toolkits.save_step": (
            "staff",
            f"/toolkits/{draft.id}/steps/context",
            {"goals": "Changed.", "base_version": version, "intent": "save"},
        ),
        "toolkits.autosave_step": (
            "staff",
            f"/toolkits/{draft.id}/steps/context/autosave",
            {"goals": "Changed.", "base_version": version},
        ),
        "toolkits.check_field": (
            "staff",
            f"/toolkits/{draft.id}/steps/context/check",
            {"field": "goals", "goals": "Changed."},
        ),
        "toolkits.resolve_conflict": (
            "staff",
            f"/toolkits/{draft.id}/steps/context/conflict",
            {"mine": '{"goals": "Changed."}', "their_version": version, "choice": "keep_mine"},
        ),
    }
    with app.test_request_context():
        post_endpoints = {r.endpoint for r in app.url_map.iter_rules() if "POST" in r.methods}
    assert post_endpoints == set(posts), "a POST route without a case here"
    before = _state_changes()
    for endpoint, (who, url, data) in posts.items():
        response = clients[who].post(url, data=data, content_type="multipart/form-data")
        html = response.get_data(as_text=True)
        assert response.status_code in (400, 422), (endpoint, response.status_code)
        assert any(words in html for words in TOKEN_REFUSED), endpoint
        assert _state_changes() == before, endpoint
