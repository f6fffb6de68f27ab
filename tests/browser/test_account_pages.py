"""The password pages in a real browser: reached from sign-in and the header, under axe."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from sct_forms.auth import tokens
from sct_forms.extensions import db
from sct_forms.models import OutboxMessage, User
from tests.browser.conftest import (
    assert_id_references_resolve,
    assert_no_axe_violations,
    sign_in,
)
from tests.conftest import PASSWORD

NEW_PASSWORD = "marble kettle orbit canyon"


def check_page(page, label: str) -> None:
    assert_id_references_resolve(page)
    assert_no_axe_violations(page, label)


def test_forgot_password_from_sign_in_to_a_new_password(page, live_server, accounts):
    page.goto(live_server.url_for("/sign-in"))
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    check_page(page, "the forgot-password page")

    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter your email address.")
    check_page(page, "the forgot-password page with an error")

    page.get_by_label("Email address").fill(accounts.staff.email)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    check_page(page, "the link-sent page")

    with live_server.app.app_context():
        message = db.session.query(OutboxMessage).filter_by(to_address=accounts.staff.email).one()
        path = re.search(r"http://127\.0\.0\.1(/password/reset/\S+)", message.body_text).group(1)
    page.goto(live_server.url_for(path))
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    page.get_by_label("New password", exact=True).fill("password1234")
    page.get_by_label("New password again").fill("password1234")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("alert")).to_contain_text("most common passwords")
    expect(page.get_by_label("New password", exact=True)).to_have_attribute("aria-invalid", "true")
    check_page(page, "the new-password page with an error")

    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_text("Your new password is set. Sign in with it now.")).to_be_visible()
    sign_in(page, live_server, accounts.staff.email, NEW_PASSWORD)
    expect(page).to_have_url(live_server.url_for(f"/towns/{accounts.town.slug}"))

    page.goto(live_server.url_for(path))
    expect(page.get_by_role("heading", level=1)).to_have_text("This link was already used")
    check_page(page, "the used-link page")


def test_change_password_from_the_header(page, live_server, accounts):
    sign_in(page, live_server, accounts.reviewer.email)
    page.get_by_role("banner").get_by_role("link", name="Change password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change your password")
    check_page(page, "the change-password page")

    page.get_by_label("Current password").fill("not it at all")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("Your current password is not right.")
    check_page(page, "the change-password page with an error")

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password is changed.")).to_be_visible()
    expect(page).to_have_url(live_server.url_for("/review/queue"))


def test_an_invitation_page_and_an_expired_link(page, live_server, accounts):
    with live_server.app.app_context():
        user = db.session.query(User).filter_by(email=accounts.coach.email).one()
        raw = tokens.issue(user, "invite", timedelta(days=7))
        expired = tokens.issue(user, "reset", timedelta(seconds=-1))
        db.session.commit()
    page.goto(live_server.url_for(f"/invitation/{raw}"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome: choose your password")
    check_page(page, "the invitation page")

    page.goto(live_server.url_for(f"/password/reset/{expired}"))
    expect(page.get_by_role("heading", level=1)).to_have_text("This link has expired")
    expect(page.get_by_role("link", name="Send me a new link")).to_be_visible()
    check_page(page, "the expired-link page")
