"""Equity coaching in a real browser, under axe (WCAG 2.2 A and AA): the town's request page
empty, refused and waiting; the administrators' requests page; the coach's towns, and a step
and a record's page with the coach's advice and form. The meeting choice works by keyboard."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import (
    WCAG22_TAGS,
    assert_id_references_resolve,
    assert_no_axe_violations,
    new_context,
    sign_in,
    tab_to,
)


def check_page(page, label: str) -> None:
    assert_id_references_resolve(page)
    assert_no_axe_violations(page, label, tags=WCAG22_TAGS)


def ask_for_a_coach_by_keyboard(page) -> None:
    """Fill the request like a keyboard user: type, Tab into the meeting group, arrow to a
    choice, Tab on, type, and send with Enter on the button."""
    page.locator("#topics").focus()
    page.keyboard.type("Planning a bilingual meeting about the park.")
    tab_to(page, "input[name=meeting]", max_steps=3)
    # Tab enters a radio group once, on its first choice when none is chosen yet; the arrow
    # keys move along the group and choose.
    expect(page.locator("#meeting-phone")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#meeting-video")).to_be_focused()
    expect(page.get_by_label("By video call")).to_be_checked()
    tab_to(page, "#availability", max_steps=2)  # one stop for the whole group
    page.keyboard.type("Tuesday mornings")
    tab_to(page, "form[action$='/request'] button[type=submit]", max_steps=3)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_coaching_pages_have_no_axe_violations_and_the_request_works_by_keyboard(
    browser, live_server, accounts
):
    town = accounts.town
    toolkit_id = live_server.create_toolkit(accounts.staff)
    request_url = live_server.url_for(f"/coaching/towns/{town.slug}/request")

    staff = new_context(browser)
    try:
        page = staff.new_page()
        sign_in(page, live_server, accounts.staff.email)
        page.goto(request_url)
        expect(page.get_by_role("heading", level=1)).to_have_text(
            f"Equity coaching for {town.name}"
        )
        check_page(page, "the request page with no request")

        page.get_by_role("button", name="Ask for a coach").click()
        summary = page.get_by_role("alert").filter(has_text="There is a problem")
        expect(summary.get_by_role("link")).to_have_count(3)
        expect(page.locator("#meeting-phone")).to_have_attribute("aria-invalid", "true")
        check_page(page, "the request page after a refused request")

        ask_for_a_coach_by_keyboard(page)
        expect(page).to_have_url(request_url)
        waiting = page.get_by_role("region", name="Your request is waiting for a coach")
        expect(waiting).to_contain_text("By video call")
        check_page(page, "the request page with an open request")
    finally:
        staff.close()

    admin = new_context(browser)
    try:
        page = admin.new_page()
        sign_in(page, live_server, accounts.admin.email)
        page.goto(live_server.url_for("/coaching/requests"))
        expect(
            page.get_by_role("heading", level=2, name="1 request waiting for a coach")
        ).to_be_visible()
        expect(page.get_by_label(f"Coach for {town.name}")).to_be_visible()
        expect(page.get_by_role("row", name=re.compile(town.name))).to_contain_text(
            accounts.coach.name
        )
        check_page(page, "the coaching requests page")
    finally:
        admin.close()

    coach = new_context(browser)
    try:
        page = coach.new_page()
        sign_in(page, live_server, accounts.coach.email)
        expect(page).to_have_url(live_server.url_for("/coaching/towns"))
        expect(page.get_by_role("table").get_by_role("link")).to_have_count(1)
        check_page(page, "the coach's towns")

        page.goto(live_server.url_for(f"/toolkits/{toolkit_id}/steps/outreach"))
        page.get_by_label("Your advice for the town on step 3").fill("Ask the library to host.")
        page.get_by_role("button", name="Send advice to the town").click()
        page.wait_for_url(re.compile(rf"/toolkits/{toolkit_id}/steps/outreach#coach-comments$"))
        advice = page.get_by_role("region", name="Advice from your equity coach")
        expect(advice).to_contain_text("Ask the library to host.")
        expect(advice.get_by_role("button", name="Send advice to the town")).to_be_visible()
        check_page(page, "a step page with the coach's advice and form")

        page.goto(live_server.url_for(f"/toolkits/{toolkit_id}"))
        advice = page.get_by_role("region", name="Advice from your equity coach")
        expect(advice).to_contain_text("Ask the library to host.")
        expect(advice.get_by_role("textbox")).to_be_visible()
        check_page(page, "a record's page with the coach's advice and form")
    finally:
        coach.close()
