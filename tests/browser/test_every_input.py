"""Nothing typed is lost: every input on every editable page, and every way out of each page.

The test builds every page state where someone can type (a draft toolkit, one with changes
requested, the start page, review pages for the reviewer who holds a toolkit and for others, the
queue and certificates for an administrator, the sign-in page) and follows links from each
person's pages to find more. On each page it finds the fields and the ways out in the DOM
(tests/browser/input_sweep.py): no field, button or link is named there, so a new one is covered
as it is. For each way out it loads the page afresh, types a unique marker into every field,
leaves, and checks that the person was warned first (the browser's own question or the page's
"Stay / Leave" dialog) or that every marker was saved. A second kind of trial types only into
the fields of one form and presses that form's own button: nothing may be lost, and nobody need
be warned.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import date

import pytest
from playwright.sync_api import expect

from sct_forms.certificates.services import issue_certificate
from sct_forms.cycles import current_cycle
from sct_forms.extensions import db
from sct_forms.models import Action, Municipality, Toolkit, User
from sct_forms.review import services as review
from sct_forms.toolkits.services import EQUITY_ACTION_NUMBER
from tests.browser.conftest import Account, LiveServer, assert_no_axe_violations, serve_app
from tests.browser.input_sweep import ANONYMOUS, PageState, Person, Sweep, normalise, report
from tests.toolkit_helpers import fill_completely


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """A server of this module's own: the sweep presses every button it finds, the program
    console's too (retire an action, deactivate an account), which must not change the data
    the other browser tests of this process share."""
    with serve_app(tmp_path_factory.mktemp("sweep")) as server:
        yield server


# --- the data: every page state where someone can type ------------------------------------------


class Builder:
    """Creates towns, people and toolkits in any state through the app's own services."""

    def __init__(self, live_server: LiveServer) -> None:
        self.live = live_server
        self.app = live_server.app
        self.cycle_name = live_server.create_cycle()
        live_server.create_catalog()
        self.reviewer = live_server.create_user("reviewer")
        self.other_reviewer = live_server.create_user("reviewer")
        self.admin = live_server.create_user("admin")
        self.coach_town = live_server.create_town()
        self.coach = live_server.create_user("coach", coaches=self.coach_town)
        self.staff = live_server.create_user("staff", live_server.create_town())

    def _user(self, account: Account) -> User:
        return db.session.query(User).filter_by(email=account.email).one()

    def _free_action(self, staff: Account) -> str | None:
        """An action of the catalog that the staff member's town has no toolkit for yet."""
        with self.app.app_context():
            town = db.session.query(Municipality).filter_by(slug=staff.town.slug).one()
            taken = {
                t.paired_action.number
                for t in db.session.query(Toolkit).filter_by(
                    municipality_id=town.id, cycle_id=current_cycle(date.today()).id
                )
            }
            numbers = [a.number for a in db.session.query(Action).order_by(Action.id)]
        return next((n for n in numbers if n not in taken | {EQUITY_ACTION_NUMBER}), None)

    def _toolkit(
        self, staff: Account | None = None, action: str | None = None
    ) -> tuple[int, Account]:
        """A complete draft toolkit; a new town and staff member if ``staff`` has no action left."""
        staff = staff or self.live.create_user("staff", self.live.create_town())
        action = action or self._free_action(staff)
        if action is None:
            staff = self.live.create_user("staff", self.live.create_town())
            action = self._free_action(staff)
        toolkit_id = self.live.create_toolkit(staff, action)
        with self.app.app_context():
            toolkit = db.session.get(Toolkit, toolkit_id)
            fill_completely(toolkit, self._user(staff))
            db.session.commit()
        return toolkit_id, staff

    def draft(self, staff: Account | None = None) -> tuple[int, Account]:
        return self._toolkit(staff)

    def in_review(self, reviewer: Account | None = None) -> int:
        """Submitted by a new town and claimed by ``reviewer`` (or only submitted if None)."""
        toolkit_id, staff = self._toolkit()
        with self.app.test_request_context(), self.app.app_context():
            toolkit = db.session.get(Toolkit, toolkit_id)
            review.submit(toolkit, self._user(staff), "draft")
            db.session.commit()
            if reviewer is not None:
                review.start_review(toolkit, self._user(reviewer), "submitted")
                db.session.commit()
        return toolkit_id

    def changes_requested(self, staff: Account) -> tuple[int, Account]:
        """Changes requested on a whole step, one of its questions and an evidence file."""
        toolkit_id, staff = self._toolkit(staff)
        with self.app.test_request_context(), self.app.app_context():
            toolkit = db.session.get(Toolkit, toolkit_id)
            reviewer = self._user(self.reviewer)
            review.submit(toolkit, self._user(staff), "draft")
            review.start_review(toolkit, reviewer, "submitted")
            revision = review.latest_revision(toolkit)
            evidence = next(e for e in revision.evidence if e["step_key"] == "outreach")
            for step_key, target in (
                ("context", None),
                ("context", "team"),
                ("outreach", f"evidence:{evidence['sha256']}"),
            ):
                review.add_change_request(toolkit, step_key, target, "Please say more.", reviewer)
            review.decide(toolkit, "request_changes", reviewer, "in_review")
            db.session.commit()
        return toolkit_id, staff

    def certificate_town(self) -> str:
        """A town at Bronze with a certificate issued; returns the town's slug."""
        toolkit_id, staff = self._toolkit(action="3.4")
        with self.app.test_request_context(), self.app.app_context():
            toolkit = db.session.get(Toolkit, toolkit_id)
            toolkit.state = "approved"
            db.session.commit()
            town = db.session.query(Municipality).filter_by(slug=staff.town.slug).one()
            issue_certificate(town, current_cycle(date.today()), self._user(self.admin))
            db.session.commit()
        return staff.town.slug


