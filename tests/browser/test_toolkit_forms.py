"""Filling in an Equity Toolkit in a real browser: every step, the keyboard alone, autosave,
an ended session and two people editing the same step, each checked with axe."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from playwright.sync_api import expect

from tests.browser.conftest import (
    assert_id_references_resolve,
    assert_no_axe_violations,
    focus_document_start,
    sign_in,
    tab_to,
)
from tests.conftest import PASSWORD
from tests.evidence.samples import pdf_bytes

TODAY = date.today()


def days_ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


def pdf_file(name: str) -> dict:
    return {"name": name, "mimeType": "application/pdf", "buffer": pdf_bytes()}


@dataclass(frozen=True)
class Pick:
    """The one option chosen in a radio group (choice or yes/no)."""

    value: str


def field_id(path: str) -> str:
    """The id of a question's field: ``groups.2.name`` -> ``q-groups-2-name``."""
    return "q-" + path.replace(".", "-")


def fill_answers(page, answers: dict) -> None:
    """Type text and dates, pick radios, tick checkboxes: the way a person fills the form."""
    for path, value in answers.items():
        if isinstance(value, Pick):
            page.locator(f"#{field_id(path)}-{value.value}").check()
        elif isinstance(value, list):
            for item in value:
                page.locator(f"#{field_id(path)}-{item}").check()
        else:
            page.locator(f"#{field_id(path)}").fill(value)


def expect_answers(page, answers: dict) -> None:
    """Every answer is in its field, and no other option is ticked."""
    for path, value in answers.items():
        if isinstance(value, Pick | list):
            wanted = [value.value] if isinstance(value, Pick) else value
            checked = page.locator(f'input[name="{path.replace(".", "-")}"]:checked')
            expect(checked).to_have_count(len(wanted))
            for item in wanted:
                expect(page.locator(f"#{field_id(path)}-{item}")).to_be_checked()
        else:
            expect(page.locator(f"#{field_id(path)}")).to_have_value(value)


def tab_out_of(page, field) -> None:
    """Press Tab until focus leaves the field (a date field has a Tab stop per part)."""
    field.focus()
    for _ in range(4):
        page.keyboard.press("Tab")
        if not field.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError("Tab did not leave the field")


def expect_step_percent(page, percent: int) -> None:
    expect(page.locator("#step-meter")).to_have_attribute("value", str(percent))
    expect(page.locator("#step-meter-label")).to_have_text(f"This step is {percent}% complete")


def save_and_continue(page, next_path: str) -> None:
    page.get_by_role("button", name=re.compile(r"^Save and (continue|review)$")).click()
    page.wait_for_url(re.compile(re.escape(next_path) + r"$"))


def upload_evidence(page, name: str, title: str) -> None:
    page.get_by_label("File", exact=True).set_input_files(pdf_file(name))
    page.get_by_label("Title", exact=True).fill(title)
    with page.expect_navigation():
        page.get_by_role("button", name="Upload the file").click()
    expect(page.locator("#evidence")).to_contain_text("The file is uploaded.")
    expect(page.get_by_role("row", name=re.compile(re.escape(title)))).to_contain_text(name)


def wait_for_autosave(page) -> None:
    expect(page.locator("#save-status")).to_have_text(re.compile(r"^Saved at "), timeout=8_000)


def step_path(toolkit_id: int, step_key: str) -> str:
    return f"/toolkits/{toolkit_id}/steps/{step_key}"


# --- answers for every step, as typed -----------------------------------------------------------

