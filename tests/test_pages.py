"""What each role's page shows, and error pages that keep the layout."""

from __future__ import annotations

import re
from datetime import date

from sct_forms.extensions import db
from sct_forms.models import Cycle
from tests.conftest import make_app


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_town_page_lists_cycle_dates_and_tier_rules_in_words(as_user, staff_user, cycle):
    html = text_of(as_user(staff_user).get("/towns/windham"))
    assert "Certification cycle: 2026 Fall" in html
    assert "December 31, 2026" in html  # the submission deadline
    assert "July 1, 2023" in html  # lookback start
    assert "an approved Equity Toolkit on 1 action." in html
    assert "approved Equity Toolkits on 3 different actions." in html
    assert "approved Equity Toolkits on 4 different actions, and actions 1.2 and 1.3" in html


def test_town_page_follows_the_rules_of_the_cycle_shown(as_user, staff_user, cycle):
    later = Cycle(
        name="2027 Spring",
        opens_on=date(2027, 1, 1),
        submission_deadline=date(2027, 6, 30),
        lookback_start=date(2024, 1, 1),
        catalog_year=2024,
        tier_rules_data=[{"tier": "bronze", "distinct_actions": 2, "also_required": []}],
    )
    db.session.add(later)
    db.session.commit()
    client = as_user(staff_user)
    html = text_of(client.get(f"/towns/windham?cycle={later.id}"))
    assert "approved Equity Toolkits on 2 different actions." in html
    assert "Silver" not in html.split("tier-rules")[1].split("</ul>")[0]
    assert client.get("/towns/windham?cycle=999").status_code == 404


def test_town_page_without_any_cycle_says_so(as_user, staff_user):
    html = text_of(as_user(staff_user).get("/towns/windham"))
    assert "No certification cycle is open" in html


def test_navigation_shows_only_what_the_role_may_use(as_user, staff_user, cycle):
    html = text_of(as_user(staff_user).get("/towns/windham"))
    assert "Our town" in html
    assert "Review queue" not in html and "Administration" not in html


def test_the_navigation_marks_a_place_current_only_on_that_page(
    as_user, staff_user, other_town, cycle
):
    client = as_user(staff_user)
    own = text_of(client.get("/towns/windham"))
    assert own.count('aria-current="page"') == 1
    assert re.search(r'href="/towns/windham"\s+aria-current="page">Our town<', own)
    # Refused at the same endpoint (another town) or at the same address (a cycle that does not
    # exist): an error page is not "Our town".
    for path in (f"/towns/{other_town.slug}", "/towns/windham?cycle=999999"):
        response = client.get(path)
        assert response.status_code in (403, 404), path
        assert 'aria-current="page"' not in text_of(response), path


def test_reviewer_queue_explains_an_empty_queue(as_user, reviewer_user, cycle):
    html = text_of(as_user(reviewer_user).get("/review/queue"))
    assert "Nothing is waiting for review" in html


def test_coach_page_lists_assigned_towns(as_user, coach_user, cycle):
    html = text_of(as_user(coach_user).get("/coaching/towns"))
    assert 'href="/towns/windham"' in html


def test_admin_page_lists_cycles_towns_and_users(as_user, admin_user, staff_user, cycle):
    html = text_of(as_user(admin_user).get("/admin/"))
    assert "2026 Fall" in html
    assert staff_user.email in html and "Town staff" in html
    assert 'href="/towns/windham"' in html


def test_page_has_language_title_landmarks_and_skip_link(client):
    html = text_of(client.get("/sign-in"))
    assert '<html lang="en">' in html
    assert "<title>Sign in – Sustainable CT Forms</title>" in html
    assert 'class="skip-link" href="#main"' in html
    assert '<main id="main"' in html and "<header" in html and "<footer" in html
    assert 'aria-live="polite"' in html
    assert "htmx-2.0.11.min.js" in html and "X-CSRFToken" in html


def test_not_found_page_keeps_the_layout(as_user, staff_user):
    response = as_user(staff_user).get("/no/such/page")
    html = text_of(response)
    assert response.status_code == 404
    assert "Page not found" in html and '<main id="main"' in html and "Sign out" in html


def test_forbidden_page_explains(as_user, staff_user):
    response = as_user(staff_user).get("/admin/")
    assert response.status_code == 403
    assert "You do not have access to this page" in text_of(response)


def test_htmx_request_gets_the_error_without_the_page(as_user, staff_user):
    response = as_user(staff_user).get("/admin/", headers={"HX-Request": "true"})
    html = text_of(response)
    assert response.status_code == 403
    assert "You do not have access" in html and "<html" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_too_large_request_gets_a_friendly_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/sign-in", data={"email": "x" * 5000, "password": "y"})
    assert response.status_code == 413
    assert "The file is too large" in text_of(response)


def test_server_error_page_keeps_the_layout(app, tmp_path):
    # An app of its own: the shared test app must not gain a route that fails on purpose.
    failing = make_app(tmp_path, DATABASE_URL=app.config["DATABASE_URL"])
    failing.config["PROPAGATE_EXCEPTIONS"] = False

    @failing.get("/boom-for-test")
    def boom():
        raise RuntimeError("boom")

    try:
        response = failing.test_client().get("/boom-for-test")
    finally:
        with failing.app_context():
            db.engine.dispose()
    assert response.status_code == 500
    assert "Something went wrong on our side" in text_of(response)
    assert '<main id="main"' in text_of(response)


def test_security_headers_are_set(client):
    response = client.get("/sign-in")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