def page_states(builder: Builder) -> list[PageState]:
    """Every state of every page where someone can type, each able to build itself again."""
    steps = ["context", "affected_and_missing", "outreach", "engagement", "outcomes", "reflection"]
    shared: dict[str, tuple[int, Account]] = {}

    def toolkit_page(kind: str, page: str) -> Callable[[], tuple[str, Account]]:
        """The first build of each page shares one toolkit of its kind; a rebuild gets its own."""

        def make() -> tuple[str, Account]:
            if kind not in shared or (kind, page) in shared:
                make_toolkit = builder.draft if kind == "draft" else builder.changes_requested
                shared[kind] = make_toolkit(builder.staff)
            shared[(kind, page)] = shared[kind]
            toolkit_id, staff = shared[kind]
            path = f"/toolkits/{toolkit_id}" + ("" if page == "toolkit" else f"/steps/{page}")
            return path, staff

        return make

    def review_page(reviewer: Account | None) -> Callable[[], str]:
        return lambda: f"/review/toolkits/{builder.in_review(reviewer)}"

    def as_(account: Account, make_path: Callable[[], str]) -> Callable[[], tuple[str, Account]]:
        return lambda: (make_path(), account)

    def queue() -> str:
        builder.in_review(None)
        return "/review/queue"

    states = [
        PageState(f"staff, draft toolkit, step {step}", builder.staff, toolkit_page("draft", step))
        for step in steps
    ]
    states += [
        PageState(f"staff, changes requested, {page}", builder.staff,
                  toolkit_page("requested", page))
        for page in ("context", "outreach", "toolkit")
    ]
    reviewer, admin = builder.reviewer, builder.admin
    states += [
        PageState("staff, start a toolkit", builder.staff,
                  as_(builder.staff, lambda: f"/towns/{builder.staff.town.slug}/toolkits/new")),
        PageState("reviewer holding an in-review toolkit, review page", reviewer,
                  as_(reviewer, review_page(reviewer))),
        PageState("reviewer, submitted toolkit nobody holds, review page", reviewer,
                  as_(reviewer, review_page(None))),
        PageState("another reviewer, toolkit held by someone else, review page",
                  builder.other_reviewer, as_(builder.other_reviewer, review_page(reviewer))),
        PageState("administrator, in-review toolkit, review page", admin,
                  as_(admin, review_page(reviewer))),
        PageState("administrator, review queue", admin, as_(admin, queue)),
        PageState("administrator, town certificates", admin,
                  as_(admin, lambda: f"/towns/{builder.certificate_town()}/certificate")),
        PageState("signed out, sign-in page", ANONYMOUS, as_(ANONYMOUS, lambda: "/sign-in")),
    ]
    return states


