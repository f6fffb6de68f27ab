"""Actions 1.2 and 1.3 in a real browser: started from the town page, filled in like a person,
reviewed with a change request, answered, resubmitted and approved; axe (WCAG 2.2 A and AA) on
every page on the way."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import (
    WCAG22_TAGS,
    assert_id_references_resolve,
    assert_no_axe_violations,
    new_context,
    sign_in,
)
from tests.browser.test_toolkit_forms import (
    Pick,
    days_ago,
    expect_step_percent,
    fill_answers,
    save_and_continue,
    upload_evidence,
    wait_for_autosave,
)
from tests.evidence.samples import png_bytes

SHOTS = Path("/tmp/shots")


def check_page(page, label: str) -> None:
    assert_id_references_resolve(page)
    assert_no_axe_violations(page, label, tags=WCAG22_TAGS)


def screenshot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def start_from_town_page(page, live_server, town_slug: str, number: str, first_step: str) -> int:
    """Press Start for action 1.2 or 1.3 on the town page; returns the record's id."""
    page.goto(live_server.url_for(f"/towns/{town_slug}"))
    panel = page.get_by_role("region", name="Actions 1.2 and 1.3")
    expect(panel.get_by_role("row")).to_have_count(3)  # the header, 1.2 and 1.3
    page.get_by_role("button", name=f"Start action {number}").click()
    page.wait_for_url(re.compile(rf"/toolkits/\d+/steps/{first_step}$"))
    return int(re.search(r"/toolkits/(\d+)/", page.url).group(1))


def add_row(page, button: str, focused: str) -> None:
    """Press a group's "Add another" button: the new row comes in place, focus on its field."""
    url = page.url
    page.get_by_role("button", name=button).click()
    expect(page.locator(focused)).to_be_focused()
    assert page.url == url, "adding a row must not leave the page"


def request_changes(page, live_server, record_id: int, step: str, target: str, text: str) -> None:
    """As the reviewer: claim the record, ask for a change on one field, send it to the town."""
    page.goto(live_server.url_for(f"/review/toolkits/{record_id}"))
    page.get_by_role("button", name="Start reviewing").click()
    expect(page.locator("#toolkit-status")).to_have_text("In review")
    check_page(page, "the review page")
    section = page.locator(f"#step-{step}")
    section.locator(f"#request-target-{step}").select_option(target)
    section.locator(f"#request-body-{step}").fill(text)
    section.get_by_role("button", name="Add change request").click()
    expect(page.locator(f"#step-{step} .request")).to_contain_text(text)
    page.get_by_label("Request changes: send the open change requests to the town").check()
    page.get_by_role("button", name="Record decision").click()
    expect(page).to_have_url(live_server.url_for("/review/queue"))


def answer_request_and_resubmit(
    page, live_server, record_id: int, field: str, request: str, new_answer: str
) -> None:
    """As staff: see the request on the record's page, follow it to the field, change the
    answer, say what changed, and send revision 2."""
    page.goto(live_server.url_for(f"/toolkits/{record_id}"))
    expect(page.locator("#toolkit-status")).to_have_text("Your turn: 1 change requested")
    requests = page.get_by_role("region", name="Change requests from the reviewers")
    expect(requests).to_contain_text(request)
    requests.locator(".request a").click()
    page.wait_for_url(re.compile(rf"/toolkits/{record_id}/steps/\w+#"))
    box = page.locator(f"#q-{field}-field .request")
    expect(box).to_contain_text(request)
    page.locator(f"#q-{field}").fill(new_answer)
    box.get_by_label("What did you change?").fill("Changed as asked.")
    box.get_by_label("Done: this request is dealt with").check()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Your answers are saved.")).to_be_visible()
    expect(page.locator(f"#q-{field}-field .request")).to_contain_text("Answered by the town")
    page.goto(live_server.url_for(f"/toolkits/{record_id}"))
    page.get_by_role("button", name="Send revision 2 to the reviewers").click()
    expect(page.locator("#toolkit-status")).to_have_text("With reviewers")


def approve_after_changes(page, live_server, record_id: int, changed_words: str) -> None:
    """As the reviewer: read what changed since revision 1, then approve revision 2."""
    page.goto(live_server.url_for(f"/review/toolkits/{record_id}"))
    page.get_by_role("link", name="Changes since revision 1").click()
    changes = page.locator("main")
    expect(changes.locator("ins").filter(has_text=changed_words)).to_have_count(1)
    expect(changes.locator('tr[id^="request-"]')).to_contain_text("Changed as asked.")
    check_page(page, "the changes view")
    page.goto(live_server.url_for(f"/review/toolkits/{record_id}"))
    page.get_by_role("button", name="Start reviewing").click()
    page.get_by_label("Approve: the record shows the action is done").check()
    page.get_by_role("button", name="Record decision").click()
    expect(page).to_have_url(live_server.url_for("/review/queue"))


