"""Signing in and out."""

from __future__ import annotations

import pytest
from flask import session

from sct_forms.admin.services import reset_password
from sct_forms.auth.services import safe_next_url
from sct_forms.extensions import db
from sct_forms.models import AuditEvent, SignInFailure
from tests.conftest import PASSWORD, sign_in

GENERIC_ERROR = "The email address or password is not right"


@pytest.mark.parametrize(
    ("role_fixture", "landing"),
    [
        ("staff_user", "/towns/windham"),
        ("reviewer_user", "/review/queue"),
        ("coach_user", "/coaching/towns"),
        ("admin_user", "/admin/"),
    ],
)
def test_each_role_lands_on_its_own_page(request, client, cycle, role_fixture, landing):
    user = request.getfixturevalue(role_fixture)
    response = sign_in(client, user)
    assert response.status_code == 303
    assert response.headers["Location"] == landing
    assert client.get(landing).status_code == 200


def test_wrong_password_gives_generic_error_and_keeps_email(client, staff_user):
    response = sign_in(client, staff_user, "wrong password!")
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert GENERIC_ERROR in html
    assert 'role="alert"' in html
    assert f'value="{staff_user.email}"' in html
    assert "wrong password!" not in html


def test_unknown_email_gets_the_same_error(client, staff_user):
    response = client.post("/sign-in", data={"email": "nobody@x.test", "password": "whatever"})
    assert response.status_code == 401
    assert GENERIC_ERROR in response.get_data(as_text=True)


def test_email_is_matched_without_regard_to_case(client, staff_user):
    response = client.post(
        "/sign-in", data={"email": staff_user.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 303


def test_empty_form_shows_what_to_fill_in(client):
    response = client.post("/sign-in", data={"email": "", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter your email address." in html
    assert "Enter your password." in html


def test_successful_sign_in_keeps_failures_and_is_audited(client, staff_user):
    sign_in(client, staff_user, "not it at all")
    assert sign_in(client, staff_user).status_code == 303
    assert db.session.query(SignInFailure).count() == 1  # the trace of a guess stays
    event = db.session.query(AuditEvent).filter_by(action="user.signed_in").one()
    assert event.actor_id == staff_user.id


def test_inactive_account_cannot_sign_in(client, staff_user):
    staff_user.active = False
    db.session.commit()
    assert sign_in(client, staff_user).status_code == 401


def test_sign_in_starts_a_fresh_session(client, staff_user):
    with client.session_transaction() as sess:
        sess["planted"] = "by someone else"
    sign_in(client, staff_user)
    with client.session_transaction() as sess:
        assert "planted" not in sess


def test_sign_out_ends_the_session(client, staff_user, cycle):
    sign_in(client, staff_user)
    response = client.post("/sign-out")
    assert response.status_code == 303
    assert client.get("/towns/windham").status_code == 302


def test_password_reset_ends_other_sessions(client, staff_user, cycle):
    sign_in(client, staff_user)
    assert client.get("/towns/windham").status_code == 200
    reset_password(staff_user)
    db.session.commit()
    assert client.get("/towns/windham").status_code == 302


def test_next_takes_the_user_back_to_the_page_asked_for(client, staff_user, cycle):
    response = client.get("/towns/windham")
    assert response.headers["Location"].startswith("/sign-in?next=")
    response = client.post(
        "/sign-in?next=/towns/windham?cycle=1",
        data={"email": staff_user.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/towns/windham?cycle=1"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", ""],
)
def test_next_never_leaves_the_site(client, staff_user, target):
    response = client.post(
        "/sign-in",
        query_string={"next": target},
        data={"email": staff_user.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/towns/windham"
    assert safe_next_url(target) is None


@pytest.mark.parametrize(
    "query",
    [
        "next=/%0D%0ASet-Cookie:x",
        "next=/towns%0Awindham",
        "next=/%09towns",
        "next=/%250D%250ASet-Cookie:x",
        "next=/%25250D%25250A",
    ],
)
def test_next_with_control_characters_lands_on_the_role_page(client, staff_user, query):
    response = client.post(
        f"/sign-in?{query}", data={"email": staff_user.email, "password": PASSWORD}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/towns/windham"
    assert "Set-Cookie: x" not in str(response.headers) and "x=" not in str(response.headers)


@pytest.mark.parametrize(
    "target", ["/\r\nSet-Cookie:x", "/a\tb", "/a\x00", "/a\x85", "/%0d%0a", "/%2509", "/a%7F"]
)
def test_safe_next_url_refuses_control_characters_typed_or_encoded(target):
    assert safe_next_url(target) is None


@pytest.mark.parametrize("target", ["/towns/windham?cycle=1", "/review/queue#top", "/a%20b"])
def test_safe_next_url_keeps_ordinary_paths(target):
    assert safe_next_url(target) == target


def test_a_refused_page_is_audited(client, staff_user):
    sign_in(client, staff_user)
    assert client.get("/admin/").status_code == 403
    event = db.session.query(AuditEvent).filter_by(action="access.denied").one()
    assert event.actor_id == staff_user.id
    assert event.details["path"] == "/admin/" and event.details["method"] == "GET"


def test_a_missing_page_is_not_audited(client, staff_user):
    sign_in(client, staff_user)
    assert client.get("/no-such-page").status_code == 404
    assert db.session.query(AuditEvent).filter(AuditEvent.action.like("access.%")).count() == 0


def test_a_refused_csrf_token_is_audited(app, client, staff_user):
    sign_in(client, staff_user)
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/sign-out").status_code == 400
    event = db.session.query(AuditEvent).filter_by(action="access.csrf_refused").one()
    assert event.actor_id == staff_user.id
    assert event.details["path"] == "/sign-out" and event.details["method"] == "POST"


def test_signed_in_user_visiting_sign_in_goes_home(client, reviewer_user):
    sign_in(client, reviewer_user)
    assert client.get("/sign-in").headers["Location"] == "/review/queue"


def test_session_language_survives_sign_in(app, client, staff_user):
    with client.session_transaction() as sess:
        sess["language"] = "en"
    sign_in(client, staff_user)
    with client.session_transaction() as sess:
        assert sess.get("language") == "en"
    with app.test_request_context():
        assert session.get("language") is None
