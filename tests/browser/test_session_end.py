"""A session ended elsewhere, in a real browser: the page keeps the text and asks in place,
and a throttled attempt in that dialog says how long to wait."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from sct_forms.extensions import db
from sct_forms.models import SignInFailure, StepAnswers
from sct_forms.models.types import utcnow
from tests.browser.conftest import new_context, sign_in
from tests.conftest import PASSWORD


def test_signing_out_elsewhere_ends_a_copied_session_and_the_dialog_says_how_long_to_wait(
    page, browser, live_server, accounts
):
    staff = accounts.staff
    toolkit_id = live_server.create_toolkit(staff)
    sign_in(page, live_server, staff.email)
    page.goto(live_server.url_for(f"/toolkits/{toolkit_id}/steps/context"))

    # Someone else holds a copy of the cookie and signs out with it: both copies end.
    thief = new_context(browser)
    try:
        thief.add_cookies(page.context.cookies())
        other = thief.new_page()
        other.goto(live_server.url_for(f"/towns/{staff.town.slug}"))
        with other.expect_navigation():
            other.get_by_role("button", name="Sign out").click()
        other.goto(live_server.url_for(f"/towns/{staff.town.slug}"))
        expect(other).to_have_url(re.compile(r"/sign-in"))
    finally:
        thief.close()

    typed = "Typed after the session was signed out elsewhere"
    page.locator("#q-goals").press_sequentially(typed)
    dialog = page.get_by_role("dialog", name="Sign in again to save your text")
    expect(dialog).to_be_visible(timeout=8_000)

    # Guesses from this address were recorded just now: the dialog is refused with the wait.
    with live_server.app.app_context():
        db.session.add_all(
            SignInFailure(email=staff.email, remote_addr="127.0.0.1", at=utcnow())
            for _ in range(6)
        )
        db.session.commit()
    page.locator("#reauth-password").fill(PASSWORD)
    page.locator("#reauth-password").press("Enter")
    alert = dialog.get_by_role("alert")
    expect(alert).to_have_text(
        re.compile(r"^Too many failed sign-in attempts\. Wait \d+ seconds?, then try again\.$")
    )
    wait = int(re.search(r"Wait (\d+)", alert.inner_text()).group(1))
    expect(page.locator("#q-goals")).to_have_value(typed)

    page.wait_for_timeout((wait + 1) * 1000)
    page.locator("#reauth-password").fill(PASSWORD)
    page.locator("#reauth-password").press("Enter")
    expect(dialog).to_be_hidden()
    with live_server.app.app_context():
        saved = db.session.query(StepAnswers).filter_by(toolkit_id=toolkit_id, step_key="context")
        assert saved.one().data["goals"] == typed