# --- 1.2 Participate in Equity Training ---------------------------------------------------------

SESSIONS = {
    "cohort": Pick("winter"),
    "sessions.0.date": days_ago(100),
    "sessions.0.topic": "Why equity",
}
MORE_SESSIONS = {
    "sessions.1.date": days_ago(70),
    "sessions.1.topic": "Who is missing",
    "sessions.2.date": days_ago(40),
    "sessions.2.topic": "Sharing decisions",
}
ALL_THREE = ["session_1", "session_2", "session_3"]
ELECTED = {
    "members.0.name": "Rosa Diaz",
    "members.0.role": Pick("elected_official"),
    "members.0.attended": ALL_THREE,
}
STAFF = {
    "members.1.name": "Dana Ortiz",
    "members.1.role": Pick("municipal_staff"),
    "members.1.email": "dana@example.org",
    "members.1.attended": ALL_THREE,
}
# The commissioner missed the last session at first.
COMMISSIONER = {
    "members.2.name": "Lee Park",
    "members.2.role": Pick("commissioner"),
    "members.2.attended": ["session_1", "session_2"],
}


def test_the_training_record_is_filled_reviewed_with_a_change_and_approved(
    live_server, accounts, browser
):
    live_server.create_catalog()
    staff_context, reviewer_context = new_context(browser), new_context(browser)
    town, review = staff_context.new_page(), reviewer_context.new_page()
    try:
        sign_in(town, live_server, accounts.staff.email)
        town.goto(live_server.url_for(f"/towns/{accounts.town.slug}"))
        check_page(town, "the town page with actions 1.2 and 1.3")
        record_id = start_from_town_page(
            town, live_server, accounts.town.slug, "1.2", first_step="series"
        )
        expect(town.get_by_role("heading", level=1)).to_have_text("Step 1 of 3 The training series")

        # Step 1: a choice, and one row per session added in place.
        fill_answers(town, SESSIONS)
        add_row(town, "Add another: Session", "#q-sessions-1-date")
        add_row(town, "Add another: Session", "#q-sessions-2-date")
        fill_answers(town, MORE_SESSIONS)
        wait_for_autosave(town)
        expect_step_percent(town, 100)
        check_page(town, "1.2 step 1, filled")
        save_and_continue(town, f"/toolkits/{record_id}/steps/delegation")

        # Step 2: one row per person, a role picked and the sessions ticked.
        fill_answers(town, ELECTED)
        add_row(town, "Add another: Person", "#q-members-1-name")
        fill_answers(town, STAFF)
        # An optional question says so once.
        expect(town.locator('label[for="q-members-1-email"]')).to_have_text("Email (optional)")
        add_row(town, "Add another: Person", "#q-members-2-name")
        fill_answers(town, COMMISSIONER)
        wait_for_autosave(town)
        # Every question is answered, but the rule still lacks a commissioner at all sessions.
        expect(town.locator("#step-meter")).not_to_have_attribute("value", "100")
        expect(town.locator("#current-step-state")).to_have_text("In progress")
        check_page(town, "1.2 step 2, filled")
        screenshot(town, "1.2-delegation.png")
        save_and_continue(town, f"/toolkits/{record_id}/steps/confirmation")

        # Step 3: a note and the confirmations as a file.
        town.locator("#q-notes").fill("The program's confirmation emails, one file.")
        upload_evidence(town, "confirmations.pdf", "Attendance confirmations")
        expect_step_percent(town, 100)
        check_page(town, "1.2 step 3, filled")
        save_and_continue(town, f"/toolkits/{record_id}")

        # The overview says in words who is missing; there is nothing to submit yet.
        missing = town.locator(".missing-list")
        expect(missing).to_contain_text(
            "The delegation needs 1 person in the role “Member of a board or commission” "
            "who attended all 3 sessions. It has 0."
        )
        expect(missing).to_contain_text(
            "Lee Park (Member of a board or commission) attended 2 of the 3 sessions."
        )
        expect(town.get_by_text("You can submit when every step is complete.")).to_be_visible()
        expect(town.get_by_role("button", name="Submit for review")).to_have_count(0)
        check_page(town, "the 1.2 overview, still missing a commissioner")

        # The sentence leads to the delegation; Lee Park did attend the third session.
        missing.get_by_role("link", name=re.compile("Lee Park")).click()
        town.wait_for_url(re.compile(rf"/toolkits/{record_id}/steps/delegation#"))
        town.locator("#q-members-2-attended-session_3").check()
        town.get_by_role("button", name="Save draft").click()
        expect(town.get_by_text("Your answers are saved.")).to_be_visible()
        expect_step_percent(town, 100)
        town.goto(live_server.url_for(f"/toolkits/{record_id}"))
        expect(town.get_by_text("Every step is complete.")).to_be_visible()
        expect(town.locator(".missing-list")).to_have_count(0)
        town.get_by_role("button", name="Submit for review").click()
        expect(town.locator("#toolkit-status")).to_have_text("With reviewers")

        sign_in(review, live_server, accounts.reviewer.email)
        request = "Say which file covers Lee Park."
        request_changes(review, live_server, record_id, "confirmation", "notes", request)
        answer_request_and_resubmit(
            town,
            live_server,
            record_id,
            "notes",
            request,
            "The program's confirmation emails, one file; Lee Park's is on page 3.",
        )
        approve_after_changes(review, live_server, record_id, "page 3")

        assert live_server.audit_actions(record_id)[-1] == "toolkit.approved"
    finally:
        staff_context.close()
        reviewer_context.close()


