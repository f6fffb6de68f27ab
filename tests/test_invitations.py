"""Inviting people by email to choose their own password; the invite-user and create-user CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from sct_forms.admin.services import AccountError, create_user
from sct_forms.auth.invitations import invite_user
from sct_forms.auth.password_policy import assess
from sct_forms.auth.passwords import has_usable_password, verify_password
from sct_forms.extensions import db
from sct_forms.models import AccountToken, AuditEvent, CoachAssignment, User, utcnow
from tests.account_helpers import STRONG, audit_actions, is_signed_in, link_path, outbox
from tests.conftest import sign_in

NEW_EMAIL = "jordan.new@windham.test"


def invite(town=None, role="staff", invited_by=None, email=NEW_EMAIL) -> User:
    user = invite_user(email, "Jordan New", role, town, invited_by)
    db.session.commit()
    return user


def invitation_link(email: str = NEW_EMAIL) -> str:
    return link_path(outbox(kind="account.invitation", to=email)[-1], "/invitation/")


def accept(client, path: str, password: str = STRONG):
    return client.post(path, data={"new_password": password, "confirm_password": password})


def find(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


# --- the service -------------------------------------------------------------------------------


def test_an_invited_account_has_no_password_until_its_owner_chooses_one(app, client, town):
    user = invite(town)
    assert user.role == "staff" and user.municipality_id == town.id
    assert not has_usable_password(user.password_hash)
    for guess in ("", user.password_hash, user.password_hash[1:]):
        assert sign_in(client, user, guess).status_code != 303
    [message] = outbox(kind="account.invitation")
    assert message.to_address == NEW_EMAIL
    assert "invited" in message.subject
    assert "Windham" in message.body_text and "7 days" in message.body_text
    [token] = db.session.scalars(select(AccountToken))
    assert token.purpose == "invite"
    assert token.expires_at - token.created_at == timedelta(days=7)
    assert audit_actions(user)[:2] == ["user.created", "user.invited"]


def test_an_admin_may_invite_and_is_named_in_the_email(admin_user, town):
    invite(town, invited_by=admin_user)
    [message] = outbox(kind="account.invitation")
    assert f"{admin_user.name} sent this invitation." in message.body_text
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.invited"))
    assert event.actor_id == admin_user.id


@pytest.mark.parametrize("role_fixture", ["staff_user", "reviewer_user", "coach_user"])
def test_only_administrators_may_invite_to_any_town(request, town, other_town, role_fixture):
    inviter = request.getfixturevalue(role_fixture)
    # Town staff invite teammates to their own town only (tests/test_admin_accounts.py).
    with pytest.raises(AccountError, match="only administrators"):
        invite(other_town, invited_by=inviter)
    db.session.rollback()
    assert find(NEW_EMAIL) is None
    assert outbox() == []


def test_inviting_again_replaces_the_unused_link(client, town):
    invite(town)
    first = invitation_link()
    invite(town)
    second = invitation_link()
    assert first != second
    assert db.session.scalar(select(func.count(AccountToken.id))) == 1
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    assert "user.reinvited" in audit_actions(find(NEW_EMAIL))
    assert db.session.scalar(select(func.count(User.id)).where(User.email == NEW_EMAIL)) == 1


def test_someone_with_a_password_is_not_invited_again(staff_user):
    with pytest.raises(AccountError, match="already exists"):
        invite(staff_user.municipality, email=staff_user.email)
    assert outbox() == []


def test_inviting_again_with_another_role_or_town_is_refused(town, other_town):
    invite(town)
    with pytest.raises(AccountError, match="invited as staff"):
        invite(None, role="reviewer")
    with pytest.raises(AccountError, match="invited for Windham"):
        invite(other_town)


def test_a_coach_is_invited_with_their_first_town(town):
    coach = invite(town, role="coach")
    assert coach.municipality_id is None
    assert db.session.scalar(
        select(CoachAssignment).where(CoachAssignment.coach_id == coach.id)
    ).municipality_id == town.id


def test_staff_need_a_town_and_a_reviewer_none(town):
    with pytest.raises(AccountError, match="need a town"):
        invite(None, role="staff")
    with pytest.raises(AccountError, match="only staff accounts belong to a town"):
        invite(town, role="reviewer")


# --- accepting ---------------------------------------------------------------------------------


def test_accepting_sets_the_password_and_signs_in(app, client, town, cycle):
    invite(town)
    path = invitation_link()
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert NEW_EMAIL in html and html.count('autocomplete="new-password"') == 2
    response = accept(client, path)
    assert response.status_code == 303
    assert client.get("/").headers["Location"] == "/towns/windham"
    assert is_signed_in(client)
    user = find(NEW_EMAIL)
    assert verify_password(user.password_hash, STRONG)
    assert "user.invitation_accepted" in audit_actions(user)
    assert db.session.scalar(select(AccountToken.used_at)) is not None
    assert sign_in(app.test_client(), user, STRONG).status_code == 303
    # The link is spent.
    again = app.test_client().get(path)
    assert again.status_code == 410
    assert "This link was already used" in again.get_data(as_text=True)


def test_accepting_refuses_a_weak_password_and_keeps_the_link(client, town):
    invite(town)
    path = invitation_link()
    for weak in ("password1234", "aaaaaaaaaaaa", "123456789012", "jordan new windham"):
        response = accept(client, path, weak)
        assert response.status_code == 422, weak
        assert "Use a longer phrase of several unrelated words." in response.get_data(as_text=True)
    assert not has_usable_password(find(NEW_EMAIL).password_hash)
    assert not is_signed_in(client)
    assert accept(client, path).status_code == 303


def test_an_expired_invitation_offers_a_new_link_that_works(client, town):
    invite(town)
    path = invitation_link()
    db.session.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    response = client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "This link has expired" in html and 'href="/password/forgot"' in html
    # "Send me a new link" works for someone who never chose a password.
    client.post("/password/forgot", data={"email": NEW_EMAIL})
    reset = link_path(outbox(kind="account.password_reset")[-1], "/password/reset/")
    assert client.post(
        reset, data={"new_password": STRONG, "confirm_password": STRONG}
    ).status_code == 303
    assert verify_password(find(NEW_EMAIL).password_hash, STRONG)


def test_an_invitation_for_a_deactivated_account_does_not_work(client, town):
    user = invite(town)
    path = invitation_link()
    user.active = False
    db.session.commit()
    assert client.get(path).status_code == 404
    assert accept(client, path).status_code == 404


def test_an_invitation_link_is_no_reset_link(client, town):
    invite(town)
    token = invitation_link().rsplit("/", 1)[1]
    assert client.get(f"/password/reset/{token}").status_code == 404


# --- command line ------------------------------------------------------------------------------


def test_invite_user_command_creates_the_account_and_queues_the_email(runner, town):
    result = runner.invoke(
        args=["invite-user", "--email", "Jordan.New@Windham.test", "--name", "Jordan New",
              "--role", "staff", "--town", "Windham"]
    )
    assert result.exit_code == 0, result.output
    assert f"Invited {NEW_EMAIL} as staff" in result.output
    assert "No MAIL_SERVER is set" in result.output
    user = find(NEW_EMAIL)
    assert user.municipality_id == town.id and not has_usable_password(user.password_hash)
    assert len(outbox(kind="account.invitation", to=NEW_EMAIL)) == 1
    again = runner.invoke(
        args=["invite-user", "--email", NEW_EMAIL, "--name", "Jordan New", "--role", "staff"]
    )
    assert again.exit_code == 0, again.output
    assert len(outbox(kind="account.invitation", to=NEW_EMAIL)) == 2


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--role", "staff"], "staff accounts need a town"),
        (["--role", "staff", "--town", "Atlantis"], "no town named 'Atlantis'"),
        (["--role", "reviewer", "--town", "Windham"], "only staff accounts belong to a town"),
    ],
)
def test_invite_user_command_refuses_what_it_cannot_do(runner, town, args, says):
    result = runner.invoke(
        args=["invite-user", "--email", NEW_EMAIL, "--name", "Jordan New", *args]
    )
    assert result.exit_code != 0 and says in result.output
    assert find(NEW_EMAIL) is None and outbox() == []


def test_invite_user_command_refuses_an_existing_account(runner, staff_user):
    result = runner.invoke(
        args=["invite-user", "--email", staff_user.email, "--name", "X", "--role", "staff"]
    )
    assert result.exit_code != 0 and "already exists" in result.output


def test_create_user_prompt_refuses_a_weak_password_and_asks_again(runner, app):
    result = runner.invoke(
        args=["create-user", "--email", "r@sct.test", "--role", "reviewer", "--prompt-password"],
        input="password1234\n" + f"{STRONG}\n{STRONG}\n",
    )
    assert result.exit_code == 0, result.output
    assert "most common passwords" in result.output
    assert verify_password(find("r@sct.test").password_hash, STRONG)


def test_create_user_prompt_gives_up_without_an_acceptable_password(runner, app):
    result = runner.invoke(
        args=["create-user", "--email", "r@sct.test", "--role", "reviewer", "--prompt-password"],
        input="aaaaaaaaaaaa\n123456789012\n",
    )
    assert result.exit_code != 0
    assert find("r@sct.test") is None


def test_create_user_still_prints_a_generated_password_that_meets_the_policy(runner, town):
    result = runner.invoke(
        args=["create-user", "--email", "g@windham.test", "--role", "staff", "--town", "Windham"]
    )
    assert result.exit_code == 0, result.output
    password = result.output.split("Password (shown once): ")[1].strip()
    assert assess(password) is None
    assert verify_password(find("g@windham.test").password_hash, password)


def test_create_user_service_applies_the_policy(app):
    with pytest.raises(AccountError, match="most common passwords"):
        create_user(email="w@sct.test", name="W", role="reviewer", password="password1234")
    db.session.rollback()
    assert find("w@sct.test") is None
