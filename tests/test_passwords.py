"""The password policy (NIST 800-63B) and changing one's own password."""

from __future__ import annotations

import pytest

from sct_forms.auth import password_policy
from sct_forms.auth.password_policy import PasswordProblem, assess, password_error, personal_words
from sct_forms.auth.passwords import (
    generate_password,
    has_usable_password,
    unusable_password_hash,
    verify_password,
)
from sct_forms.auth.tokens import TokenState, check, issue
from sct_forms.extensions import db
from sct_forms.models import OutboxMessage
from tests.account_helpers import (
    STRONG,
    audit_actions,
    is_signed_in,
    outbox,
    reload,
    second_browser,
)
from tests.conftest import PASSWORD, sign_in

ROLE_FIXTURES = ["staff_user", "reviewer_user", "coach_user", "admin_user"]


# --- the policy --------------------------------------------------------------------------------


@pytest.mark.parametrize("weak", ["password1234", "aaaaaaaaaaaa", "123456789012"])
def test_the_probed_weak_passwords_are_refused(app, weak):
    message = password_error(weak)
    assert message is not None
    assert "Use a longer phrase of several unrelated words." in message


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short words", PasswordProblem.TOO_SHORT),
        ("x" * 201, PasswordProblem.TOO_LONG),
        ("Password1234!", PasswordProblem.COMMON),
        ("1qaz2wsx3edc", PasswordProblem.COMMON),
        ("kkkkkkkkjjjjjjjj", PasswordProblem.PATTERN),
        ("abcdefghijklmnop", PasswordProblem.PATTERN),
        ("Dana Staff 1234", PasswordProblem.PERSONAL),
        ("sustainablect1", PasswordProblem.PERSONAL),
        ("dana staff windham", PasswordProblem.PERSONAL),  # zxcvbn alone scores this 3
        ("windham staff 2024", PasswordProblem.PERSONAL),
    ],
)
def test_each_refusal_names_its_reason(password, problem):
    assert assess(password, personal_words("dana.staff@windham.test", "Dana Staff")) is problem


def test_refusal_messages_say_why_and_what_works(app):
    with app.test_request_context():
        short = password_error("tiny")
        personal = password_error("Dana Staff 1234", personal_words("dana@x.test", "Dana Staff"))
        common = password_error("password1234")
    assert short.startswith("Your password needs at least 12 characters.")
    assert "your name, email address" in personal
    assert "most common passwords" in common
    for message in (short, personal, common):
        assert message.endswith("Use a longer phrase of several unrelated words.")


@pytest.mark.parametrize(
    "good",
    [
        "marble kettle orbit canyon",
        "correct horse battery staple",
        "my tomatoes never ripen before september",
        "x" * 1 + " glacier ferment lotus" * 9,  # long: only its start is scored
    ],
)
def test_long_unrelated_words_are_accepted_without_composition_rules(good):
    assert len(good) <= password_policy.MAX_LENGTH
    assert assess(good) is None


def test_a_password_of_exactly_the_limits_is_judged_on_strength_only():
    assert assess("q7#vLp2@xR9m") is None  # 12 characters
    longest = ("frost ledger" + " quill oasis" * 17)[:200]
    assert len(longest) == 200 and assess(longest) is None
    assert assess("a" * 200) is PasswordProblem.PATTERN


def test_generated_passwords_always_pass_the_policy():
    for _ in range(40):
        assert assess(generate_password()) is None


def test_an_account_without_a_password_matches_no_password():
    marker = unusable_password_hash()
    assert not has_usable_password(marker)
    assert not verify_password(marker, "")
    assert not verify_password(marker, marker)
    assert not verify_password(marker, marker[1:])


# --- the change page ---------------------------------------------------------------------------


@pytest.mark.parametrize("role_fixture", ROLE_FIXTURES)
def test_every_role_finds_change_password_in_the_header(request, as_user, cycle, role_fixture):
    client = as_user(request.getfixturevalue(role_fixture))
    start = client.get("/", follow_redirects=True)
    assert 'href="/account/password"' in start.get_data(as_text=True)
    page = client.get("/account/password")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'autocomplete="current-password"' in html
    assert html.count('autocomplete="new-password"') == 2
    assert page.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("role_fixture", ROLE_FIXTURES)
