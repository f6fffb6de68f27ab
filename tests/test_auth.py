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


def test_repeated_failures_throttle_the_account(app, client, staff_user):
    for _ in range(app.config["SIGNIN_MAX_FAILURES_PER_EMAIL"]):
        assert sign_in(client, staff_user, "nope nope nope").status_code == 401
    response = sign_in(client, staff_user)  # even the right password waits
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.get_data(as_text=True)


def test_many_failures_from_one_address_throttle_it(app, client, staff_user):
    app.config["SIGNIN_MAX_FAILURES_PER_IP"] = 3
    for number in range(3):
        client.post("/sign-in", data={"email": f"guess{number}@x.test", "password": "no"})
    assert sign_in(client, staff_user).status_code == 429


def test_successful_sign_in_clears_failures_and_is_audited(client, staff_user):
    sign_in(client, staff_user, "not it at all")
    assert sign_in(client, staff_user).status_code == 303
    assert db.session.query(SignInFailure).count() == 0
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
