"""Every route is closed to people who should not use it."""

from __future__ import annotations

import pytest

from tests.helpers import example_url_args

# Endpoints open without signing in.
PUBLIC_ENDPOINTS = {
    "static",
    "auth.sign_in",
    "auth.choose_language",
    "auth.sign_out",
    # A step page whose session ended signs in again in place, with a token for the new session.
    "auth.fresh_csrf_token",
    "certificates.verify",
    "certificates.verify_lookup",
    # The towns holding a valid certificate, each linked to its public check.
    "certified_towns.index",
    # A forgotten password and an invitation are used signed out; the links carry a secret.
    "account.forgot_password",
    "account.reset_link_sent",
    "account.reset_password",
    "account.accept_invitation",
    # Load balancers and process managers ask these without signing in.
    "health.healthz",
    "health.readyz",
}


def _rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint not in PUBLIC_ENDPOINTS]


def test_every_private_route_sends_anonymous_visitors_to_sign_in(app, client, town):
    checked = 0
    with app.test_request_context():
        for rule in _rules(app):
            url = rule.build(example_url_args(rule, {"slug": town.slug}))[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method)
                assert response.status_code in (302, 401, 403), (rule.rule, method)
                if response.status_code == 302:
                    assert response.headers["Location"].startswith("/sign-in"), rule.rule
                checked += 1
    assert checked >= 5


def test_public_pages_answer_anonymous_visitors(client):
    assert client.get("/sign-in").status_code == 200
    assert client.get("/healthz").status_code == 200
    # Not a sign-in redirect: 503 only because the test database is not stamped by Alembic.
    assert client.get("/readyz").status_code == 503
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    response.close()


def test_staff_cannot_open_another_towns_pages(app, as_user, staff_user, other_town, cycle):
    client = as_user(staff_user)
    checked = 0
    with app.test_request_context():
        for rule in _rules(app):
            if "slug" not in rule.arguments or "GET" not in rule.methods:
                continue
            url = rule.build(example_url_args(rule, {"slug": other_town.slug}))[1]
            assert client.get(url).status_code in (403, 404), rule.rule
            checked += 1
    assert checked >= 1


def test_staff_opens_own_town_page(as_user, staff_user, cycle):
    assert as_user(staff_user).get(f"/towns/{staff_user.municipality.slug}").status_code == 200


@pytest.mark.parametrize(
    ("role_fixture", "url", "status"),
    [
        ("staff_user", "/review/queue", 403),
        ("staff_user", "/admin/", 403),
        ("staff_user", "/coaching/towns", 403),
        ("reviewer_user", "/admin/", 403),
        ("reviewer_user", "/review/queue", 200),
        ("coach_user", "/review/queue", 403),
        ("coach_user", "/admin/", 403),
        ("admin_user", "/admin/", 200),
        ("admin_user", "/review/queue", 200),
    ],
)
def test_role_pages_are_for_their_roles(request, as_user, cycle, role_fixture, url, status):
    user = request.getfixturevalue(role_fixture)
    assert as_user(user).get(url).status_code == status


def test_coach_sees_assigned_town_but_not_others(as_user, coach_user, town, other_town, cycle):
    client = as_user(coach_user)
    assert client.get(f"/towns/{town.slug}").status_code == 200
    assert client.get(f"/towns/{other_town.slug}").status_code == 404


def test_reviewer_and_admin_see_every_town(as_user, reviewer_user, admin_user, other_town, cycle):
    client = as_user(reviewer_user)
    assert client.get(f"/towns/{other_town.slug}").status_code == 200
    client.post("/sign-out")
    assert as_user(admin_user).get(f"/towns/{other_town.slug}").status_code == 200
