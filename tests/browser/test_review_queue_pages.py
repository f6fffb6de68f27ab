"""The review queue's pages in a real browser: the pager is accessible, its links keep the
filters, and filtering in place (htmx) starts again from the first page."""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import expect

from sct_forms.cycles import current_cycle
from sct_forms.domain.forms import Form
from sct_forms.domain.workflow import State
from sct_forms.extensions import db
from sct_forms.models import Action, Municipality, Toolkit, User, utcnow
from tests.browser.conftest import assert_no_axe_violations, new_context, sign_in

TOOLKITS = 55  # a full page and five more


def fill_the_queue(live_server, accounts) -> None:
    """TOOLKITS submitted toolkits in the current cycle, one per town and action, oldest first."""
    live_server.create_catalog()
    towns = [accounts.town] + [live_server.create_town() for _ in range(TOOLKITS // 7)]
    with live_server.app.app_context():
        cycle = current_cycle(date.today())
        staff = db.session.query(User).filter_by(email=accounts.staff.email).one()
        actions = db.session.query(Action).filter_by(catalog_year=cycle.catalog_year).all()
        now = utcnow()
        for n in range(TOOLKITS):
            town = db.session.query(Municipality).filter_by(slug=towns[n // 7].slug).one()
            db.session.add(
                Toolkit(
                    municipality_id=town.id,
                    cycle_id=cycle.id,
                    form=Form.TOOLKIT,
                    paired_action_id=actions[n % 7].id,
                    definition_version="2024.1",
                    state=State.SUBMITTED,
                    confirmed_in_submission=True,
                    created_by_id=staff.id,
                    updated_by_id=staff.id,
                    revision_count=1,
                    # Every other one has waited 20 days, the others 3 (for the age filter).
                    submitted_at=now - timedelta(days=20 if n % 2 else 3, minutes=TOOLKITS - n),
                )
            )
        db.session.commit()


def test_a_reviewer_pages_through_the_queue_and_filters_it(live_server, accounts, browser):
    fill_the_queue(live_server, accounts)
    context = new_context(browser)
    page = context.new_page()
    try:
        sign_in(page, live_server, accounts.reviewer.email)
        page.goto(live_server.url_for("/review/queue"))
        pages = page.get_by_role("navigation", name="Pages")
        expect(page.locator("#queue-results [role=status]")).to_have_text(
            f"Showing 1–50 of {TOOLKITS} toolkits in the queue."
        )
        expect(pages.locator("[aria-current=page]")).to_have_text("Page 1 of 2")
        expect(pages.get_by_role("link", name="Previous page")).to_have_count(0)
        assert_no_axe_violations(page, "review queue, page 1")

        pages.get_by_role("link", name="Next page").click()
        expect(page).to_have_url(re.compile(r"/review/queue\?page=2$"))
        expect(page.locator("#queue-results [role=status]")).to_have_text(
            f"Showing 51–{TOOLKITS} of {TOOLKITS} toolkits in the queue."
        )
        expect(page.locator("tbody tr")).to_have_count(TOOLKITS - 50)
        assert_no_axe_violations(page, "review queue, page 2")

        # Filtering in place shows the first page of the filtered list, and the address says so.
        page.get_by_label("Waiting at least").select_option("7")
        half = TOOLKITS // 2
        expect(page.locator("#queue-results [role=status]")).to_have_text(
            f"{half} toolkits in the queue."
        )
        expect(page).to_have_url(re.compile(r"/review/queue\?[^#]*age=7"))
        assert "page=" not in page.url
        expect(page.get_by_role("navigation", name="Pages")).to_have_count(0)
    finally:
        context.close()
