"""Each role's start page and the error page, reached through the real sign-in form, under axe."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    Accounts,
    assert_id_references_resolve,
    assert_no_axe_violations,
    sign_in,
)


def landing(accounts: Accounts, role: str) -> tuple[str, str]:
    """(path, first-level heading) of the page each role lands on after signing in."""
    return {
        "staff": (f"/towns/{accounts.town.slug}", accounts.town.name),
        "reviewer": ("/review/queue", "Review queue"),
        "coach": ("/coaching/towns", "My towns"),
        "admin": ("/admin/", "Administration"),
    }[role]


@pytest.mark.parametrize("role", ["staff", "reviewer", "coach", "admin"])
def test_each_role_lands_on_its_own_page_with_no_axe_violations(page, live_server, accounts, role):
    sign_in(page, live_server, accounts.by_role(role).email)

    path, heading = landing(accounts, role)
    expect(page).to_have_url(live_server.url_for(path))
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation.locator('[aria-current="page"]')).to_have_count(1)
    if role == "coach":
        expect(page.get_by_role("link", name=accounts.town.name)).to_be_visible()
    if role == "staff":
        expect(page.get_by_role("heading", level=2, name=accounts.cycle_name)).to_be_visible()

    assert_id_references_resolve(page)
    assert_no_axe_violations(page, f"the {role} landing page")


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "anonymous"])
def test_not_found_page_keeps_the_layout_with_no_axe_violations(
    page, live_server, accounts, signed_in
):
    if signed_in:
        sign_in(page, live_server, accounts.staff.email)
    response = page.goto(live_server.url_for("/no-such-page"))
    assert response is not None and response.status == 404

    expect(page.get_by_role("banner")).to_have_count(1)
    expect(page.get_by_role("main")).to_have_count(1)
    expect(page.get_by_role("navigation", name="Main")).to_have_count(1 if signed_in else 0)
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page).to_have_title("Page not found – Sustainable CT Forms")
    expect(page.get_by_role("link", name="Go to your home page")).to_be_visible()

    assert_id_references_resolve(page)
    assert_no_axe_violations(page, f"the 404 page ({'signed in' if signed_in else 'anonymous'})")
