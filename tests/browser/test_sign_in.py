"""Signing in with a real browser: errors people can hear, the keyboard path, and axe."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import (
    active_element,
    assert_id_references_resolve,
    assert_no_axe_violations,
    focus_document_start,
)
from tests.conftest import PASSWORD


def test_wrong_password_is_announced_keeps_the_email_and_empties_the_password(
    page, live_server, accounts
):
    page.goto(live_server.url_for("/sign-in"))
    email = page.get_by_label("Email address")
    password = page.get_by_label("Password")
    email.fill(accounts.staff.email)
    password.fill("not the password")
    with page.expect_navigation() as navigation:
        password.press("Enter")
    assert navigation.value.status == 401

    summary = page.locator("#error-summary")
    expect(summary).to_contain_text(
        "The email address or password is not right. Check both and try again."
    )
    # Announced: an alert itself, or inside a live region.
    announcer = summary.evaluate(
        """el => {
            const found = el.closest(
                '[role="alert"], [aria-live="polite"], [aria-live="assertive"]'
            );
            return found && (found.getAttribute("role") || found.getAttribute("aria-live"));
        }"""
    )
    assert announcer in ("alert", "polite", "assertive"), "the error is not announced"
    expect(summary).to_have_attribute("role", "alert")

    expect(email).to_have_value(accounts.staff.email)
    expect(password).to_have_value("")
    # Focus goes to the error, so it is read out at once, and the next Tab leads into the form.
    expect(summary).to_be_focused()
    page.keyboard.press("Tab")
    expect(email).to_be_focused()


def test_sign_in_by_keyboard_alone(page, live_server, accounts):
    """No mouse: Tab from the top of the page through the skip link to the form, type, Enter."""
    page.goto(live_server.url_for("/sign-in"))
    focus_document_start(page)

    stops = []
    for _ in range(12):
        page.keyboard.press("Tab")
        stops.append(active_element(page))
        if stops[-1]["id"] == "email":
            break
    else:
        raise AssertionError(f"Tab never reached the email field; stops: {stops}")
    assert stops[0]["text"] == "Skip to main content", stops
    assert all(stop["tag"] != "body" for stop in stops), f"focus was lost on the way: {stops}"

    page.keyboard.type(accounts.staff.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    town = accounts.staff.town
    page.wait_for_url(live_server.url_for(f"/towns/{town.slug}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(town.name)


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(page, live_server):
    page.goto(live_server.url_for("/sign-in"))
    focus_document_start(page)

    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to main content")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()  # shown when focused, not left off-screen

    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    expect(page).to_have_url(re.compile(r"/sign-in#main$"))
    page.keyboard.press("Tab")
    expect(page.get_by_label("Email address")).to_be_focused()


def test_sign_in_page_has_no_axe_violations(page, live_server):
    page.goto(live_server.url_for("/sign-in"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert_id_references_resolve(page)
    assert_no_axe_violations(page, "the sign-in page")


def test_sign_in_page_with_validation_errors_has_no_axe_violations(page, live_server):
    page.goto(live_server.url_for("/sign-in"))
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Sign in").click()
    assert navigation.value.status == 422

    summary = page.locator("#error-summary")
    expect(summary).to_have_attribute("role", "alert")
    expect(summary.get_by_role("link", name="Enter your email address.")).to_have_attribute(
        "href", "#email"
    )
    expect(summary.get_by_role("link", name="Enter your password.")).to_have_attribute(
        "href", "#password"
    )
    for field_id in ("email", "password"):
        field = page.locator(f"#{field_id}")
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_attribute("aria-describedby", f"{field_id}-error")
    expect(summary).to_be_focused()

    assert_id_references_resolve(page)
    assert_no_axe_violations(page, "the sign-in page showing validation errors")