CONTEXT = {
    "goals": "Plan open space that every neighborhood can reach on foot.",
    "team": "Parks director (lead), a planner and two residents of the north end.",
    "community_data": "Census tract data, park access maps and the resident survey.",
    "start_date": days_ago(200),
}
GROUP_1 = {
    "groups.0.name": "Spanish-speaking families in the north end",
    "groups.0.effect": "They live farthest from any park.",
    "groups.0.usually_missing": Pick("yes"),
    "groups.0.barriers": ["language", "schedule"],
}
GROUP_REMOVED = {
    "groups.1.name": "A group entered by mistake",
    "groups.1.effect": "This row is removed again.",
    "groups.1.usually_missing": Pick("no"),
}
GROUP_3 = {
    "groups.2.name": "Older adults downtown",
    "groups.2.effect": "Benches and shade decide whether they can use a park.",
    "groups.2.usually_missing": Pick("no"),
    "groups.2.barriers": ["transport", "other"],
    "groups.2.other_barriers": "Steep hills",
}
HOW_IDENTIFIED = {"how_identified": "We mapped who lives farthest from a park and asked partners."}
# After the reload the two rows kept are numbered 1 and 2.
AFFECTED_AFTER_RELOAD = (
    GROUP_1
    | {path.replace("groups.2.", "groups.1."): value for path, value in GROUP_3.items()}
    | HOW_IDENTIFIED
)
OUTREACH = {
    "activities.0.date": days_ago(150),
    "activities.0.method": Pick("door_to_door"),
    "activities.0.languages": "Spanish, English",
    "activities.0.groups_reached": "North end families",
    "activities.0.partners": "Windham Area Interfaith Ministry",
    "accommodations": ["interpretation", "childcare"],
    "accommodations_detail": "Interpreters at both meetings; childcare on Saturdays.",
}
ENGAGEMENT = {
    "events.0.date": days_ago(120),
    "events.0.format": Pick("workshop"),
    "events.0.participants": "42",
    "events.0.groups_represented": "North end families, youth",
    "events.0.languages": "Spanish",
    "events.0.accommodations": "Childcare and food",
    "what_people_said": "People want a playground within a ten-minute walk.",
    "shared_decisions": "Residents voted on the three sites.",
}
ENGAGEMENT_SECOND_EVENT = {
    "events.1.date": days_ago(90),
    "events.1.format": Pick("survey"),
    "events.1.participants": "118",
    "events.1.groups_represented": "Older adults",
}
OUTCOMES = {
    "changes.0.what_changed": "Added a pocket park on Main Street.",
    "changes.0.because_of": "Families said the nearest park was too far.",
    "changes.0.who_benefits": "North end families",
    "closing_the_loop": "We presented the plan at a bilingual meeting.",
    "report_back_date": days_ago(20),
}
REFLECTION = {
    "lessons": "Start with partners people already trust.",
    "do_differently": "Hold meetings on weekends.",
    "continuing_engagement": "A resident advisory group meets every quarter.",
    "coach_used": Pick("yes"),
}


# --- 1. the whole toolkit ---------------------------------------------------------------------