@pytest.fixture(scope="module")
def builder(live_server) -> Builder:
    """One set of towns, people and cycle per server: the sweep's parts share it."""
    return Builder(live_server)


# The sweep in parts, so that they run side by side (pytest-xdist): one per person, and the
# staff's draft steps apart from the rest of the staff's pages. A part keeps its person's page
# states (pages that leave the same way are still tried once) and, in the person's last part,
# the pages found by following that person's links.
PARTS = {
    # part: (whose pages, labels of the page states it runs, whether it follows links)
    "staff drafts": ("staff", "staff, draft toolkit", False),
    "staff other pages": ("staff", "staff, ", True),
    "reviewer": ("reviewer", "", True),
    "admin": ("admin", "", True),
    "coach": ("coach", "", True),
    "signed out": ("signed out", "", True),
}
# Pages each part must have tried (labels of its page states), so a part cannot pass empty.
NEEDED = {
    "staff drafts": ("draft toolkit, step context", "draft toolkit, step reflection"),
    "staff other pages": ("changes requested, context", "start a toolkit"),
    "reviewer": ("reviewer holding", "another reviewer"),
    "admin": ("administrator, in-review toolkit", "town certificates"),
    "coach": (),
    "signed out": ("sign-in page",),
}
CRAWL_START = {
    "staff": ["/"],
    "reviewer": ["/", "/review/queue"],
    "admin": ["/", "/admin/"],
    "coach": ["/"],
    "signed out": ["/sign-in", "/verify"],
}


def _account(builder: Builder, person: str) -> Account:
    return {
        "staff": builder.staff,
        "reviewer": builder.reviewer,
        "admin": builder.admin,
        "coach": builder.coach,
        "signed out": ANONYMOUS,
    }[person]


def _part_states(builder: Builder, part: str) -> tuple[list[PageState], list[PageState]]:
    """The page states this part runs, and the person's other states (run by another part)."""
    person, label, _ = PARTS[part]
    account = _account(builder, person)
    # The reviewer's part includes the page a second reviewer sees of a toolkit held by the first.
    mine = {account.email}
    if person == "reviewer":
        mine.add(builder.other_reviewer.email)
    theirs = [state for state in page_states(builder) if state.account.email in mine]
    run = [state for state in theirs if state.label.startswith(label)]
    if part == "staff other pages":
        run = [state for state in run if not state.label.startswith(PARTS["staff drafts"][1])]
    return run, [state for state in theirs if all(state is not r for r in run)]