def test_every_role_can_change_their_password(request, app, as_user, cycle, role_fixture):
    user = request.getfixturevalue(role_fixture)
    client = as_user(user)
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": STRONG, "confirm_password": STRONG},
    )
    assert response.status_code == 303
    user = reload(user)
    assert verify_password(user.password_hash, STRONG)
    assert not verify_password(user.password_hash, PASSWORD)


def test_changing_the_password_signs_out_other_browsers_but_not_this_one(
    app, as_user, staff_user, cycle
):
    elsewhere = second_browser(app, staff_user)
    assert is_signed_in(elsewhere)
    client = as_user(staff_user)
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": STRONG, "confirm_password": STRONG},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Your password is changed." in response.get_data(as_text=True)
    assert is_signed_in(client)
    assert not is_signed_in(elsewhere)
    # The old cookie stays useless: the same copied session cannot come back.
    assert elsewhere.get("/towns/windham").status_code == 302
    assert sign_in(app.test_client(), staff_user, PASSWORD).status_code != 303
    assert sign_in(app.test_client(), staff_user, STRONG).status_code == 303


def test_a_change_is_audited_and_the_owner_is_told_by_email(as_user, staff_user, cycle):
    client = as_user(staff_user)
    client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": STRONG, "confirm_password": STRONG},
    )
    assert "user.password_changed" in audit_actions(staff_user)
    [notice] = outbox(kind="account.password_changed")
    assert notice.to_address == staff_user.email
    assert "was changed" in notice.subject
    assert "http://localhost/password/forgot" in notice.body_text
    assert STRONG not in notice.body_text and STRONG not in notice.body_html


def test_a_wrong_current_password_changes_nothing(as_user, staff_user, cycle):
    client = as_user(staff_user)
    response = client.post(
        "/account/password",
        data={
            "current_password": "not my password",
            "new_password": STRONG,
            "confirm_password": STRONG,
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Your current password is not right." in html
    assert 'role="alert"' in html and 'href="#current_password"' in html
    assert verify_password(reload(staff_user).password_hash, PASSWORD)
    assert "user.password_change_refused" in audit_actions(staff_user)
    assert outbox() == []
    assert is_signed_in(client)


def test_guessing_the_current_password_is_stopped(as_user, staff_user, cycle):
    client = as_user(staff_user)
    wrong = {"current_password": "guess guess", "new_password": STRONG, "confirm_password": STRONG}
    for _ in range(5):
        assert client.post("/account/password", data=wrong).status_code == 422
    right = dict(wrong, current_password=PASSWORD)
    response = client.post("/account/password", data=right)
    assert response.status_code == 429
    assert "Wait 15 minutes" in response.get_data(as_text=True)
    assert verify_password(reload(staff_user).password_hash, PASSWORD)


@pytest.mark.parametrize("weak", ["password1234", "aaaaaaaaaaaa", "123456789012", "short"])
def test_a_weak_new_password_is_refused_with_the_reason(as_user, staff_user, cycle, weak):
    client = as_user(staff_user)
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": weak, "confirm_password": weak},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'href="#new_password"' in html
    assert "Use a longer phrase of several unrelated words." in html
    assert weak not in html  # passwords are never written back into the page
    user = reload(staff_user)
    assert verify_password(user.password_hash, PASSWORD)
    assert is_signed_in(client)


def test_the_new_password_must_be_typed_the_same_twice(as_user, staff_user, cycle):
    client = as_user(staff_user)
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": STRONG, "confirm_password": "other"},
    )
    assert response.status_code == 422
    assert "The two new passwords are not the same." in response.get_data(as_text=True)
    assert verify_password(reload(staff_user).password_hash, PASSWORD)


def test_an_empty_form_says_what_to_fill_in(as_user, staff_user, cycle):
    response = as_user(staff_user).post("/account/password", data={})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter your current password." in html
    assert "Enter a new password." in html


def test_changing_the_password_ends_waiting_reset_links(app, as_user, staff_user, cycle):
    raw = issue(staff_user, "reset", app.permanent_session_lifetime)
    db.session.commit()
    as_user(staff_user).post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": STRONG, "confirm_password": STRONG},
    )
    db.session.expire_all()
    assert check(raw, "reset").state is TokenState.EXPIRED


def test_signed_out_visitors_cannot_change_a_password(client, staff_user):
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": STRONG, "confirm_password": STRONG},
    )
    assert response.status_code in (302, 401)
    assert verify_password(reload(staff_user).password_hash, PASSWORD)
    assert OutboxMessage.query.count() == 0
