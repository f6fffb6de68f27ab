"""Sessions end: sign-out ends every copy, idle and absolute limits, cookies and caching."""

from __future__ import annotations

import html as html_lib
import io
from datetime import timedelta

import pytest

from sct_forms.config import from_environment
from sct_forms.extensions import db
from sct_forms.models import AuditEvent, Evidence, SignInFailure, StepAnswers
from tests.conftest import PASSWORD, make_app, sign_in
from tests.evidence import samples
from tests.frozen_clock import FrozenClock, freeze_clock
from tests.helpers import sign_in_with_csrf
from tests.toolkit_helpers import make_toolkit

TOWN_PAGE = "/towns/windham"
HX = {"HX-Request": "true"}


@pytest.fixture
def clock(monkeypatch) -> FrozenClock:
    return freeze_clock(monkeypatch)


@pytest.fixture
def toolkit(staff_user, cycle, catalog):
    return make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)


@pytest.fixture
def another_app(app, tmp_path):
    """``another_app(**settings)``: a second app on the same database, closed afterwards."""
    made = []

    def _make(**settings):
        settings.setdefault("DATABASE_URL", app.config["DATABASE_URL"])
        made.append(make_app(tmp_path, **settings))
        return made[-1]

    yield _make
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def step_url(toolkit, key="context"):
    return f"/toolkits/{toolkit.id}/steps/{key}"


def saved_goals(toolkit):
    db.session.expire_all()
    row = db.session.query(StepAnswers).filter_by(toolkit_id=toolkit.id, step_key="context").one()
    return row.data.get("goals")


