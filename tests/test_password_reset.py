"""Resetting a forgotten password by an emailed single-use link."""

from __future__ import annotations

import re
import socket
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from sct_forms.auth.passwords import verify_password
from sct_forms.auth.tokens import digest
from sct_forms.extensions import db
from sct_forms.models import AccountToken, utcnow
from tests.account_helpers import (
    STRONG,
    STRONGER,
    audit_events,
    is_signed_in,
    link_path,
    outbox,
    reload,
    second_browser,
)
from tests.conftest import PASSWORD, sign_in

SAME_ANSWER = "If an account uses that address, we sent a link to it."


def ask_for_link(client, email: str):
    return client.post("/password/forgot", data={"email": email}, follow_redirects=True)


def page_text(response) -> str:
    """The page without its CSRF tokens, which differ from second to second."""
    return re.sub(r'"[\w.-]{40,}"', '"token"', response.get_data(as_text=True))


def reset_link(user) -> str:
    return link_path(outbox(kind="account.password_reset", to=user.email)[-1], "/password/reset/")


def choose(client, path: str, password: str = STRONG):
    return client.post(path, data={"new_password": password, "confirm_password": password})


# --- asking for a link -------------------------------------------------------------------------


def test_the_sign_in_page_offers_a_link_for_a_forgotten_password(client):
    html = client.get("/sign-in").get_data(as_text=True)
    assert 'href="/password/forgot"' in html
    page = client.get("/password/forgot")
    assert page.status_code == 200
    assert 'autocomplete="username"' in page.get_data(as_text=True)


def test_a_known_address_gets_a_link_and_the_database_keeps_only_its_hash(client, staff_user):
    response = client.post("/password/forgot", data={"email": "  Dana.Staff@Windham.test "})
    assert response.status_code == 303
    assert response.headers["Location"] == "/password/forgot/sent"
    [message] = outbox(kind="account.password_reset")
    assert message.to_address == staff_user.email
    assert "1 hour" in message.body_text
    raw = reset_link(staff_user).rsplit("/", 1)[1]
    [token] = db.session.scalars(select(AccountToken))
    assert token.token_hash == digest(raw) and raw not in token.token_hash
    assert token.purpose == "reset" and token.user_id == staff_user.id
    assert token.expires_at - token.created_at == timedelta(hours=1)
    assert token.used_at is None
    [event] = audit_events("user.password_reset_requested")
    assert event.details["outcome"] == "sent"


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, staff_user):
    known = ask_for_link(client, staff_user.email)
    unknown = ask_for_link(client, "nobody@nowhere.test")
    assert known.status_code == unknown.status_code == 200
    assert SAME_ANSWER in unknown.get_data(as_text=True)
    assert page_text(known) == page_text(unknown)
    assert len(outbox()) == 1
    outcomes = [e.details["outcome"] for e in audit_events("user.password_reset_requested")]
    assert outcomes == ["sent", "no_account"]


def test_a_deactivated_account_gets_no_link(client, staff_user):
    staff_user.active = False
    db.session.commit()
    response = ask_for_link(client, staff_user.email)
    assert SAME_ANSWER in response.get_data(as_text=True)
    assert outbox() == []


def test_asking_often_cannot_flood_a_mailbox(app, client, staff_user):
    limit = app.config["PASSWORD_RESET_EMAILS_PER_HOUR"]
    answers = {page_text(ask_for_link(client, staff_user.email)) for _ in range(6)}
    assert len(answers) == 1  # the page never says it stopped sending
    assert len(outbox(kind="account.password_reset")) == limit
    outcomes = [e.details["outcome"] for e in audit_events("user.password_reset_requested")]
    assert outcomes == ["sent"] * limit + ["throttled"] * (6 - limit)


def test_the_limit_is_per_hour(app, client, staff_user):
    for _ in range(app.config["PASSWORD_RESET_EMAILS_PER_HOUR"]):
        ask_for_link(client, staff_user.email)
    db.session.execute(
        update(AccountToken).values(created_at=utcnow() - timedelta(minutes=61))
    )
    db.session.commit()
    ask_for_link(client, staff_user.email)
    assert len(outbox(kind="account.password_reset")) == 4