@pytest.mark.parametrize("part", PARTS)
def test_every_value_typed_is_saved_or_the_person_is_warned_before_leaving(
    live_server, browser, builder, record_property, part
):
    started = time.monotonic()
    person, _, follows_links = PARTS[part]
    account = _account(builder, person)
    run, elsewhere = _part_states(builder, part)
    sweep = Sweep(browser, live_server)
    try:
        for state in run:
            sweep.run_state(state)
        if follows_links:
            # Pages another part tries are not tried again when a link leads to them.
            for state in elsewhere:
                sweep.visited.add((state.account.email, normalise(state.build())))
            for state in sweep.crawl(account, CRAWL_START[person]):
                sweep.run_state(state)
    finally:
        sweep.close()
    outcomes = report(sweep.outcomes)
    record_property("every_input_report", outcomes)
    print(f"\n{len(sweep.outcomes)} trials in {time.monotonic() - started:.0f} s\n{outcomes}")
    print("\n".join(f"{seconds:5.1f} s {label}" for label, seconds in sweep.timings))

    assert not sweep.problems, "\n".join(sweep.problems)
    # A coach has no page to type in (coaches advise, never edit); the crawl must still have
    # reached the coach's pages, so that a field added to one of them would be tried.
    if follows_links:
        assert len(sweep.crawled) > 1, f"the crawl opened no page for {part}: {sweep.crawled}"
    assert sweep.outcomes or person == "coach", f"no trial at all for {part}"
    tried = {o.state for o in sweep.outcomes}
    for needed in NEEDED[part]:
        assert any(needed in label for label in tried), f"no trial on a page like {needed!r}"
    losses = [o for o in sweep.outcomes if o.lost]
    assert not losses, "Typed values lost (page · trial · way out):\n" + report(losses)


def _step_page_with_typing(live_server, browser) -> tuple:
    builder = Builder(live_server)
    toolkit_id, staff = builder.draft(builder.staff)
    person = Person(browser, live_server, staff)
    person.open(f"/toolkits/{toolkit_id}/steps/context")
    return builder, toolkit_id, person


def test_the_leave_question_is_keyboard_operable_accessible_and_worded_by_the_server(
    live_server, browser
):
    _, toolkit_id, person = _step_page_with_typing(live_server, browser)
    page = person.page
    try:
        messages = page.evaluate(
            "() => JSON.parse(document.getElementById('js-messages').textContent)"
        )
        page.get_by_label("Title", exact=True).click()
        page.keyboard.type("Sign-in sheet, May 2")
        next_link = page.locator(".pager a").last
        next_link.focus()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name=messages["leaveTitle"])
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text(messages["leaveText"])
        expect(dialog.get_by_role("listitem")).to_have_text(["Title"])
        stay = dialog.get_by_role("button", name=messages["leaveStay"])
        expect(stay).to_be_focused()
        assert_no_axe_violations(page, "the unsaved-changes question")

        # Escape means stay: the text is still there and focus is back on the link.
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(next_link).to_be_focused()
        expect(page.get_by_label("Title", exact=True)).to_have_value("Sign-in sheet, May 2")
        assert page.url.endswith("/steps/context")

        # "Stay" by keyboard, then "Leave without saving" by keyboard.
        page.keyboard.press("Enter")
        expect(stay).to_be_focused()
        page.keyboard.press("Enter")
        expect(dialog).to_be_hidden()
        expect(next_link).to_be_focused()
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        expect(dialog.get_by_role("button", name=messages["leaveGo"])).to_be_focused()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url.endswith(f"/toolkits/{toolkit_id}/steps/affected_and_missing")

        # Closing the tab with changed text: the browser's own question.
        page.get_by_label("Title", exact=True).click()
        page.get_by_label("Title", exact=True).fill("Photo of the walk")
        with page.expect_event("close"):
            page.close(run_before_unload=True)
        assert person.beforeunload, "closing the tab with unsaved text asks first"
    finally:
        person.close()


def test_a_link_pressed_again_as_the_question_closes_asks_again(live_server, browser):
    """The dialog closes at once but its close event comes later; a person who presses Escape
    and then Enter on the link straight away is asked again, not ignored."""
    _, _, person = _step_page_with_typing(live_server, browser)
    page = person.page
    try:
        page.get_by_label("Title", exact=True).fill("Sign-in sheet, May 2")
        page.locator(".pager a").last.click()
        dialog = page.locator("#leave-dialog")
        expect(dialog).to_be_visible()
        # Both in one task, so the link is pressed before the close event is handled.
        asked_again = page.evaluate(
            """() => {
                const dialog = document.getElementById("leave-dialog");
                dialog.close();
                Array.from(document.querySelectorAll(".pager a")).pop().click();
                return dialog.open;
            }"""
        )
        assert asked_again, "pressing the link just after closing the question did nothing"
        page.wait_for_timeout(100)  # the first close event has been handled by now
        expect(dialog).to_be_visible()
        expect(dialog.locator("button[value=stay]")).to_be_focused()
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(page.get_by_label("Title", exact=True)).to_have_value("Sign-in sheet, May 2")
        assert page.url.endswith("/steps/context")
    finally:
        person.close()


