"""A double click posts a form once: the second click comes while the next page loads."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from sct_forms.extensions import db
from sct_forms.models import ChangeRequest, ReviewComment, Toolkit, User
from sct_forms.review import services as review
from tests.browser.conftest import new_context, sign_in
from tests.toolkit_helpers import fill_completely


def claimed_toolkit(live_server, accounts) -> int:
    """A complete toolkit, submitted by the town and claimed by the reviewer."""
    toolkit_id = live_server.create_toolkit(accounts.staff)
    with live_server.app.test_request_context(), live_server.app.app_context():
        toolkit = db.session.get(Toolkit, toolkit_id)
        staff = db.session.query(User).filter_by(email=accounts.staff.email).one()
        reviewer = db.session.query(User).filter_by(email=accounts.reviewer.email).one()
        fill_completely(toolkit, staff)
        review.submit(toolkit, staff, "draft")
        review.start_review(toolkit, reviewer, "submitted")
        db.session.commit()
    return toolkit_id


def click_twice(button) -> None:
    """Two clicks as a person makes them: the second after the first post has left, on the same
    page (Playwright would wait for the next page before clicking again)."""
    button.evaluate("(b) => { b.click(); setTimeout(() => b.click(), 200); }")


def count(live_server, model, toolkit_id: int) -> int:
    with live_server.app.app_context():
        return db.session.query(model).filter_by(toolkit_id=toolkit_id).count()


def slowed(function):
    """``function`` as it runs on a busy server: the person has time to click again."""

    def slow(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        time.sleep(0.6)
        return function(*args, **kwargs)

    return slow


def test_a_double_click_posts_a_comment_a_change_request_and_a_decision_once(
    live_server, accounts, browser, monkeypatch
):
    toolkit_id = claimed_toolkit(live_server, accounts)
    monkeypatch.setattr(review, "add_comment", slowed(review.add_comment))
    monkeypatch.setattr(review, "add_change_request", slowed(review.add_change_request))
    monkeypatch.setattr(review, "decide", slowed(review.decide))
    context = new_context(browser)
    page = context.new_page()
    try:
        sign_in(page, live_server, accounts.reviewer.email)
        page.goto(live_server.url_for(f"/review/toolkits/{toolkit_id}"))

        section = page.locator("#step-context")
        section.locator("#comment-context").fill("The team list is clear.")
        click_twice(section.get_by_role("button", name="Add comment"))
        expect(page.locator("#step-context")).to_contain_text("The team list is clear.")

        section = page.locator("#step-context")
        section.locator("#request-body-context").fill("Give each team member's role.")
        click_twice(section.get_by_role("button", name="Add change request"))
        expect(page.locator("#step-context")).to_contain_text("Give each team member's role.")
        page.wait_for_load_state("networkidle")
        assert count(live_server, ReviewComment, toolkit_id) == 1
        assert count(live_server, ChangeRequest, toolkit_id) == 1

        # The decision: made once, and said once (a second post would be refused, and say so).
        page.get_by_label("Request changes: send the open change requests to the town").check()
        click_twice(page.get_by_role("button", name="Record decision"))
        expect(page).to_have_url(live_server.url_for("/review/queue"))
        page.wait_for_load_state("networkidle")
        expect(page.locator(".flash")).to_have_count(1)
    finally:
        context.close()
