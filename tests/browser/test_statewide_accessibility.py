"""The statewide view (a reviewer) and the public list of certified towns (nobody signed in),
under axe with the WCAG 2.2 AA rules."""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import expect

from sct_forms.domain.certificates import new_serial
from sct_forms.extensions import db
from sct_forms.models import Certificate, Municipality, Toolkit, User, utcnow
from tests.browser.conftest import (
    WCAG22_TAGS,
    assert_id_references_resolve,
    assert_no_axe_violations,
    sign_in,
)


def test_statewide_view_and_certified_towns_have_no_axe_violations(
    page, second_page, live_server, accounts
):
    toolkit_id = live_server.create_toolkit(accounts.staff)
    serial = new_serial(date.today().year)
    with live_server.app.app_context():
        toolkit = db.session.get(Toolkit, toolkit_id)
        reviewer = db.session.query(User).filter_by(email=accounts.reviewer.email).one()
        toolkit.state, toolkit.submitted_at = "in_review", utcnow() - timedelta(days=9)
        toolkit.revision_count, toolkit.assigned_reviewer_id = 1, reviewer.id
        town = db.session.query(Municipality).filter_by(slug=accounts.town.slug).one()
        db.session.add(
            Certificate(
                serial=serial,
                municipality_id=town.id,
                cycle_id=toolkit.cycle_id,
                tier="bronze",
                expires_on=date(date.today().year + 2, 12, 31),
            )
        )
        db.session.commit()

    sign_in(page, live_server, accounts.reviewer.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Statewide").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Statewide view")
    expect(page.get_by_role("img", name="Each reviewer's work")).to_be_visible()
    expect(
        page.get_by_role(
            "table", name="Waiting for reviewers, by days since submission, in numbers"
        )
    ).to_be_visible()
    assert_id_references_resolve(page)
    assert_no_axe_violations(page, "the statewide view", tags=WCAG22_TAGS)

    second_page.goto(live_server.url_for("/verify"))
    second_page.get_by_role("link", name="See all certified towns").click()
    expect(second_page.get_by_role("heading", level=1)).to_have_text("Certified towns")
    link = second_page.get_by_role("link", name=f"Check certificate {serial}")
    expect(link).to_have_attribute("href", f"/verify/{serial}")
    assert_id_references_resolve(second_page)
    assert_no_axe_violations(second_page, "the certified towns", tags=WCAG22_TAGS)