def test_a_badly_typed_address_is_explained(client):
    response = client.post("/password/forgot", data={"email": "not an address"})
    assert response.status_code == 422
    assert "Enter an email address like name@town.gov." in response.get_data(as_text=True)


def test_only_the_newest_link_works(client, staff_user):
    ask_for_link(client, staff_user.email)
    older = reset_link(staff_user)
    ask_for_link(client, staff_user.email)
    newer = reset_link(staff_user)
    assert client.get(older).status_code == 410
    assert client.get(newer).status_code == 200


# --- using the link ----------------------------------------------------------------------------


def test_the_link_sets_a_new_password_once_and_ends_every_session(app, client, staff_user):
    elsewhere = second_browser(app, staff_user)
    ask_for_link(client, staff_user.email)
    path = reset_link(staff_user)
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert staff_user.email in html and html.count('autocomplete="new-password"') == 2
    assert page.headers["Cache-Control"] == "no-store"
    assert client.get(path).status_code == 200  # opening it (a mail scanner, say) uses nothing

    response = choose(client, path)
    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in"
    user = reload(staff_user)
    assert verify_password(user.password_hash, STRONG)
    assert not is_signed_in(elsewhere)
    assert sign_in(app.test_client(), user, STRONG).status_code == 303
    assert db.session.scalar(select(AccountToken.used_at)) is not None
    [used] = audit_events("user.password_reset_by_link")
    assert used.object_id == str(user.id)
    [notice] = outbox(kind="account.password_changed")
    assert notice.to_address == user.email

    again = choose(client, path, STRONGER)
    assert again.status_code == 410
    assert "This link was already used" in again.get_data(as_text=True)
    assert verify_password(reload(staff_user).password_hash, STRONG)


def test_an_expired_link_offers_a_new_one(client, staff_user):
    ask_for_link(client, staff_user.email)
    path = reset_link(staff_user)
    db.session.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    for response in (client.get(path), choose(client, path)):
        html = response.get_data(as_text=True)
        assert response.status_code == 410
        assert "This link has expired" in html
        assert 'href="/password/forgot"' in html
    assert verify_password(reload(staff_user).password_hash, PASSWORD)


@pytest.mark.parametrize("token", ["x" * 43, "nonsense", "a" * 500])
def test_an_unknown_link_is_explained(client, staff_user, token):
    response = client.get(f"/password/reset/{token}")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "This link does not work" in html and 'href="/password/forgot"' in html


def test_a_weak_password_is_refused_and_the_link_still_works(client, staff_user):
    ask_for_link(client, staff_user.email)
    path = reset_link(staff_user)
    response = choose(client, path, "password1234")
    assert response.status_code == 422
    assert "most common passwords" in response.get_data(as_text=True)
    personal = choose(client, path, "dana staff windham")
    assert "your name, email address" in personal.get_data(as_text=True)
    assert choose(client, path).status_code == 303


def test_a_reset_link_is_no_invitation_link(client, staff_user):
    ask_for_link(client, staff_user.email)
    token = reset_link(staff_user).rsplit("/", 1)[1]
    assert client.get(f"/invitation/{token}").status_code == 404


def test_someone_signed_in_here_is_signed_out_by_a_reset(as_user, reviewer_user, staff_user):
    client = as_user(reviewer_user)
    ask_for_link(client, staff_user.email)
    choose(client, reset_link(staff_user))
    assert not is_signed_in(client)


# --- through a real mail server ----------------------------------------------------------------


class Collector:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp(app):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_DELIVERY="queue")
    yield collector
    controller.stop()


def test_the_reset_email_arrives_and_its_link_works(smtp, client, staff_user):
    ask_for_link(client, staff_user.email)
    [message] = smtp.messages
    assert message["To"].addresses[0].addr_spec == staff_user.email
    text = message.get_body(preferencelist=("plain",)).get_content()
    url = next(word for word in text.split() if "/password/reset/" in word)
    path = url.removeprefix("http://localhost")
    assert choose(client, path).status_code == 303
    assert len(smtp.messages) == 2  # and the notice that the password changed
    assert "was changed" in smtp.messages[1]["Subject"]
