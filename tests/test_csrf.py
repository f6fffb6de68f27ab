"""Every state-changing route refuses a request without a CSRF token."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.helpers import example_url_args, sign_in_with_csrf

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def test_every_state_changing_route_rejects_missing_csrf_token(
    csrf_app, client, admin_user, town
):
    assert sign_in_with_csrf(client, admin_user.email, PASSWORD).status_code == 303
    checked = 0
    with csrf_app.test_request_context():
        rules = list(csrf_app.url_map.iter_rules())
    for rule in rules:
        for method in sorted(rule.methods & STATE_CHANGING):
            with csrf_app.test_request_context():
                url = rule.build(example_url_args(rule, {"slug": town.slug}))[1]
            response = client.open(url, method=method, data={"anything": "x"})
            assert response.status_code == 400, (rule.rule, method, response.status_code)
            assert "could not be sent" in response.get_data(as_text=True)
            checked += 1
    assert checked >= 3


def test_sign_in_without_csrf_token_is_refused(csrf_app, client, staff_user):
    response = client.post("/sign-in", data={"email": staff_user.email, "password": PASSWORD})
    assert response.status_code == 400


def test_sign_in_with_csrf_token_works(csrf_app, client, staff_user):
    assert sign_in_with_csrf(client, staff_user.email, PASSWORD).status_code == 303
