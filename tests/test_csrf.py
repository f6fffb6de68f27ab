"""Every state-changing route refuses a request without a CSRF token."""

from __future__ import annotations

import pytest

from sct_forms.extensions import db
from sct_forms.models import AuditEvent
from tests.conftest import PASSWORD
from tests.helpers import example_url_args, sign_in_with_csrf
from tests.toolkit_helpers import make_toolkit

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def test_every_state_changing_route_rejects_missing_csrf_token(
    csrf_app, client, staff_user, town, cycle, catalog
):
    toolkit = make_toolkit(town, cycle, catalog["3.4"], staff_user)
    assert sign_in_with_csrf(client, staff_user.email, PASSWORD).status_code == 303
    values = {"slug": town.slug, "toolkit_id": toolkit.id, "step_key": "context"}
    checked = 0
    with csrf_app.test_request_context():
        rules = list(csrf_app.url_map.iter_rules())
    for rule in rules:
        for method in sorted(rule.methods & STATE_CHANGING):
            with csrf_app.test_request_context():
                url = rule.build(example_url_args(rule, values))[1]
            response = client.open(url, method=method, data={"goals": "x", "base_version": 0})
            assert response.status_code == 400, (rule.rule, method, response.status_code)
            html = response.get_data(as_text=True)
            # An error page, the step page keeping the text, or the autosave's status line.
            said = ("could not be sent", "not saved yet", "Not saved yet: this page was open")
            assert any(words in html for words in said), rule.rule
            checked += 1
    assert toolkit.step_answers("context").data == {}
    assert checked >= 3


def test_sign_in_without_csrf_token_is_refused(csrf_app, client, staff_user):
    response = client.post("/sign-in", data={"email": staff_user.email, "password": PASSWORD})
    assert response.status_code == 400


def test_sign_in_with_csrf_token_works(csrf_app, client, staff_user):
    assert sign_in_with_csrf(client, staff_user.email, PASSWORD).status_code == 303


def test_a_step_save_without_a_valid_token_keeps_the_text_and_is_audited(
    csrf_app, client, staff_user, town, cycle, catalog
):
    toolkit = make_toolkit(town, cycle, catalog["3.4"], staff_user)
    assert sign_in_with_csrf(client, staff_user.email, PASSWORD).status_code == 303
    response = client.post(
        f"/toolkits/{toolkit.id}/steps/context",
        data={"goals": "Typed before the token ran out", "base_version": 0, "csrf_token": "old"},
    )
    assert response.status_code == 400
    assert "Typed before the token ran out" in response.get_data(as_text=True)
    refused = db.session.query(AuditEvent).filter_by(action="access.csrf_refused").one()
    assert refused.actor_id == staff_user.id