def test_the_leave_question_is_in_spanish_for_a_person_who_chose_spanish(live_server, browser):
    _, _, person = _step_page_with_typing(live_server, browser)
    page = person.page
    try:
        page.locator("#language-choice").select_option("es")
        with page.expect_navigation():
            page.locator(".language-form button").click()  # nothing typed yet: no question
        expect(page.locator("html")).to_have_attribute("lang", "es")
        page.locator("#upload-title").fill("Hoja de asistencia")
        page.locator(".pager a").last.click()
        dialog = page.locator("#leave-dialog")
        expect(dialog.get_by_role("heading")).to_have_text("Sus cambios no se guardaron")
        expect(dialog.get_by_role("button")).to_have_text(
            ["Quedarme y conservar mi texto", "Salir sin guardar"]
        )
    finally:
        person.close()


def test_step_answers_are_saved_before_following_a_link_without_asking(live_server, browser):
    builder, toolkit_id, person = _step_page_with_typing(live_server, browser)
    page = person.page
    try:
        goals = page.locator("#q-goals")
        goals.click()
        goals.fill("Parks within a ten-minute walk of every home.")
        # Straight to the next step, before the autosave's pause is over.
        with page.expect_navigation():
            page.locator(".pager a").last.click()
        expect(page.locator("#leave-dialog")).to_have_count(0)
        assert person.beforeunload == []
        person.open(f"/toolkits/{toolkit_id}/steps/context")
        expect(page.locator("#q-goals")).to_have_value(
            "Parks within a ten-minute walk of every home."
        )
    finally:
        person.close()


def test_a_step_answer_whose_autosave_fails_is_not_left_without_a_warning(live_server, browser):
    _, toolkit_id, person = _step_page_with_typing(live_server, browser)
    page = person.page
    try:
        # The server refuses every save of this step (as when it is down), autosaves included.
        page.route(
            re.compile(rf"/toolkits/{toolkit_id}/steps/context(/autosave)?$"),
            lambda route: route.fulfill(status=503, body="Down")
            if route.request.method == "POST"
            else route.continue_(),
        )
        goals = page.locator("#q-goals")
        goals.click()
        goals.fill("Shade and benches on the way to the park.")
        page.locator(".pager a").last.click()
        expect(page.locator("#leave-dialog")).to_be_visible()
        expect(page.locator("#leave-dialog li")).to_have_text(["What are the goals of the action?"])
        page.keyboard.press("Escape")
        expect(goals).to_have_value("Shade and benches on the way to the park.")
        assert page.url.endswith("/steps/context")
    finally:
        person.close()


@pytest.mark.parametrize("no_guard", ["language", "sign-out"])
def test_language_and_sign_out_forms_opt_out_but_still_ask_when_other_text_is_unsaved(
    live_server, browser, no_guard
):
    _, _, person = _step_page_with_typing(live_server, browser)
    page = person.page
    try:
        page.get_by_label("Title", exact=True).fill("Flyer in Spanish")
        inside = "#language-choice" if no_guard == "language" else "button.button-link"
        form = page.locator("form[data-no-guard]").filter(has=page.locator(inside))
        expect(form).to_have_count(1)
        form.locator("button[type=submit]").click()
        expect(page.locator("#leave-dialog")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.get_by_label("Title", exact=True)).to_have_value("Flyer in Spanish")
    finally:
        person.close()
