"""The review loop in a real browser: submit, change requests, resubmit, take over, approve."""

from __future__ import annotations

from playwright.sync_api import expect

from sct_forms.extensions import db
from sct_forms.models import Toolkit, User
from tests.browser.conftest import assert_no_axe_violations, new_context, sign_in
from tests.toolkit_helpers import fill_completely


def complete(live_server, toolkit_id: int, email: str) -> None:
    with live_server.app.app_context():
        toolkit = db.session.get(Toolkit, toolkit_id)
        fill_completely(toolkit, db.session.query(User).filter_by(email=email).one())


def test_changes_requested_on_two_steps_then_approved_reaches_bronze(
    live_server, accounts, browser
):
    staff, reviewer = accounts.staff, accounts.reviewer
    toolkit_id = live_server.create_toolkit(staff)
    complete(live_server, toolkit_id, staff.email)
    town_url = live_server.url_for(f"/towns/{accounts.town.slug}")
    review_url = live_server.url_for(f"/review/toolkits/{toolkit_id}")

    staff_context, reviewer_context = new_context(browser), new_context(browser)
    town_side, review_side = staff_context.new_page(), reviewer_context.new_page()
    colleague_context = new_context(browser)
    colleague_side = colleague_context.new_page()
    try:
        # The town submits revision 1.
        sign_in(town_side, live_server, staff.email)
        town_side.goto(live_server.url_for(f"/toolkits/{toolkit_id}"))
        town_side.get_by_role("button", name="Submit for review").click()
        expect(town_side.locator("#toolkit-status")).to_have_text("With reviewers")

        # A reviewer picks it from the queue and asks for changes on two steps.
        sign_in(review_side, live_server, reviewer.email)
        review_side.goto(live_server.url_for("/review/queue"))
        assert_no_axe_violations(review_side, "review queue")
        review_side.get_by_role(
            "link", name=f"{accounts.town.name}: 3.4 Develop an Open Space Plan"
        ).click()
        review_side.get_by_role("button", name="Start reviewing").click()
        # Starting is a full page load: wait for the review form before scanning it.
        expect(review_side.locator("#request-body-context")).to_be_visible()
        assert_no_axe_violations(review_side, "review page")
        for step, target, text in (
            ("context", "team", "Give each team member's role."),
            ("outcomes", "closing_the_loop", "Say how and when you reported back."),
        ):
            section = review_side.locator(f"#step-{step}")
            section.locator(f"#request-target-{step}").select_option(target)
            section.locator(f"#request-body-{step}").fill(text)
            section.get_by_role("button", name="Add change request").click()
        review_side.get_by_label(
            "Request changes: send the open change requests to the town"
        ).check()
        review_side.get_by_role("button", name="Record decision").click()
        expect(review_side).to_have_url(live_server.url_for("/review/queue"))

        # The town sees both requests next to the fields they concern, fixes and answers them.
        town_side.goto(town_url)
        expect(town_side.get_by_text("Your turn: 2 changes requested")).to_be_visible()
        for step, field, new_text in (
            ("context", "team", "Parks director leads; two residents co-chair."),
            ("outcomes", "closing_the_loop", "Bilingual meeting on May 2 and a mailed summary."),
        ):
            town_side.goto(live_server.url_for(f"/toolkits/{toolkit_id}/steps/{step}"))
            field_box = town_side.locator(f"#q-{field}-field")
            expect(field_box.locator(".request")).to_be_visible()
            town_side.locator(f"#q-{field}").fill(new_text)
            # The answer to the request is saved with the step, by the step's own button.
            request_box = town_side.locator(f"#q-{field}-field .request")
            request_box.get_by_label("What did you change?").fill("Updated the answer.")
            request_box.get_by_label("Done: this request is dealt with").check()
            town_side.get_by_role("button", name="Save draft").click()
            expect(town_side.get_by_text("Your answers are saved.")).to_be_visible()
            expect(town_side.locator(f"#q-{field}-field .request")).to_contain_text(
                "Answered by the town"
            )
        town_side.goto(live_server.url_for(f"/toolkits/{toolkit_id}"))
        town_side.get_by_role("button", name="Send revision 2 to the reviewers").click()
        expect(town_side.locator("#toolkit-status")).to_have_text("With reviewers")

        # The reviewer looks only at what changed.
        review_side.goto(review_url)
        review_side.get_by_role("link", name="Changes since revision 1").click()
        changes = review_side.locator("main")
        # Inside the changed answer, the words put in are marked; the kept ones are not.
        expect(changes.locator("ins").filter(has_text="co-chair")).to_have_count(1)
        expect(changes.locator("ins").filter(has_text="two residents")).to_have_count(0)
        expect(changes).to_contain_text("Bilingual meeting on May 2")
        # Each request beside the town's answer to it.
        answered = changes.locator('tr[id^="request-"]').filter(has_text="Updated the answer.")
        expect(answered).to_have_count(2)
        expect(changes).not_to_contain_text("What are the goals of the action?")
        assert_no_axe_violations(review_side, "changes view")

        # The revision stays with that reviewer; a colleague sees who holds it and cannot
        # decide, until they take the review over, openly and with a confirmation.
        colleague = live_server.create_user("reviewer")
        sign_in(colleague_side, live_server, colleague.email)
        colleague_side.goto(review_url)
        expect(colleague_side.locator("#claim-notice")).to_contain_text(
            f"Reviewed by {reviewer.name} since"
        )
        for button in ("Start reviewing", "Record decision", "Add change request"):
            expect(colleague_side.get_by_role("button", name=button)).to_have_count(0)
        take_over = colleague_side.get_by_role("button", name="Take over this review")
        take_over.click()
        expect(colleague_side.locator("#take-over-confirm-error")).to_have_text(
            "Check the box to confirm you take over this review."
        )
        assert_no_axe_violations(colleague_side, "take-over not confirmed")
        colleague_side.get_by_label(f"I take over this review from {reviewer.name}.").check()
        colleague_side.locator("#take-over-reason").fill("Away this week.")
        colleague_side.get_by_role("button", name="Take over this review").click()
        expect(colleague_side.locator("#toolkit-reviewer")).to_have_text(colleague.name)

        # The first reviewer now sees the colleague as the holder and has no decision controls.
        review_side.goto(review_url)
        expect(review_side.locator("#claim-notice")).to_contain_text(
            f"Reviewed by {colleague.name} since"
        )
        expect(review_side.get_by_role("button", name="Start reviewing")).to_have_count(0)

        # The colleague starts reviewing revision 2 and approves it.
        colleague_side.get_by_role("button", name="Start reviewing").click()
        colleague_side.get_by_label("Approve: the toolkit meets the requirement").check()
        colleague_side.get_by_role("button", name="Record decision").click()

        town_side.goto(town_url)
        expect(town_side.locator("#tier-reached")).to_contain_text(
            "Level reached for the equity requirement: Bronze."
        )
        actions = live_server.audit_actions(toolkit_id)
        assert "toolkit.review_taken_over" in actions and "toolkit.approved" in actions
    finally:
        staff_context.close()
        reviewer_context.close()
        colleague_context.close()
