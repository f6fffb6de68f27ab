"""Accounts in the program console: the list, invitations, role and town, deactivation, and town
staff inviting teammates to their own town."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from sct_forms.admin import accounts
from sct_forms.admin.services import AccountError
from sct_forms.extensions import db
from sct_forms.models import AccountToken, CoachAssignment, User, utcnow
from tests.account_helpers import (
    STRONG,
    audit_actions,
    audit_events,
    is_signed_in,
    link_path,
    outbox,
    reload,
    second_browser,
)
from tests.conftest import make_user, sign_in

NEW_EMAIL = "jordan.new@windham.test"


def find(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def invite_form(town=None, role="staff", email=NEW_EMAIL, name="Jordan New") -> dict:
    return {"name": name, "email": email, "role": role, "town": str(town.id) if town else ""}


def accept(client, email: str = NEW_EMAIL):
    path = link_path(outbox(kind="account.invitation", to=email)[-1], "/invitation/")
    return client.post(path, data={"new_password": STRONG, "confirm_password": STRONG})


# --- the list ---------------------------------------------------------------------------------


def test_the_list_shows_every_account_and_filters_and_searches(
    as_user, admin_user, staff_user, other_staff_user, reviewer_user, coach_user, town
):
    client = as_user(admin_user)
    html = client.get("/admin/accounts/").get_data(as_text=True)
    for user in (admin_user, staff_user, other_staff_user, reviewer_user, coach_user):
        assert user.email in html
    assert "6 accounts." not in html and "5 accounts." in html
    staff_only = client.get("/admin/accounts/?role=staff").get_data(as_text=True)
    assert staff_user.email in staff_only and reviewer_user.email not in staff_only
    windham = client.get(f"/admin/accounts/?town={town.id}").get_data(as_text=True)
    # The town's staff and its coach; not the other town's staff.
    assert staff_user.email in windham and coach_user.email in windham
    assert other_staff_user.email not in windham
    searched = client.get("/admin/accounts/?q=RILEY").get_data(as_text=True)
    assert reviewer_user.email in searched and staff_user.email not in searched
    reviewer_user.active = False
    db.session.commit()
    inactive = client.get("/admin/accounts/?active=no").get_data(as_text=True)
    assert "1 account." in inactive and reviewer_user.email in inactive
    # Nonsense filters are ignored, not a crash.
    assert client.get("/admin/accounts/?role=boss&town=x&active=maybe").status_code == 200
    fragment = client.get("/admin/accounts/?role=staff", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)


def test_the_list_says_when_an_invitation_waits_or_expired(as_user, admin_user, town):
    client = as_user(admin_user)
    client.post("/admin/accounts/invite", data=invite_form(town))
    assert "Waiting, link works until" in client.get("/admin/accounts/").get_data(as_text=True)
    db.session.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert "Expired: send a new one" in client.get("/admin/accounts/").get_data(as_text=True)


def test_the_administration_page_links_to_the_accounts(as_user, admin_user):
    html = as_user(admin_user).get("/admin/").get_data(as_text=True)
    assert 'href="/admin/accounts/"' in html


# --- inviting ---------------------------------------------------------------------------------


def test_an_invited_person_gets_the_link_sets_a_password_and_signs_in(
    app, as_user, admin_user, town
):
    client = as_user(admin_user)
    page = client.get("/admin/accounts/invite").get_data(as_text=True)
    for label in ("Name", "Email", "Role", "Town", "Send the invitation"):
        assert label in page
    response = client.post("/admin/accounts/invite", data=invite_form(town))
    assert response.status_code == 303
    user = find(NEW_EMAIL)
    assert response.headers["Location"] == f"/admin/accounts/{user.id}"
    assert user.role == "staff" and user.municipality_id == town.id
    [message] = outbox(kind="account.invitation", to=NEW_EMAIL)
    assert f"{admin_user.name} sent this invitation." in message.body_text
    newcomer = app.test_client()
    assert accept(newcomer).status_code == 303
    assert is_signed_in(newcomer)
    assert sign_in(app.test_client(), find(NEW_EMAIL), STRONG).status_code == 303
    assert audit_actions(user)[:2] == ["user.created", "user.invited"]
    assert audit_events("user.invited")[0].actor_id == admin_user.id


def test_a_refused_invitation_keeps_what_was_typed_and_says_why_beside_the_field(
    as_user, admin_user, town, staff_user
):
    client = as_user(admin_user)
    response = client.post("/admin/accounts/invite", data=invite_form(None, name="Pat Typed"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="town-error">Choose the town this person works for.' in html
    assert 'value="Pat Typed"' in html and f'value="{NEW_EMAIL}"' in html
    reviewer_with_town = client.post(
        "/admin/accounts/invite", data=invite_form(town, role="reviewer")
    )
    assert reviewer_with_town.status_code == 422
    assert "choose “No town”" in reviewer_with_town.get_data(as_text=True)
    taken = client.post("/admin/accounts/invite", data=invite_form(town, email=staff_user.email))
    assert taken.status_code == 422
    assert 'id="email-error">This person already has an account and a password.' in (
        taken.get_data(as_text=True)
    )
    bad = client.post("/admin/accounts/invite", data=invite_form(town, email="not an address"))
    assert bad.status_code == 422 and 'id="email-error"' in bad.get_data(as_text=True)
    assert find(NEW_EMAIL) is None and outbox() == []


def test_inviting_again_after_the_link_expired_sends_a_new_one(app, as_user, admin_user, town):
    client = as_user(admin_user)
    client.post("/admin/accounts/invite", data=invite_form(town))
    db.session.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    user = find(NEW_EMAIL)
    assert "Send a new invitation" in client.get(f"/admin/accounts/{user.id}").get_data(
        as_text=True
    )
    assert client.post(f"/admin/accounts/{user.id}/invitation").status_code == 303
    # The same from the invite form.
    assert client.post("/admin/accounts/invite", data=invite_form(town)).status_code == 303
    assert len(outbox(kind="account.invitation", to=NEW_EMAIL)) == 3
    assert audit_actions(user).count("user.reinvited") == 2
    assert accept(app.test_client()).status_code == 303


def test_a_coach_is_invited_with_an_optional_first_town(as_user, admin_user, town):
    client = as_user(admin_user)
    assert client.post("/admin/accounts/invite", data=invite_form(town, "coach")).status_code == 303
    coach = find(NEW_EMAIL)
    assert coach.municipality_id is None
    assert db.session.scalar(select(CoachAssignment.municipality_id)) == town.id
    other = invite_form(None, "coach", email="sky.coach@sct.test")
    assert client.post("/admin/accounts/invite", data=other).status_code == 303
    assert find("sky.coach@sct.test").role == "coach"


def test_several_staff_belong_to_one_town(as_user, admin_user, staff_user, town):
    client = as_user(admin_user)
    for number in range(3):
        email = f"staff{number}@windham.test"
        form = invite_form(town, email=email, name=f"Staff {number}")
        assert client.post("/admin/accounts/invite", data=form).status_code == 303
    assert (
        db.session.scalar(
            select(func.count(User.id)).where(User.role == "staff", User.municipality_id == town.id)
        )
        == 4
    )
    team = [row.user.email for row in accounts.town_team(town)]
    assert staff_user.email in team and "staff2@windham.test" in team


# --- role and town ----------------------------------------------------------------------------


def test_a_role_or_town_change_is_audited_and_ends_the_persons_sessions(
    app, as_user, admin_user, staff_user, other_town
):
    elsewhere = second_browser(app, staff_user)
    client = as_user(admin_user)
    response = client.post(
        f"/admin/accounts/{staff_user.id}/access", data={"role": "staff", "town": other_town.id}
    )
    assert response.status_code == 303
    assert reload(staff_user).municipality_id == other_town.id
    assert not is_signed_in(elsewhere)
    [event] = audit_events("user.town_changed")
    assert event.actor_id == admin_user.id
    assert event.details["new_municipality_id"] == other_town.id
    again = second_browser(app, staff_user)
    client.post(f"/admin/accounts/{staff_user.id}/access", data={"role": "reviewer", "town": ""})
    user = reload(staff_user)
    assert user.role == "reviewer" and user.municipality_id is None
    assert not is_signed_in(again)
    [event] = audit_events("user.role_changed")
    assert event.details["old_role"] == "staff" and event.details["role"] == "reviewer"
    assert is_signed_in(client)  # the administrator's own session goes on


def test_a_coach_given_another_role_no_longer_coaches(as_user, admin_user, coach_user, town):
    as_user(admin_user).post(
        f"/admin/accounts/{coach_user.id}/access", data={"role": "staff", "town": town.id}
    )
    assert db.session.scalar(select(func.count(CoachAssignment.id))) == 0
    assert "coaching.assignment_ended" in [
        e.action for e in audit_events("coaching.assignment_ended")
    ]


def test_a_refused_change_says_why_beside_the_field(as_user, admin_user, reviewer_user):
    response = as_user(admin_user).post(
        f"/admin/accounts/{reviewer_user.id}/access", data={"role": "staff", "town": ""}
    )
    assert response.status_code == 422
    assert 'id="town-error">Choose the town' in response.get_data(as_text=True)
    assert reload(reviewer_user).role == "reviewer"


def test_an_administrator_cannot_demote_or_deactivate_themselves(as_user, admin_user):
    client = as_user(admin_user)
    page = client.get(f"/admin/accounts/{admin_user.id}").get_data(as_text=True)
    assert "You cannot take away your own administrator role or deactivate your own account" in page
    assert "Deactivate Alex Admin" not in page
    demoted = client.post(
        f"/admin/accounts/{admin_user.id}/access", data={"role": "reviewer", "town": ""}
    )
    assert demoted.status_code == 422
    assert "You cannot take away your own administrator role" in demoted.get_data(as_text=True)
    refused = client.post(f"/admin/accounts/{admin_user.id}/deactivate")
    assert refused.status_code == 409
    assert "You cannot deactivate your own account" in refused.get_data(as_text=True)
    user = reload(admin_user)
    assert user.role == "admin" and user.active
    assert is_signed_in(client)


def test_another_administrator_may_be_demoted(as_user, admin_user, password_hash):
    other = make_user("admin", "ari.admin@sct.test", password_hash)
    response = as_user(admin_user).post(
        f"/admin/accounts/{other.id}/access", data={"role": "reviewer", "town": ""}
    )
    assert response.status_code == 303
    assert reload(other).role == "reviewer"


# --- deactivate and reactivate ----------------------------------------------------------------


def test_a_deactivated_person_cannot_sign_in_until_reactivated(
    app, as_user, admin_user, staff_user
):
    elsewhere = second_browser(app, staff_user)
    client = as_user(admin_user)
    assert client.post(f"/admin/accounts/{staff_user.id}/deactivate").status_code == 303
    assert not is_signed_in(elsewhere)
    assert sign_in(app.test_client(), staff_user).status_code != 303
    assert not reload(staff_user).active
    # Their history stays: the account and its audit trail are there.
    assert "user.deactivated" in audit_actions(staff_user)
    twice = client.post(f"/admin/accounts/{staff_user.id}/deactivate")
    assert twice.status_code == 409
    assert client.post(f"/admin/accounts/{staff_user.id}/reactivate").status_code == 303
    assert sign_in(app.test_client(), staff_user).status_code == 303
    assert audit_actions(staff_user)[-2:] == ["user.reactivated", "user.signed_in"]


# --- town staff invite teammates --------------------------------------------------------------


def test_staff_invite_a_teammate_to_their_own_town(app, as_user, staff_user, town, cycle):
    client = as_user(staff_user)
    town_page = client.get(f"/towns/{town.slug}").get_data(as_text=True)
    assert f'href="/towns/{town.slug}/team"' in town_page
    team = client.get(f"/towns/{town.slug}/team").get_data(as_text=True)
    assert "Invite a teammate" in team and staff_user.email in team
    response = client.post(
        f"/towns/{town.slug}/team/invite", data={"name": "Jordan New", "email": NEW_EMAIL}
    )
    assert response.status_code == 303
    user = find(NEW_EMAIL)
    assert user.role == "staff" and user.municipality_id == town.id
    assert audit_events("user.invited")[0].actor_id == staff_user.id
    assert accept(app.test_client()).status_code == 303
    refused = client.post(
        f"/towns/{town.slug}/team/invite", data={"name": "Dup", "email": staff_user.email}
    )
    assert refused.status_code == 422 and 'value="Dup"' in refused.get_data(as_text=True)


def test_staff_may_invite_nobody_else_and_nowhere_else(staff_user, town, other_town):
    for role, where in (
        ("staff", other_town),
        ("reviewer", None),
        ("admin", None),
        ("coach", town),
    ):
        with pytest.raises(AccountError) as refused:
            accounts.invite(email=NEW_EMAIL, name="X", role=role, town=where, actor=staff_user)
        assert refused.value.status == 403
        db.session.rollback()
    assert find(NEW_EMAIL) is None and outbox() == []


def test_staff_of_another_town_cannot_reach_its_team(as_user, other_staff_user, town):
    client = as_user(other_staff_user)
    assert client.get(f"/towns/{town.slug}/team").status_code == 404
    response = client.post(
        f"/towns/{town.slug}/team/invite", data={"name": "X", "email": NEW_EMAIL}
    )
    assert response.status_code == 404
    assert find(NEW_EMAIL) is None


@pytest.mark.parametrize("role_fixture", ["reviewer_user", "coach_user"])
def test_reviewers_and_coaches_cannot_invite_teammates(request, client, role_fixture, town):
    user = request.getfixturevalue(role_fixture)
    assert sign_in(client, user).status_code == 303
    response = client.post(
        f"/towns/{town.slug}/team/invite", data={"name": "X", "email": NEW_EMAIL}
    )
    assert response.status_code == 403
    assert "Invite a teammate" not in client.get(f"/towns/{town.slug}/team").get_data(as_text=True)
    assert find(NEW_EMAIL) is None


# --- refused roles on the administrators' routes ----------------------------------------------


@pytest.mark.parametrize("role_fixture", ["staff_user", "reviewer_user", "coach_user"])
def test_only_administrators_reach_the_accounts_pages(request, client, role_fixture, town):
    user = request.getfixturevalue(role_fixture)
    target = request.getfixturevalue("other_staff_user")
    assert sign_in(client, user).status_code == 303
    for path in ("/admin/accounts/", "/admin/accounts/invite", f"/admin/accounts/{target.id}"):
        assert client.get(path).status_code == 403, path
    posts = {
        "/admin/accounts/invite": invite_form(town),
        f"/admin/accounts/{target.id}/access": {"role": "reviewer", "town": ""},
        f"/admin/accounts/{target.id}/deactivate": {},
        f"/admin/accounts/{target.id}/reactivate": {},
        f"/admin/accounts/{target.id}/invitation": {},
    }
    for path, data in posts.items():
        assert client.post(path, data=data).status_code == 403, path
    target = reload(target)
    assert target.role == "staff" and target.active
    assert find(NEW_EMAIL) is None and outbox() == []


@pytest.mark.parametrize("role_fixture", ["staff_user", "reviewer_user", "coach_user"])
def test_the_services_refuse_everyone_but_administrators(request, role_fixture, other_staff_user):
    actor = request.getfixturevalue(role_fixture)
    for act in (
        lambda: accounts.change_access(other_staff_user, "reviewer", None, actor),
        lambda: accounts.deactivate(other_staff_user, actor),
        lambda: accounts.reactivate(other_staff_user, actor),
        lambda: accounts.reinvite(other_staff_user, actor),
    ):
        with pytest.raises(AccountError) as refused:
            act()
        assert refused.value.status == 403
    assert reload(other_staff_user).active