def copy_of_session(app, client):
    """A second browser holding the same session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def events(action):
    db.session.expire_all()
    return db.session.query(AuditEvent).filter_by(action=action).all()


# --- sign-out ends the session everywhere ------------------------------------------------------


def test_a_copied_cookie_stops_working_after_sign_out(app, client, staff_user, toolkit):
    sign_in(client, staff_user)
    thief = copy_of_session(app, client)
    assert thief.get(TOWN_PAGE).status_code == 200  # the copy works while signed in

    assert client.post("/sign-out").status_code == 303

    response = thief.get(TOWN_PAGE)
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    response = thief.post(step_url(toolkit), data={"goals": "By a thief", "base_version": 0})
    assert response.status_code == 401
    assert saved_goals(toolkit) is None


def test_a_copied_cookie_stays_dead_after_the_user_signs_in_again(app, client, staff_user):
    sign_in(client, staff_user)
    thief = copy_of_session(app, client)
    client.post("/sign-out")
    assert sign_in(client, staff_user).status_code == 303
    assert client.get(TOWN_PAGE).status_code == 200
    assert thief.get(TOWN_PAGE).status_code == 302


def test_sign_out_is_audited(client, staff_user):
    sign_in(client, staff_user)
    client.post("/sign-out")
    (event,) = events("user.signed_out")
    assert event.actor_id == staff_user.id and event.object_id == str(staff_user.id)


def test_signing_out_without_a_session_changes_nothing(client, staff_user):
    nonce = staff_user.session_nonce
    assert client.post("/sign-out").status_code == 303
    db.session.expire_all()
    assert staff_user.session_nonce == nonce and events("user.signed_out") == []


# --- idle timeout and absolute lifetime -------------------------------------------------------


def test_a_session_ends_after_30_minutes_without_activity(client, staff_user, cycle, clock):
    sign_in(client, staff_user)
    clock.advance(minutes=29)
    assert client.get(TOWN_PAGE).status_code == 200
    clock.advance(minutes=29)  # 58 minutes after signing in, 29 after the last request
    assert client.get(TOWN_PAGE).status_code == 200
    clock.advance(minutes=31)
    response = client.get(TOWN_PAGE)
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your session ended after 30 minutes without activity." in page
    (event,) = events("user.session_expired")
    assert event.actor_id == staff_user.id and event.details["reason"] == "idle"
    # Signing in again starts a new session.
    assert sign_in(client, staff_user).status_code == 303
    assert client.get(TOWN_PAGE).status_code == 200


def test_the_idle_timeout_is_a_setting(app, client, staff_user, cycle, clock):
    app.config["SESSION_IDLE_MINUTES"] = 5
    sign_in(client, staff_user)
    clock.advance(minutes=6)
    assert client.get(TOWN_PAGE).status_code == 302


def test_an_autosave_counts_as_activity(client, staff_user, toolkit, clock):
    sign_in(client, staff_user)
    for minute in range(1, 5):
        clock.advance(minutes=20)  # typing for 80 minutes, no page loaded meanwhile
        response = client.post(
            step_url(toolkit) + "/autosave",
            data={"goals": f"Draft {minute}", "base_version": minute - 1},
            headers=HX,
        )
        assert response.status_code == 200, response.get_data(as_text=True)
    assert client.get(step_url(toolkit)).status_code == 200
    assert saved_goals(toolkit) == "Draft 4"


def test_a_session_ends_12_hours_after_sign_in_however_active(client, staff_user, cycle, clock):
    sign_in(client, staff_user)
    for _ in range(35):  # a request every 20 minutes for 11 h 40 min
        clock.advance(minutes=20)
        assert client.get(TOWN_PAGE).status_code == 200
    clock.advance(minutes=21)
    assert client.get(TOWN_PAGE).status_code == 302
    page = client.get("/sign-in").get_data(as_text=True)
    assert "Your session ended 12 hours after you signed in." in page
    assert events("user.session_expired")[0].details["reason"] == "lifetime"


def test_the_lifetime_is_a_setting(app, client, staff_user, cycle, clock):
    app.config["SESSION_MAX_HOURS"] = 1
    sign_in(client, staff_user)
    clock.advance(minutes=25)
    assert client.get(TOWN_PAGE).status_code == 200
    clock.advance(minutes=25)
    assert client.get(TOWN_PAGE).status_code == 200
    clock.advance(minutes=11)
    assert client.get(TOWN_PAGE).status_code == 302


def test_cookie_and_token_lifetimes_follow_the_session_lifetime(another_app):
    application = another_app(SESSION_MAX_HOURS=3)
    assert application.permanent_session_lifetime == timedelta(hours=3)
    assert application.config["WTF_CSRF_TIME_LIMIT"] == 3 * 60 * 60
    defaults = another_app()
    assert defaults.config["SESSION_IDLE_MINUTES"] == 30
    assert defaults.permanent_session_lifetime == timedelta(hours=12)


# --- an ended session keeps the text being typed -----------------------------------------------


def test_a_step_save_after_the_idle_timeout_keeps_the_text_until_sign_in(
    client, staff_user, toolkit, clock
):
    sign_in(client, staff_user)
    client.get(step_url(toolkit))
    clock.advance(minutes=45)  # typed for 45 minutes without a save
    typed = "A long answer typed slowly, with care."
    response = client.post(step_url(toolkit), data={"goals": typed, "base_version": 0})
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Your session ended after 30 minutes without activity." in page
    assert "Your text is kept" in page and typed in page
    assert saved_goals(toolkit) is None
    resume_data = html_lib.unescape(page.split('name="resume_data" value="')[1].split('"')[0])
    response = client.post(
        "/sign-in",
        data={
            "email": staff_user.email,
            "password": PASSWORD,
            "resume_url": step_url(toolkit),
            "resume_data": resume_data,
        },
    )
    assert response.status_code == 303
    assert saved_goals(toolkit) == typed


def test_an_autosave_after_the_idle_timeout_gets_401_for_the_page_to_ask(
    client, staff_user, toolkit, clock
):
    sign_in(client, staff_user)
    clock.advance(minutes=31)
    response = client.post(
        step_url(toolkit) + "/autosave", data={"goals": "x", "base_version": 0}, headers=HX
    )
    assert response.status_code == 401
    assert "Your session ended" in response.get_data(as_text=True)
    assert saved_goals(toolkit) is None


def test_an_expired_session_with_csrf_on_still_reaches_the_sign_in_page_holding_the_text(
    app, client, staff_user, toolkit, clock
):
    app.config["WTF_CSRF_ENABLED"] = True
    sign_in_with_csrf(client, staff_user.email, PASSWORD)
    token = client.get(step_url(toolkit)).get_data(as_text=True)
    token = token.split('name="csrf-token" content="')[1].split('"')[0]
    clock.advance(minutes=31)
    response = client.post(
        step_url(toolkit), data={"goals": "Kept", "base_version": 0, "csrf_token": token}
    )
    assert response.status_code == 401
    assert "Kept" in response.get_data(as_text=True)


# --- caching, HSTS and the cookie name --------------------------------------------------------


def test_signed_in_pages_and_the_sign_in_page_are_not_stored(client, staff_user, cycle):
    assert "no-store" in client.get("/sign-in").headers["Cache-Control"]
    response = sign_in(client, staff_user)
    assert "no-store" in response.headers["Cache-Control"]
    assert "no-store" in client.get(TOWN_PAGE).headers["Cache-Control"]
    assert "no-store" in client.get("/no-such-page").headers["Cache-Control"]
    assert "no-store" in client.post("/sign-out").headers["Cache-Control"]


def test_the_sign_in_page_holding_typed_text_is_not_stored(app, toolkit):
    response = app.test_client().post(step_url(toolkit), data={"goals": "x", "base_version": 0})
    assert response.status_code == 401 and "no-store" in response.headers["Cache-Control"]


def test_static_files_and_public_pages_keep_their_caching(client, staff_user):
    response = client.get("/static/js/app.js")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    response.close()
    response = client.get("/verify")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    sign_in(client, staff_user)  # a signed-in browser's static files stay cacheable too
    response = client.get("/static/js/app.js")
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert "Set-Cookie" not in response.headers
    response.close()


def test_evidence_downloads_stay_private_and_are_not_stored(client, staff_user, toolkit):
    sign_in(client, staff_user)
    client.post(
        f"/toolkits/{toolkit.id}/steps/outreach/evidence",
        data={"title": "Flyer", "alt_text": "", "file": (io.BytesIO(samples.pdf_bytes()), "f.pdf")},
        content_type="multipart/form-data",
    )
    evidence = db.session.query(Evidence).one()
    response = client.get(f"/evidence/{evidence.id}/download")
    directives = {d.strip() for d in response.headers["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives
    response.close()


def test_plain_http_sessions_use_the_plain_cookie_and_no_hsts(client, staff_user):
    response = sign_in(client, staff_user)
    assert response.headers["Set-Cookie"].startswith("session=")
    assert "Strict-Transport-Security" not in response.headers


def test_secure_cookies_use_the_host_prefix_and_send_hsts(another_app, staff_user, cycle):
    secure = another_app(SESSION_COOKIE_SECURE=True)
    client = secure.test_client()
    https = {"base_url": "https://localhost"}
    response = client.get("/sign-in", **https)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    response = client.post(
        "/sign-in", data={"email": staff_user.email, "password": PASSWORD}, **https
    )
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    attributes = {part.strip().split("=")[0] for part in cookie.split(";")}
    assert {"Secure", "Path", "HttpOnly"} <= attributes and "Domain" not in attributes
    assert "Path=/;" in cookie or cookie.endswith("Path=/")
    assert client.get(TOWN_PAGE, **https).status_code == 200


# --- proxies -----------------------------------------------------------------------------------


def failed_sign_in_from(application, forwarded_for):
    application.test_client().post(
        "/sign-in",
        data={"email": "nobody@example.test", "password": "wrong"},
        headers={"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    db.session.expire_all()
    return db.session.query(SignInFailure).order_by(SignInFailure.id.desc()).first().remote_addr


def test_forwarded_for_is_ignored_without_trusted_proxies(app):
    assert failed_sign_in_from(app, "203.0.113.9") == "10.0.0.2"


def test_forwarded_for_is_honoured_with_a_trusted_proxy(app, another_app):
    behind_proxy = another_app(TRUSTED_PROXY_COUNT=1)
    assert failed_sign_in_from(behind_proxy, "203.0.113.9") == "203.0.113.9"
    # One trusted hop: the address the client wrote itself before the proxy's is not believed.
    assert failed_sign_in_from(behind_proxy, "198.51.100.1, 203.0.113.10") == "203.0.113.10"


def test_session_and_proxy_settings_come_from_the_environment():
    found = from_environment(
        {"SESSION_IDLE_MINUTES": "15", "SESSION_MAX_HOURS": "8", "TRUSTED_PROXY_COUNT": "2"}
    )
    assert found == {"SESSION_IDLE_MINUTES": 15, "SESSION_MAX_HOURS": 8, "TRUSTED_PROXY_COUNT": 2}