def test_fill_in_a_whole_toolkit_and_find_every_answer_after_reloading(page, live_server, accounts):
    live_server.create_catalog()
    sign_in(page, live_server, accounts.staff.email)

    # Start: from the town page, search the list, choose 3.4, confirm.
    page.get_by_role("link", name="Start an Equity Toolkit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Start an Equity Toolkit")
    assert_id_references_resolve(page)
    assert_no_axe_violations(page, "the start page")
    page.get_by_label("Search the actions").fill("3.4")
    actions = page.locator('#action-list input[name="action_id"]')
    expect(actions).to_have_count(1)  # htmx replaced the list in place
    expect(page.locator("#action-list")).to_contain_text("1 action matches.")
    page.get_by_label("3.4 Develop an Open Space Plan").check()
    page.get_by_label("This action is part of our town's certification submission").check()
    page.get_by_role("button", name="Start the toolkit").click()
    page.wait_for_url(re.compile(r"/toolkits/\d+/steps/context$"))
    toolkit_id = int(re.search(r"/toolkits/(\d+)/", page.url).group(1))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Step 1 of 6")
    expect_step_percent(page, 0)
    assert_id_references_resolve(page)
    assert_no_axe_violations(page, "step 1")

    # Step 1, with errors first: a date before the lookback window is caught on blur...
    too_early = date(TODAY.year - 5, 1, 1).isoformat()
    start_date = page.locator("#q-start_date")
    start_date.fill(too_early)
    tab_out_of(page, start_date)
    error = page.locator("#q-start_date-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("This date is before")
    expect(start_date).to_have_attribute("aria-invalid", "true")
    expect(start_date).to_have_attribute("aria-describedby", re.compile(r"q-start_date-error"))
    assert_id_references_resolve(page)
    assert_no_axe_violations(page, "step 1 with an error found on blur")

    # ... and on "Save and continue": the step is saved, shown again with a summary (422).
    page.locator("#q-goals").fill(CONTEXT["goals"])
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Save and continue").click()
    assert navigation.value.status == 422
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Your answers are saved, but some need attention")
    expect(
        summary.get_by_role("link", name=re.compile("When did the work start"))
    ).to_have_attribute("href", "#q-start_date")
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.locator("#q-start_date")).to_have_value(too_early)
    expect(page.locator("#q-start_date")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#q-goals")).to_have_value(CONTEXT["goals"])
    assert_id_references_resolve(page)
    assert_no_axe_violations(page, "step 1 showing validation errors after saving")

    fill_answers(page, CONTEXT)
    tab_out_of(page, page.locator("#q-start_date"))
    expect(page.locator("#q-start_date-error")).to_be_hidden()
    expect(page.locator("#q-start_date")).not_to_have_attribute("aria-invalid", "true")
    save_and_continue(page, step_path(toolkit_id, "affected_and_missing"))

    # Step 2: a repeatable group; add two rows in place, then remove the middle one.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Step 2 of 6")
    assert_no_axe_violations(page, "step 2")
    rows = page.locator("#q-groups-rows > .group-row")
    expect(rows).to_have_count(1)
    fill_answers(page, GROUP_1)
    add_group = page.get_by_role("button", name="Add another: Group")
    url_before = page.url
    add_group.click()
    expect(rows).to_have_count(2)
    expect(page.locator("#q-groups-1-name")).to_be_focused()
    assert page.url == url_before, "adding a row must not leave the page"
    fill_answers(page, GROUP_REMOVED)
    add_group.click()
    expect(rows).to_have_count(3)
    expect(page.locator("#q-groups-2-name")).to_be_focused()
    fill_answers(page, GROUP_3 | HOW_IDENTIFIED)
    assert_id_references_resolve(page)
    assert_no_axe_violations(page, "step 2 with rows added in place")
    page.get_by_role("button", name="Remove Group 2").click()
    expect(rows).to_have_count(2)
    expect(page.locator("#q-groups-1")).to_have_count(0)
    expect(add_group).to_be_focused()
    expect(page.locator("#save-status")).to_have_text(re.compile(r"Entry removed|Saved at"))
    wait_for_autosave(page)
    expect_step_percent(page, 100)
    save_and_continue(page, step_path(toolkit_id, "outreach"))

    # Step 3: a group row, checkboxes, and the required evidence.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Step 3 of 6")
    assert_no_axe_violations(page, "step 3")
    fill_answers(page, OUTREACH)
    wait_for_autosave(page)
    # The answers are complete, the evidence is not there yet.
    expect(page.locator("#step-meter")).not_to_have_attribute("value", "100")
    expect(page.locator("#current-step-state")).to_have_text("In progress")
    upload_evidence(page, "flyer.pdf", "Bilingual flyer")
    expect_answers(page, OUTREACH)
    expect_step_percent(page, 100)
    assert_no_axe_violations(page, "step 3 after an upload")
    save_and_continue(page, step_path(toolkit_id, "engagement"))

    # Step 4: numbers, a second row, and evidence again.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Step 4 of 6")
    assert_no_axe_violations(page, "step 4")
    upload_evidence(page, "sign-in-sheet.pdf", "Workshop sign-in sheet")
    fill_answers(page, ENGAGEMENT)
    page.get_by_role("button", name="Add another: Event").click()
    expect(page.locator("#q-events-1-date")).to_be_focused()
    fill_answers(page, ENGAGEMENT_SECOND_EVENT)
    wait_for_autosave(page)
    expect_step_percent(page, 100)
    save_and_continue(page, step_path(toolkit_id, "outcomes"))

    # Step 5
    expect(page.get_by_role("heading", level=1)).to_contain_text("Step 5 of 6")
    assert_no_axe_violations(page, "step 5")
    fill_answers(page, OUTCOMES)
    save_and_continue(page, step_path(toolkit_id, "reflection"))

    # Step 6, then the review page.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Step 6 of 6")
    assert_no_axe_violations(page, "step 6")
    fill_answers(page, REFLECTION)
    save_and_continue(page, f"/toolkits/{toolkit_id}")

    expect_toolkit_complete(page)
    assert_id_references_resolve(page)
    assert_no_axe_violations(page, "the review page")
    review = page.locator("main")
    for text in (
        CONTEXT["goals"],
        GROUP_1["groups.0.name"],
        GROUP_3["groups.2.name"],
        ENGAGEMENT_SECOND_EVENT["events.1.groups_represented"],
        REFLECTION["lessons"],
        "Bilingual flyer",
        "Workshop sign-in sheet",
    ):
        expect(review).to_contain_text(text)
    expect(review).not_to_contain_text(GROUP_REMOVED["groups.1.name"])

    # Reload everything: every answer and file is still there, every step at 100%.
    page.reload()
    expect_toolkit_complete(page)
    expected = {
        "context": CONTEXT,
        "affected_and_missing": AFFECTED_AFTER_RELOAD,
        "outreach": OUTREACH,
        "engagement": ENGAGEMENT | ENGAGEMENT_SECOND_EVENT,
        "outcomes": OUTCOMES,
        "reflection": REFLECTION,
    }
    for step_key, answers in expected.items():
        page.goto(live_server.url_for(step_path(toolkit_id, step_key)))
        expect_answers(page, answers)
        expect_step_percent(page, 100)
        expect(page.locator(f'.step-nav a[href$="/{step_key}"] + .step-state')).to_have_text(
            "Complete"
        )
    page.goto(live_server.url_for(step_path(toolkit_id, "affected_and_missing")))
    expect(page.locator("#q-groups-rows > .group-row")).to_have_count(2)
    expect(page.locator("#q-groups-rows > .group-row > legend")).to_have_text(
        ["Group 1", "Group 2"]
    )
    page.goto(live_server.url_for(step_path(toolkit_id, "outreach")))
    expect(page.locator("#evidence")).to_contain_text("Bilingual flyer")
    page.goto(live_server.url_for(step_path(toolkit_id, "engagement")))
    expect(page.locator("#evidence")).to_contain_text("Workshop sign-in sheet")


def expect_toolkit_complete(page) -> None:
    expect(page.locator("#toolkit-meter")).to_have_attribute("value", "100")
    expect(page.get_by_text("Complete: 100%")).to_be_visible()
    expect(page.get_by_text("Every step is complete.")).to_be_visible()
    expect(page.locator(".review-step .step-state")).to_have_text(["(Complete)"] * 6)


# --- 2. the keyboard alone --------------------------------------------------------------------


def type_into(page, selector: str, text: str) -> None:
    """Tab to a field and type into it, as a keyboard user does."""
    tab_to(page, selector)
    page.keyboard.type(text)


def type_date(page, selector: str, iso_day: str) -> None:
    """Chromium's date field takes the month, day and year typed one after the other."""
    year, month, day = iso_day.split("-")
    tab_to(page, selector)
    page.keyboard.type(f"{month}{day}{year}")
    expect(page.locator(selector)).to_have_value(iso_day)


def press_enter_on(page, selector: str, next_url: str | re.Pattern) -> None:
    tab_to(page, selector)
    page.keyboard.press("Enter")
    page.wait_for_url(next_url)


def upload_by_keyboard(page, name: str, title: str) -> None:
    tab_to(page, "#upload-file")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(pdf_file(name))
    type_into(page, "#upload-title", title)
    tab_to(page, ".upload-form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#evidence")).to_contain_text(title)
    focus_document_start(page)