# --- 1.3 Develop and Adopt a Statement on Equity ------------------------------------------------

STATEMENT = {
    "text": "Our town commits to hear every resident, in their language, before it decides.",
    "governing_body": "Town Council",
    "adopted_on": days_ago(25),
    "adopted_by": Pick("resolution"),
}
PUBLICATION = {
    "where": "The town website and the town hall lobby",
    "languages": ["english", "spanish"],
    "shared": "A bilingual mailing to every household.",
}


def test_the_statement_record_is_filled_reviewed_with_a_change_and_approved(
    live_server, accounts, browser
):
    live_server.create_catalog()
    staff_context, reviewer_context = new_context(browser), new_context(browser)
    town, review = staff_context.new_page(), reviewer_context.new_page()
    try:
        sign_in(town, live_server, accounts.staff.email)
        record_id = start_from_town_page(
            town, live_server, accounts.town.slug, "1.3", first_step="statement"
        )

        # Step 1: text, a date and a choice.
        expect(town.get_by_role("heading", level=1)).to_have_text(
            "Step 1 of 3 The statement on equity"
        )
        fill_answers(town, STATEMENT)
        wait_for_autosave(town)
        expect_step_percent(town, 100)
        check_page(town, "1.3 step 1, filled")
        screenshot(town, "1.3-statement.png")
        save_and_continue(town, f"/toolkits/{record_id}/steps/adoption_record")

        # Step 2: the signed page, as a photo with its description and the consent box ticked.
        town.locator("#q-meeting").fill("Town Council, regular meeting, item 7")
        town.get_by_label("File", exact=True).set_input_files(
            {"name": "signed-resolution.png", "mimeType": "image/png", "buffer": png_bytes()}
        )
        town.get_by_label("Title", exact=True).fill("Signed resolution")
        town.get_by_label("Description of the image (for images)").fill(
            "The signed last page of the resolution."
        )
        town.get_by_label(
            "For photos: the people who can be recognized agreed to the photo being used."
        ).check()
        with town.expect_navigation():
            town.get_by_role("button", name="Upload the file").click()
        expect(town.locator("#evidence")).to_contain_text("The file is uploaded.")
        expect(town.locator("#q-meeting")).to_have_value("Town Council, regular meeting, item 7")
        expect_step_percent(town, 100)
        check_page(town, "1.3 step 2, filled")
        save_and_continue(town, f"/toolkits/{record_id}/steps/publication")

        # Step 3: where residents read it, and in which languages.
        fill_answers(town, PUBLICATION)
        check_page(town, "1.3 step 3, filled")
        save_and_continue(town, f"/toolkits/{record_id}")

        expect(town.get_by_text("Every step is complete.")).to_be_visible()
        check_page(town, "the 1.3 overview")
        town.get_by_role("button", name="Submit for review").click()
        expect(town.locator("#toolkit-status")).to_have_text("With reviewers")

        sign_in(review, live_server, accounts.reviewer.email)
        request = "Give the exact web address."
        request_changes(review, live_server, record_id, "publication", "where", request)
        answer_request_and_resubmit(
            town,
            live_server,
            record_id,
            "where",
            request,
            "https://windham.example.org/equity and the town hall lobby",
        )
        approve_after_changes(review, live_server, record_id, "windham.example.org/equity")

        town.goto(live_server.url_for(f"/towns/{accounts.town.slug}"))
        expect(town.get_by_role("region", name="Actions 1.2 and 1.3")).to_contain_text("Approved")
        assert live_server.audit_actions(record_id)[-1] == "toolkit.approved"
    finally:
        staff_context.close()
        reviewer_context.close()
