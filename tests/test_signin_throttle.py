"""Sign-in throttling slows guessing with a growing delay and never locks the owner out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sct_forms.auth.services import attempt_sign_in
from sct_forms.extensions import db
from sct_forms.models import AuditEvent, SignInFailure
from tests.conftest import PASSWORD
from tests.frozen_clock import FrozenClock, freeze_clock

ATTACKER = "198.51.100.7"
OWNER = "192.0.2.5"
WRONG = "not the password"


@pytest.fixture
def clock(monkeypatch) -> FrozenClock:
    return freeze_clock(monkeypatch)


def attempt(client, email, password, address):
    return client.post(
        "/sign-in",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def add_failures(email, address, count, at):
    """Failures recorded earlier (as if from a long attack), without the request cost."""
    db.session.add_all(
        SignInFailure(email=email, remote_addr=address, at=at) for _ in range(count)
    )
    db.session.commit()


def failed_events():
    db.session.expire_all()
    return db.session.query(AuditEvent).filter_by(action="user.sign_in_failed").all()


def test_three_failures_then_each_attempt_waits_a_doubling_delay(client, staff_user, clock):
    for _ in range(3):
        assert attempt(client, staff_user.email, WRONG, ATTACKER).status_code == 401
    for expected_wait, text in [(1, "1 second"), (2, "2 seconds"), (4, "4 seconds")]:
        response = attempt(client, staff_user.email, WRONG, ATTACKER)
        assert response.status_code == 429
        assert f"Too many failed sign-in attempts. Wait {text}, then try again." in (
            response.get_data(as_text=True)
        )
        assert response.headers["Retry-After"] == str(expected_wait)
        clock.advance(seconds=expected_wait)
        assert attempt(client, staff_user.email, WRONG, ATTACKER).status_code == 401


def test_the_right_password_waits_out_the_delay_then_works(client, staff_user, clock):
    for _ in range(3):
        attempt(client, staff_user.email, WRONG, OWNER)
    assert attempt(client, staff_user.email, PASSWORD, OWNER).status_code == 429
    clock.advance(seconds=1)
    assert attempt(client, staff_user.email, PASSWORD, OWNER).status_code == 303


def test_owner_signs_in_from_another_address_while_an_attacker_is_throttled(
    app, staff_user, clock
):
    add_failures(staff_user.email, ATTACKER, 40, clock())
    response = attempt(app.test_client(), staff_user.email, PASSWORD, ATTACKER)
    assert response.status_code == 429
    assert "Wait 15 minutes" in response.get_data(as_text=True)
    assert attempt(app.test_client(), staff_user.email, PASSWORD, OWNER).status_code == 303


def test_the_delay_stops_at_15_minutes_and_is_never_a_lockout(client, staff_user, clock):
    add_failures(staff_user.email, ATTACKER, 500, clock())
    response = attempt(client, staff_user.email, PASSWORD, ATTACKER)
    assert response.status_code == 429 and response.headers["Retry-After"] == "900"
    clock.advance(minutes=15)
    assert attempt(client, staff_user.email, PASSWORD, ATTACKER).status_code == 303


def test_refused_attempts_do_not_lengthen_the_delay(client, staff_user, clock):
    for _ in range(3):
        attempt(client, staff_user.email, WRONG, ATTACKER)
    for _ in range(20):
        assert attempt(client, staff_user.email, WRONG, ATTACKER).status_code == 429
    assert db.session.query(SignInFailure).count() == 3
    clock.advance(seconds=1)
    assert attempt(client, staff_user.email, PASSWORD, ATTACKER).status_code == 303


def test_failures_from_one_address_across_accounts_get_a_growing_delay(
    client, staff_user, clock
):
    for number in range(30):
        add_failures(f"guess{number}@example.test", ATTACKER, 1, clock())
    response = attempt(client, staff_user.email, PASSWORD, ATTACKER)
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    # Another address is not held up at all.
    assert attempt(client, staff_user.email, PASSWORD, OWNER).status_code == 303
    client.post("/sign-out")
    clock.advance(seconds=1)
    assert attempt(client, "guess99@example.test", WRONG, ATTACKER).status_code == 401
    response = attempt(client, staff_user.email, PASSWORD, ATTACKER)
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    clock.advance(seconds=2)
    assert attempt(client, staff_user.email, PASSWORD, ATTACKER).status_code == 303


def test_guessing_spread_over_many_addresses_gets_a_short_wait(app, client, staff_user, clock):
    for number in range(app.config["SIGNIN_ACCOUNT_FREE_FAILURES"]):
        add_failures(staff_user.email, f"203.0.113.{number}", 1, clock())
    response = attempt(client, staff_user.email, PASSWORD, "192.0.2.200")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) == app.config["SIGNIN_ACCOUNT_DELAY_SECONDS"]
    clock.advance(seconds=app.config["SIGNIN_ACCOUNT_DELAY_SECONDS"])
    assert attempt(client, staff_user.email, PASSWORD, "192.0.2.200").status_code == 303


def test_an_address_the_owner_signed_in_from_before_skips_the_account_wide_wait(
    app, client, staff_user, clock
):
    assert attempt(client, staff_user.email, PASSWORD, OWNER).status_code == 303
    client.post("/sign-out")
    clock.advance(days=2)
    for number in range(app.config["SIGNIN_ACCOUNT_FREE_FAILURES"]):
        add_failures(staff_user.email, f"203.0.113.{number}", 1, clock())
    assert attempt(client, staff_user.email, PASSWORD, "192.0.2.200").status_code == 429
    assert attempt(client, staff_user.email, PASSWORD, OWNER).status_code == 303


def test_signing_in_from_an_address_restarts_its_count(client, staff_user, clock):
    for _ in range(3):
        attempt(client, staff_user.email, WRONG, OWNER)
    clock.advance(seconds=1)
    assert attempt(client, staff_user.email, PASSWORD, OWNER).status_code == 303
    client.post("/sign-out")
    clock.advance(seconds=1)
    for _ in range(3):  # three new typos are free again
        assert attempt(client, staff_user.email, WRONG, OWNER).status_code == 401


def test_failures_are_kept_after_a_successful_sign_in(client, staff_user):
    attempt(client, staff_user.email, WRONG, OWNER)
    assert attempt(client, staff_user.email, PASSWORD, OWNER).status_code == 303
    failure = db.session.query(SignInFailure).one()
    assert failure.email == staff_user.email and failure.remote_addr == OWNER


def test_failures_older_than_the_retention_are_pruned(app, client, staff_user, clock):
    add_failures(staff_user.email, ATTACKER, 2, clock() - timedelta(days=91))
    add_failures(staff_user.email, ATTACKER, 1, clock() - timedelta(days=89))
    attempt(client, staff_user.email, WRONG, ATTACKER)
    assert db.session.query(SignInFailure).count() == 2


def test_old_failures_outside_the_window_do_not_count(client, staff_user, clock):
    add_failures(staff_user.email, ATTACKER, 50, clock() - timedelta(hours=25))
    assert attempt(client, staff_user.email, PASSWORD, ATTACKER).status_code == 303


@pytest.mark.parametrize(
    ("email", "password", "reason"),
    [
        ("Dana.Staff@Windham.TEST", WRONG, "wrong_password"),
        ("nobody@example.test", PASSWORD, "unknown"),
    ],
)
def test_a_failed_sign_in_is_audited_without_the_password(
    client, staff_user, email, password, reason
):
    attempt(client, email, password, ATTACKER)
    (event,) = failed_events()
    assert event.actor_id is None
    assert event.details == {"email": email.strip().lower(), "address": ATTACKER, "reason": reason}
    assert password not in str(event.details)


def test_an_inactive_account_is_audited_as_inactive(client, staff_user):
    staff_user.active = False
    db.session.commit()
    assert attempt(client, staff_user.email, PASSWORD, OWNER).status_code == 401
    (event,) = failed_events()
    assert event.details["reason"] == "inactive" and event.object_id == str(staff_user.id)


def test_a_throttled_attempt_is_audited_as_throttled(client, staff_user, clock):
    add_failures(staff_user.email, ATTACKER, 3, clock())
    assert attempt(client, staff_user.email, PASSWORD, ATTACKER).status_code == 429
    (event,) = failed_events()
    assert event.details == {
        "email": staff_user.email,
        "address": ATTACKER,
        "reason": "throttled",
        "wait_seconds": 1,
    }


def test_a_successful_sign_in_is_audited_with_the_address(client, staff_user):
    attempt(client, staff_user.email, PASSWORD, OWNER)
    event = db.session.query(AuditEvent).filter_by(action="user.signed_in").one()
    assert event.actor_id == staff_user.id and event.details == {"address": OWNER}


def test_an_email_with_control_characters_is_refused_without_a_crash(app, client, staff_user):
    response = attempt(client, "dana\x00.staff@windham.test", PASSWORD, OWNER)
    assert response.status_code in (400, 401)
    # The service stores what it is given safely even when no guard ran before it.
    with app.test_request_context():
        result = attempt_sign_in("dana\x00.staff@windham.test", PASSWORD, "10.0.0.1\x00")
    assert result.user is None
    failure = db.session.query(SignInFailure).one()
    assert failure.email == "dana\ufffd.staff@windham.test"
    assert failure.remote_addr == "10.0.0.1\ufffd"