CONTINUE = 'button[name="intent"][value="continue"]'


def test_fill_a_toolkit_and_upload_evidence_with_the_keyboard_alone(page, live_server, accounts):
    """No mouse and no .fill(): Tab, Shift+Tab, Space, Enter, arrow keys and typing."""
    # Playwright turns Chromium's file chooser interception on and off with its listeners, and
    # a key press can overtake the switch (about 1 in 30): keep one listener for the whole test.
    page.on("filechooser", lambda chooser: None)
    live_server.create_catalog()
    page.goto(live_server.url_for("/sign-in"))
    focus_document_start(page)
    type_into(page, "#email", accounts.staff.email)
    type_into(page, "#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url_for(f"/towns/{accounts.staff.town.slug}"))

    # Start the toolkit: search, choose with Space, confirm, start.
    focus_document_start(page)
    press_enter_on(page, 'main a[href$="/toolkits/new"]', re.compile(r"/toolkits/new$"))
    focus_document_start(page)
    type_into(page, "#action-search", "open space")
    expect(page.locator('#action-list input[name="action_id"]')).to_have_count(1)
    tab_to(page, 'input[name="action_id"]')
    page.keyboard.press("Space")
    expect(page.get_by_label("3.4 Develop an Open Space Plan")).to_be_checked()
    tab_to(page, "#confirmed")
    page.keyboard.press("Space")
    expect(page.locator("#confirmed")).to_be_checked()
    press_enter_on(page, "form[method=post] button.button", re.compile(r"/steps/context$"))
    toolkit_id = int(re.search(r"/toolkits/(\d+)/", page.url).group(1))

    # Step 1: long text and a date.
    focus_document_start(page)
    type_into(page, "#q-goals", "Parks for everyone.")
    type_into(page, "#q-team", "Parks director and residents.")
    type_into(page, "#q-community_data", "Census data.")
    type_date(page, "#q-start_date", days_ago(100))
    press_enter_on(page, CONTINUE, re.compile(r"/steps/affected_and_missing$"))

    # Step 2: short text, yes/no with the arrow keys, a checkbox, and a row added by keyboard.
    focus_document_start(page)
    type_into(page, "#q-groups-0-name", "Renters")
    type_into(page, "#q-groups-0-effect", "Closer parks.")
    tab_to(page, 'input[name="groups-0-usually_missing"]')
    expect(page.locator("#q-groups-0-usually_missing-yes")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#q-groups-0-usually_missing-no")).to_be_checked()
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#q-groups-0-usually_missing-yes")).to_be_checked()
    tab_to(page, "#q-groups-0-barriers-language")
    page.keyboard.press("Space")
    expect(page.locator("#q-groups-0-barriers-language")).to_be_checked()
    tab_to(page, '[data-add-row="q-groups"]')
    page.keyboard.press("Enter")
    new_name = page.locator("#q-groups-1-name")
    expect(new_name).to_be_focused()  # focus moves into the new row
    page.keyboard.type("Older adults")
    type_into(page, "#q-groups-1-effect", "Shade and benches.")
    tab_to(page, 'input[name="groups-1-usually_missing"]')
    page.keyboard.press("Space")
    expect(page.locator("#q-groups-1-usually_missing-yes")).to_be_checked()
    # Shift+Tab goes back into the row just added, and the text is still there.
    tab_to(page, "#q-groups-1-effect", backwards=True)
    expect(page.locator("#q-groups-1-effect")).to_have_value("Shade and benches.")
    type_into(page, "#q-how_identified", "Maps and partners.")
    press_enter_on(page, CONTINUE, re.compile(r"/steps/outreach$"))
    step_2_state = page.locator('.step-nav a[href$="/affected_and_missing"] + .step-state')
    expect(step_2_state).to_have_text("Complete")  # both rows, every required answer

    # Step 3: the evidence upload, a date, a radio list chosen with Space.
    focus_document_start(page)
    upload_by_keyboard(page, "flyer.pdf", "Flyer")
    type_date(page, "#q-activities-0-date", days_ago(80))
    tab_to(page, 'input[name="activities-0-method"]')
    page.keyboard.press("Space")
    expect(page.locator("#q-activities-0-method-door_to_door")).to_be_checked()
    type_into(page, "#q-activities-0-languages", "Spanish")
    type_into(page, "#q-activities-0-groups_reached", "Renters")
    press_enter_on(page, CONTINUE, re.compile(r"/steps/engagement$"))

    # Step 4: evidence, a number, a radio list chosen with an arrow key.
    focus_document_start(page)
    upload_by_keyboard(page, "sign-in.pdf", "Sign-in sheet")
    type_date(page, "#q-events-0-date", days_ago(60))
    tab_to(page, 'input[name="events-0-format"]')
    page.keyboard.press("ArrowDown")
    expect(page.locator("#q-events-0-format-workshop")).to_be_checked()
    type_into(page, "#q-events-0-participants", "25")
    type_into(page, "#q-events-0-groups_represented", "Renters")
    type_into(page, "#q-what_people_said", "More shade.")
    type_into(page, "#q-shared_decisions", "They voted.")
    press_enter_on(page, CONTINUE, re.compile(r"/steps/outcomes$"))

    # Step 5
    focus_document_start(page)
    type_into(page, "#q-changes-0-what_changed", "Trees added.")
    type_into(page, "#q-changes-0-because_of", "Workshop.")
    type_into(page, "#q-changes-0-who_benefits", "Renters")
    type_into(page, "#q-closing_the_loop", "A letter.")
    press_enter_on(page, CONTINUE, re.compile(r"/steps/reflection$"))

    # Step 6, and "Save and review".
    focus_document_start(page)
    type_into(page, "#q-lessons", "Ask early.")
    type_into(page, "#q-do_differently", "Weekends.")
    type_into(page, "#q-continuing_engagement", "Quarterly meetings.")
    press_enter_on(page, CONTINUE, re.compile(rf"/toolkits/{toolkit_id}$"))

    expect_toolkit_complete(page)
    expect(page.locator("main")).to_contain_text("Older adults")
    assert "toolkit.step_conflict" not in live_server.audit_actions(toolkit_id)


# --- 3. autosave, online and offline ----------------------------------------------------------


def test_autosave_keeps_text_and_an_offline_draft_is_saved_when_back_online(
    page, live_server, accounts
):
    toolkit_id = live_server.create_toolkit(accounts.staff)
    sign_in(page, live_server, accounts.staff.email)
    page.goto(live_server.url_for(step_path(toolkit_id, "context")))
    status = page.get_by_role("status").and_(page.locator("#save-status"))
    expect(status).to_have_text("")

    goals = page.locator("#q-goals")
    goals.press_sequentially("Saved without pressing a button")
    wait_for_autosave(page)
    expect(status).to_have_text(re.compile(r"^Saved at \d{1,2}:\d{2}\s?[AP]M$"))
    expect_step_percent(page, 25)  # one of four answers; the meter follows the save
    page.reload()
    expect(goals).to_have_value("Saved without pressing a button")
    expect_step_percent(page, 25)

    storage_key = f"sct-forms:draft:{toolkit_id}:context"
    page.context.set_offline(True)
    team = page.locator("#q-team")
    team.press_sequentially("Typed while offline")
    expect(status).to_have_text(
        "Offline: your text is kept in this browser until the connection returns.", timeout=8_000
    )
    kept = page.evaluate("key => JSON.parse(localStorage.getItem(key))", storage_key)
    assert kept is not None, "nothing was kept in localStorage"
    assert ["team", "Typed while offline"] in kept["pairs"], kept

    # "Save draft" while offline keeps the page (and the text) instead of an error page.
    url = page.url
    data = page.locator("#q-community_data")
    data.press_sequentially("Also offline")
    page.get_by_role("button", name="Save draft").click()
    expect(status).to_have_text(re.compile(r"^Offline: your text is kept in this browser"))
    assert page.url == url
    expect(data).to_have_value("Also offline")
    kept = page.evaluate("key => JSON.parse(localStorage.getItem(key))", storage_key)
    assert ["community_data", "Also offline"] in kept["pairs"], kept

    page.context.set_offline(False)
    wait_for_autosave(page)
    assert page.evaluate("key => localStorage.getItem(key)", storage_key) is None
    page.reload()
    expect(team).to_have_value("Typed while offline")
    expect(data).to_have_value("Also offline")
    expect(goals).to_have_value("Saved without pressing a button")
    expect_step_percent(page, 75)


def test_an_autosave_cut_off_while_the_browser_is_online_is_tried_again(
    page, live_server, accounts
):
    """A server restarting or a connection dropped mid-request gives no "online" event to wait
    for: the save is tried again after a pause, and the text reaches the server."""
    toolkit_id = live_server.create_toolkit(accounts.staff)
    sign_in(page, live_server, accounts.staff.email)
    page.goto(live_server.url_for(step_path(toolkit_id, "context")))
    cut_off = []

    def cut_off_the_first(route):
        if not cut_off:
            cut_off.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/steps/context/autosave", cut_off_the_first)
    page.locator("#q-goals").press_sequentially("Saved on the second try")
    expect(page.locator("#save-status")).to_have_text("Not saved — retrying.", timeout=8_000)
    wait_for_autosave(page)
    assert len(cut_off) == 1
    page.unroute("**/steps/context/autosave")
    page.reload()
    expect(page.locator("#q-goals")).to_have_value("Saved on the second try")


def test_save_and_continue_while_an_autosave_is_on_its_way_waits_for_it(
    page, live_server, accounts
):
    """The form must post the version the autosave made, or it conflicts with itself."""
    toolkit_id = live_server.create_toolkit(accounts.staff)
    sign_in(page, live_server, accounts.staff.email)
    page.goto(live_server.url_for(step_path(toolkit_id, "context")))

    held = []  # the autosave reaches the server, but its answer is held back from the page

    def hold_autosave_answer(route):
        held.append((route, route.fetch()))

    page.route("**/steps/context/autosave", hold_autosave_answer)
    page.locator("#q-goals").press_sequentially("Saved twice, quickly")
    for _ in range(80):  # the autosave goes 1.5 s after the last key
        if held:
            break
        page.wait_for_timeout(100)  # lets Playwright run the route handler meanwhile
    assert len(held) == 1, "no autosave was sent"
    page.get_by_role("button", name="Save and continue").click()
    route, answer = held[0]
    assert answer.status == 200
    route.fulfill(response=answer)
    page.wait_for_url(re.compile(r"/steps/affected_and_missing$"))
    page.unroute("**/steps/context/autosave")
    assert "toolkit.step_conflict" not in live_server.audit_actions(toolkit_id)
    page.goto(live_server.url_for(step_path(toolkit_id, "context")))
    expect(page.locator("#q-goals")).to_have_value("Saved twice, quickly")


def test_uploading_right_after_typing_saves_the_text_first(page, live_server, accounts):
    """An upload within the autosave delay must neither lose the text nor conflict with it."""
    toolkit_id = live_server.create_toolkit(accounts.staff)
    sign_in(page, live_server, accounts.staff.email)
    page.goto(live_server.url_for(step_path(toolkit_id, "outreach")))
    detail = page.locator("#q-accommodations_detail")
    detail.fill("Typed just before uploading")
    upload_evidence(page, "flyer.pdf", "Flyer")

    expect(detail).to_have_value("Typed just before uploading")
    detail.press("End")
    detail.press_sequentially(", and after")
    wait_for_autosave(page)  # not "someone else changed this step"
    page.reload()
    expect(detail).to_have_value("Typed just before uploading, and after")
    assert "toolkit.step_conflict" not in live_server.audit_actions(toolkit_id)


# --- 4. the session ends while typing ---------------------------------------------------------


def end_session_while_typing(page, live_server, staff, text: str) -> int:
    """Open step 1, lose the session, type: the sign-in dialog opens. Returns the toolkit id."""
    toolkit_id = live_server.create_toolkit(staff)
    sign_in(page, live_server, staff.email)
    page.goto(live_server.url_for(step_path(toolkit_id, "context")))
    page.context.clear_cookies()
    page.locator("#q-goals").press_sequentially(text)
    expect(reauth_dialog(page)).to_be_visible(timeout=8_000)
    return toolkit_id


def reauth_dialog(page):
    return page.get_by_role("dialog", name="Sign in again to save your text")


def test_session_ending_while_typing_asks_for_the_password_in_place(page, live_server, accounts):
    end_session_while_typing(page, live_server, accounts.staff, "Typed after the session ended")
    dialog = reauth_dialog(page)
    expect(page.locator("#reauth-dialog")).to_have_attribute("open", "")  # modal, in place
    expect(page.locator("#reauth-email")).to_be_focused()
    expect(page.locator("#reauth-email")).to_have_value(accounts.staff.email)
    expect(page.locator("#save-status")).to_contain_text("Your session ended.")
    expect(page.locator("#q-goals")).to_have_value("Typed after the session ended")
    assert_id_references_resolve(page)
    assert_no_axe_violations(page, "a step page with the sign-in dialog open")

    # A wrong password: said in the dialog, which stays open with focus on the password.
    page.keyboard.press("Tab")
    expect(page.locator("#reauth-password")).to_be_focused()
    page.keyboard.type("not the password")
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("alert")).to_have_text(
        "The email address or password is not right. Check both and try again."
    )
    expect(page.locator("#reauth-password")).to_be_focused()
    expect(page.locator("#reauth-password")).to_have_value("")
    expect(dialog).to_be_visible()


def test_signing_in_again_in_the_dialog_saves_the_text(page, live_server, accounts):
    typed = "Typed after the session ended"
    end_session_while_typing(page, live_server, accounts.staff, typed)
    url = page.url
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    expect(reauth_dialog(page)).to_be_hidden()
    wait_for_autosave(page)
    expect_step_percent(page, 25)
    expect(page.locator("#q-goals")).to_be_focused()  # back where the person was typing
    assert page.url == url, "the page must not be left"

    page.reload()  # still signed in, and the text is saved
    goals = page.locator("#q-goals")
    expect(goals).to_have_value(typed)
    # Later edits save as usual in the new session.
    goals.press("End")
    goals.press_sequentially(", and more")
    wait_for_autosave(page)
    page.reload()
    expect(goals).to_have_value(typed + ", and more")


def test_signing_in_again_after_a_colleague_saved_the_step_overwrites_nothing(
    page, second_page, live_server, accounts
):
    toolkit_id = end_session_while_typing(page, live_server, accounts.staff, "Mine")
    colleague = live_server.create_user("staff", accounts.town)
    sign_in(second_page, live_server, colleague.email)
    second_page.goto(live_server.url_for(step_path(toolkit_id, "context")))
    second_page.locator("#q-goals").fill("Theirs")
    second_page.get_by_role("button", name="Save draft").click()
    second_page.wait_for_url(re.compile(r"\?saved=1$"))

    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(reauth_dialog(page)).to_be_hidden()
    expect(page.locator("#save-status")).to_have_text(
        re.compile(r"^Not saved: someone else changed this step")
    )
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Save draft").click()
    assert navigation.value.status == 409
    row = page.get_by_role("row", name=re.compile("What are the goals of the action"))
    expect(row.get_by_role("cell")).to_have_text(["Theirs", "Mine"])


# --- 5. two people, one step ------------------------------------------------------------------


def test_a_conflict_shows_both_versions_and_keep_mine_keeps_mine(
    page, second_page, live_server, accounts
):
    colleague = live_server.create_user("staff", accounts.town)
    toolkit_id = live_server.create_toolkit(accounts.staff)
    url = live_server.url_for(step_path(toolkit_id, "context"))
    first, second = page, second_page
    sign_in(first, live_server, accounts.staff.email)
    first.goto(url)
    sign_in(second, live_server, colleague.email)
    second.goto(url)

    # A saves a change.
    first.locator("#q-goals").fill("Goals as the first person wrote them")
    first.get_by_role("button", name="Save draft").click()
    first.wait_for_url(re.compile(r"\?saved=1$"))
    expect(first.get_by_role("status").filter(has_text="Your answers are saved.")).to_be_visible()

    # B, whose page is older, changes the same field and saves.
    second.locator("#q-goals").fill("Goals as the second person wrote them")
    with second.expect_navigation() as navigation:
        second.get_by_role("button", name="Save draft").click()
    assert navigation.value.status == 409
    expect(second.get_by_role("heading", level=1)).to_have_text(
        "Someone else changed this step while you were working"
    )
    expect(second.locator(".lede")).to_contain_text(accounts.staff.name)
    row = second.get_by_role("row", name=re.compile("What are the goals of the action"))
    expect(row.get_by_role("cell")).to_have_text(
        ["Goals as the first person wrote them", "Goals as the second person wrote them"]
    )
    assert_id_references_resolve(second)
    assert_no_axe_violations(second, "the conflict page")

    second.get_by_role("button", name="Keep mine").click()
    second.wait_for_url(re.compile(re.escape(url) + r"(\?saved=1)?$"))
    expect(second.locator("#q-goals")).to_have_value("Goals as the second person wrote them")
    second.reload()
    expect(second.locator("#q-goals")).to_have_value("Goals as the second person wrote them")

    first.reload()
    expect(first.locator("#q-goals")).to_have_value("Goals as the second person wrote them")
