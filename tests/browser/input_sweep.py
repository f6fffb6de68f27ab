"""The machinery of the every-input browser test: find fields and ways out in a page, type
markers, leave, and judge whether each marker was saved or the person was warned.

Nothing here names a page, field, button or link of the app: all are found in the DOM, so a new
one is covered as it is. ``tests/browser/test_every_input.py`` builds the page states.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from sct_forms.extensions import db
from tests.browser.conftest import (
    Account,
    LiveServer,
    assert_no_axe_violations,
    new_context,
    sign_in,
)

# Links to documents and downloads are not pages with inputs (and a packet costs seconds to build).
NOT_A_PAGE = re.compile(r"/packet|\.(pdf|csv|xlsx)(\?|$)|/download$|/evidence/|/csrf-token")
# Buttons a script handles in the page (htmx requests, row removal): pressing them stays here.
IN_PAGE_BUTTONS = "[hx-get], [hx-post], [hx-put], [hx-patch], [hx-delete], [data-remove-row]"
LINKS_PER_PAGE = 1
CRAWL_PAGES_PER_PERSON = 12
REBUILDS_PER_STATE = 12
OUTCOME_TIMEOUT_S = 8.0
ANONYMOUS = Account(email="", name="", role="anonymous")
# Where typed text may be found once stored: any table but the audit log, which keeps excerpts
# of what changed, not the answers themselves.
NOT_STORAGE = ("audit_event",)

# --- the page, seen from JavaScript ----------------------------------------------------------

CLEAR_KEPT_TEXT = """
for (const key of Object.keys(localStorage)) {
  if (key.startsWith("sct-forms:draft:")) localStorage.removeItem(key);
}
"""

DISCOVER = r"""
([inPageButtons, notAPage]) => {
  // A person opens folded parts (<details>) to type in them.
  document.querySelectorAll("details:not([open])").forEach((d) => { d.open = true; });
  const notTyped = new Set(["hidden", "submit", "button", "reset", "image", "file", "password"]);
  const forms = Array.from(document.forms);
  const main = document.querySelector("main");
  const visible = (el) => el.getClientRects().length > 0
    && el.checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true });
  const unique = (selector) => document.querySelectorAll(selector).length === 1;
  const selectorOf = (el) => {
    const parts = [];
    for (let node = el; node && node !== document.documentElement; node = node.parentElement) {
      const byId = node.id ? "#" + CSS.escape(node.id) : "";
      if (byId && unique(byId)) { parts.unshift(byId); break; }
      const same = Array.from(node.parentElement.children)
        .filter((c) => c.tagName === node.tagName);
      parts.unshift(`${node.tagName.toLowerCase()}:nth-of-type(${same.indexOf(node) + 1})`);
    }
    return parts.join(" > ");
  };
  const norm = (text) => (text || "").replace(/\s+/g, " ").trim();
  const labelOf = (el) => {
    const set = el.type === "radio" && el.closest("fieldset");
    const legend = set && set.querySelector("legend");
    if (legend) return norm(legend.textContent);
    return el.labels && el.labels[0] ? norm(el.labels[0].textContent) : el.name;
  };
  const owners = (el) => forms
    .map((f, i) => (f === el.form || f.contains(el) ? i : -1)).filter((i) => i >= 0);
  const kindOf = (el) => {
    if (el.tagName === "TEXTAREA") return "text";
    if (el.tagName === "SELECT") return el.multiple ? "unknown:select-multiple" : "select";
    const type = el.type;
    if (["checkbox", "radio", "date", "email"].includes(type)) return type;
    if (type === "number" || /numeric|decimal/.test(el.inputMode || "")) return "number";
    if (["text", "search", "url", "tel"].includes(type)) return "text";
    return "unknown:" + type;
  };

  // Fields: every visible, enabled, writable one, except in forms that declare they hold
  // nothing (data-no-guard). Radios come as one field per group.
  const fields = [];
  const groups = new Map();
  for (const el of document.querySelectorAll("input, textarea, select")) {
    if (!visible(el) || el.disabled || el.readOnly || notTyped.has(el.type)) continue;
    if (el.closest("dialog") || (el.form && el.form.hasAttribute("data-no-guard"))) continue;
    const field = { selector: selectorOf(el), kind: kindOf(el), label: labelOf(el),
                    form: forms.indexOf(el.form), owners: owners(el) };
    if (el.type === "radio") {
      const key = forms.indexOf(el.form) + ":" + el.name;
      if (!groups.has(key)) {
        groups.set(key, { ...field, options: [], checked: [] });
        fields.push(groups.get(key));
      }
      const group = groups.get(key);
      group.options.push(field.selector);
      group.checked.push(el.checked);
      group.owners = Array.from(new Set(group.owners.concat(field.owners)));
      continue;
    }
    if (el.tagName === "SELECT") {
      field.values = Array.from(el.options).filter((o) => !o.disabled).map((o) => o.value);
      field.value = el.value;
    } else if (el.type === "checkbox") {
      field.checked = el.checked;
    }
    fields.push(field);
  }

  // Ways out: each submit button of a form, each link in the main content to another page.
  const controls = [];
  for (const button of document.querySelectorAll("button, input[type=submit]")) {
    const form = button.form;
    if (button.type !== "submit" || !form || !visible(button) || button.disabled) continue;
    if (button.closest("dialog") || button.matches(inPageButtons)) continue;
    if (form.matches(inPageButtons)) continue; // the form is sent by htmx, in the page
    const text = norm(button.textContent || button.value);
    controls.push({
      kind: "button", selector: selectorOf(button), form: forms.indexOf(form), text,
      inMain: !!(main && main.contains(button)),
      signature: ["button", form.method, `${button.name}=${button.value}`,
                  text.replace(/\d+/g, "#")].join(" "),
    });
  }
  const here = location.origin + location.pathname + location.search;
  for (const link of main ? main.querySelectorAll("a[href]") : []) {
    if (!visible(link) || link.hasAttribute("download")) continue;
    if (link.target && link.target !== "_self") continue;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || new RegExp(notAPage).test(url.pathname)) continue;
    if (url.hash && url.origin + url.pathname + url.search === here) continue; // same page
    controls.push({
      kind: "link", selector: selectorOf(link), form: -1, inMain: true,
      text: norm(link.textContent),
      signature: "link " + (url.pathname + url.search).replace(/\d+/g, "#"),
    });
  }
  controls.forEach((control, index) => { control.index = index; });

  const links = Array.from(document.querySelectorAll("a[href]"), (a) => a.href)
    .filter((href) => href.startsWith(location.origin));
  const fingerprint = Array.from(new Set(
    fields.map((f) => f.kind + " " + f.selector.replace(/\d+/g, "#"))
      .concat(controls.map((c) => c.signature)))).sort();
  const typesOfText = ["text", "email", "url", "tel", "number", ""];
  const holdsText = (form) => Array.from(form.elements).some((el) => el.tagName === "TEXTAREA"
    || (el.tagName === "INPUT" && typesOfText.includes(el.getAttribute("type") || "")));
  const formFacts = forms.map((f) => ({
    noGuard: f.hasAttribute("data-no-guard"), method: f.method, freeText: holdsText(f),
    action: new URL(f.action, location.href).pathname,
  }));
  return { fields, controls, fingerprint, links, forms: formFacts };
}
"""

FILL = r"""
(plan) => {
  for (const step of plan) {
    const el = document.querySelector(step.selector);
    if (!el) throw new Error("field gone: " + step.selector);
    if (step.checked !== undefined) el.checked = step.checked;
    else el.value = step.value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }
}
"""

READ = r"""
(selectors) => {
  const values = {};
  for (const selector of selectors) {
    const el = document.querySelector(selector);
    values[selector] = el ? { value: el.value, checked: el.checked } : null;
  }
  return { values, text: document.body ? document.body.innerText : "" };
}
"""

STATE = r"""
(token) => ({ same: window.__everyInputTrial === token,
              dialog: !!document.querySelector("#leave-dialog[open]") })
"""


def normalise(path: str) -> str:
    return re.sub(r"\d+", "#", path)


# --- pages, people and the server ---------------------------------------------------------------


@dataclass
class PageState:
    """A page in one state, as one person sees it; ``make`` builds it (again): path and person."""

    label: str
    account: Account
    make: Callable[[], tuple[str, Account]]
    path: str = ""
    fingerprint: list[str] = field(default_factory=list)
    rebuilds: int = 0

    def build(self) -> str:
        self.path, self.account = self.make()
        return self.path


class RequestCounter:
    """WSGI middleware counting requests in progress, so a trial starts on a quiet server.

    A page left with text not yet saved sends its last autosave as it goes; the next trial must
    not open the page before that save has landed, or the two trials would mix.
    """

    def __init__(self, wsgi_app) -> None:  # noqa: ANN001
        self.wsgi_app = wsgi_app
        self.active = 0
        self.changed = time.monotonic()
        self.lock = threading.Lock()

    def _count(self, delta: int) -> None:
        with self.lock:
            self.active += delta
            self.changed = time.monotonic()

    def __call__(self, environ, start_response):  # noqa: ANN001, ANN204
        # The body is made here, so a request counts until the app has done all its work (a
        # count kept until close() would leak when a browser drops the connection).
        self._count(1)
        try:
            iterable = self.wsgi_app(environ, start_response)
            try:
                return [b"".join(iterable)]
            finally:
                if hasattr(iterable, "close"):
                    iterable.close()
        finally:
            self._count(-1)

    def wait_quiet(self, settle: float = 0.1, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.active == 0 and time.monotonic() - self.changed >= settle:
                return
            time.sleep(0.02)


class Person:
    """A browser context signed in as one account (or none), signing in again when needed."""

    def __init__(self, browser, live_server: LiveServer, account: Account) -> None:  # noqa: ANN001
        self.live = live_server
        self.account = account
        self.context = new_context(browser)
        self.context.add_init_script(CLEAR_KEPT_TEXT)
        self.page = self.context.new_page()
        self.beforeunload: list[str] = []
        self.downloads: list[str] = []
        self.statuses: list[int] = []
        self.page.on("dialog", self._on_dialog)
        self.page.on("download", lambda d: self.downloads.append(d.suggested_filename))
        self.page.on("response", self._on_response)

    def _on_dialog(self, dialog) -> None:  # noqa: ANN001
        if dialog.type == "beforeunload":
            self.beforeunload.append(self.page.url)
            dialog.accept()  # the person chooses to leave; the warning is what counts
        else:
            dialog.dismiss()

    def _on_response(self, response) -> None:  # noqa: ANN001
        try:
            if response.request.is_navigation_request() and response.frame == self.page.main_frame:
                self.statuses.append(response.status)
        except PlaywrightError:
            pass

    def open(self, path: str) -> None:
        page = self.page
        page.goto(self.live.url_for(path))
        if self.account.email and urlsplit(page.url).path == "/sign-in" and path != "/sign-in":
            sign_in(page, self.live, self.account.email)
            page.goto(self.live.url_for(path))

    def close(self) -> None:
        self.context.close()


@dataclass
class Outcome:
    state: str
    way_out: str
    kind: str  # "all fields" or "own form"
    result: str  # dialog or beforeunload (warned), navigated, download, stayed
    lost: list[str]
    note: str = ""


def report(outcomes: list[Outcome]) -> str:
    lines = []
    for o in outcomes:
        lost = f" LOST: {', '.join(o.lost)}" if o.lost else ""
        note = f" ({o.note})" if o.note else ""
        lines.append(f"- {o.state} · {o.kind} · {o.way_out} → {o.result}{lost}{note}")
    return "\n".join(lines)


def shows(snapshot: dict, f: dict) -> bool:
    """Whether a page snapshot shows the marker of field ``f``."""
    node = snapshot["values"].get(f["expect"] if f["kind"] == "radio" else f["selector"])
    if not node:
        return False
    if f["kind"] == "radio":
        return bool(node["checked"])
    if f["kind"] == "checkbox":
        return node["checked"] == f["expect"]
    return node["value"] == f["expect"]


def stored_anywhere(live_server: LiveServer, tokens: list[str]) -> set[str]:
    """Which of ``tokens`` the database holds in any column of any table (but the audit log)."""
    if not tokens:
        return set()
    found: set[str] = set()
    with live_server.app.app_context():
        for table in db.metadata.sorted_tables:
            if table.name in NOT_STORAGE:
                continue
            for row in db.session.execute(table.select()):
                text = " ".join(str(value) for value in row)
                found.update(token for token in tokens if token in text)
        db.session.rollback()
    return found


# --- the sweep --------------------------------------------------------------------------------


class Sweep:
    """Runs the trials of each page state and keeps what happened."""

    def __init__(self, browser, live_server: LiveServer) -> None:  # noqa: ANN001
        self.browser = browser
        self.live = live_server
        self.people: dict[str, Person] = {}
        self.tokens = itertools.count(1)
        self.outcomes: list[Outcome] = []
        self.problems: list[str] = []
        self.tried: set[tuple] = set()
        self.dialog_checked = False
        self.visited: set[tuple[str, str]] = set()
        self.timings: list[tuple[str, float]] = []
        self.crawled: list[str] = []  # pages the crawl opened, with fields or not
        self.counter = RequestCounter(live_server.app.wsgi_app)
        live_server.app.wsgi_app = self.counter

    def person(self, account: Account) -> Person:
        key = account.email or "anonymous"
        if key not in self.people:
            self.people[key] = Person(self.browser, self.live, account)
        return self.people[key]

    def close(self) -> None:
        self.live.app.wsgi_app = self.counter.wsgi_app
        for person in self.people.values():
            person.close()

    # -- finding ------------------------------------------------------------------------------

    def discover(self, person: Person) -> dict:
        return person.page.evaluate(DISCOVER, [IN_PAGE_BUTTONS, NOT_A_PAGE.pattern])

    def load(self, state: PageState, came_from: str | None = None) -> dict:
        """Open the state's page (after ``came_from``); build it again if a trial changed it."""
        self.counter.wait_quiet()
        if not state.path:
            state.build()
        for attempt in range(2):
            person = self.person(state.account)
            if came_from:
                person.open(came_from)
            person.open(state.path)
            found = self.discover(person)
            if attempt or not state.fingerprint or found["fingerprint"] == state.fingerprint:
                break
            if state.rebuilds >= REBUILDS_PER_STATE:
                raise AssertionError(f"{state.label}: the page keeps changing between trials")
            state.rebuilds += 1
            state.build()
        state.fingerprint = found["fingerprint"]
        return found

    # -- typing -------------------------------------------------------------------------------

    def plan(self, fields: list[dict]) -> tuple[list[dict], list[dict]]:
        """What to type or tick in each field, and what each should read afterwards."""
        steps, expected = [], []
        for f in fields:
            n = next(self.tokens)
            kind = f["kind"]
            if kind.startswith("unknown:"):
                self.problems.append(f"no way to fill a field of kind {kind}: {f['label']}")
                continue
            if kind == "radio":
                choice = next((i for i, on in enumerate(f["checked"]) if not on), None)
                if choice is None:
                    continue
                value = f["options"][choice]
                steps.append({"selector": value, "checked": True})
            elif kind == "checkbox":
                value = not f["checked"]
                steps.append({"selector": f["selector"], "checked": value})
            elif kind == "select":
                others = [v for v in f["values"] if v != f["value"]]
                if not others:
                    continue
                value = next((v for v in others if v), others[0])
                steps.append({"selector": f["selector"], "value": value})
            else:
                value = {
                    "date": (date.today() - timedelta(days=1 + n % 25)).isoformat(),
                    "number": str(700000 + n),
                    "email": f"marker{n}x@example.test",
                }.get(kind, f"mk{n}qz")
                steps.append({"selector": f["selector"], "value": value})
            expected.append(f | {"expect": value})
        return steps, expected

    def fill(self, person: Person, steps: list[dict]) -> None:
        if not steps:
            return
        # A real click first: browsers ask before unloading only pages a person has used.
        typed = [s for s in steps if "value" in s]
        person.page.locator((typed or steps)[0]["selector"]).click(
            position={"x": 3, "y": 3}, force=True, no_wait_after=True
        )
        person.page.evaluate(FILL, steps)

    # -- leaving ------------------------------------------------------------------------------

    def watch(self, person: Person, token: str, *, wait_for_load: bool = True) -> str:
        """What pressing did: "dialog", "beforeunload", "navigated", "download" or "stayed"."""
        page = person.page
        deadline = time.monotonic() + OUTCOME_TIMEOUT_S
        while time.monotonic() < deadline:
            result = None
            if person.beforeunload:
                result = "beforeunload"
            elif person.downloads:
                return "download"
            else:
                try:
                    state = page.evaluate(STATE, token)
                except PlaywrightError:  # the old page is going away
                    page.wait_for_timeout(30)
                    continue
                if state["dialog"]:
                    return "dialog"
                if not state["same"]:
                    result = "navigated"
            if result:
                if wait_for_load:
                    page.wait_for_load_state("load")
                return result
            page.wait_for_timeout(30)
        return "stayed"

    def press(self, person: Person, control: dict) -> str:
        page = person.page
        person.beforeunload.clear()
        person.downloads.clear()
        person.statuses.clear()
        token = f"trial-{next(self.tokens)}"
        page.evaluate("t => { window.__everyInputTrial = t; }", token)
        if control["kind"] == "back":
            try:
                page.go_back(wait_until="commit", timeout=OUTCOME_TIMEOUT_S * 1000)
            except PlaywrightError:
                pass
        else:
            page.locator(control["selector"]).click(no_wait_after=True)
        result = self.watch(person, token)
        if result == "dialog":
            self.check_dialog(person)
            page.locator("#leave-dialog button[value=leave]").click(no_wait_after=True)
            if self.watch(person, token, wait_for_load=False) == "stayed":
                raise AssertionError(f"'Leave without saving' did not leave {page.url}")
        return result

    def check_dialog(self, person: Person) -> None:
        page = person.page
        dialog = page.locator("#leave-dialog")
        expect(dialog).to_have_attribute("aria-labelledby", "leave-dialog-title")
        focused = page.evaluate("() => document.activeElement && document.activeElement.value")
        assert focused == "stay", "the question opens with focus on 'Stay and keep my text'"
        if not self.dialog_checked:
            self.dialog_checked = True
            assert_no_axe_violations(page, "the unsaved-changes question")

    # -- judging ------------------------------------------------------------------------------

    def lost_values(
        self, person: Person, state: PageState, expected: list[dict], pressed_form: int
    ) -> list[str]:
        """Labels of the markers that were neither saved nor shown back with an error.

        A marker counts as saved when the page, opened again, shows it; when its text is in the
        database; or, for the form whose button was pressed, when the answer shows it back with
        an error (status 4xx) or, for a choice, when the server took the form (2xx after
        redirects). Email addresses typed to act on (sign in, reset a password) count as taken
        when their form was taken.
        """
        page = person.page
        selectors = [f["expect"] if f["kind"] == "radio" else f["selector"] for f in expected]
        status = person.statuses[-1] if person.statuses else 0
        after = page.evaluate(READ, selectors)
        self.counter.wait_quiet()
        person.open(state.path)
        reloaded = page.evaluate(READ, selectors)
        texts = [f["expect"] for f in expected if f["kind"] in ("text", "email", "number")]
        in_database = stored_anywhere(self.live, texts)
        lost = []
        for f in expected:
            own = pressed_form >= 0 and pressed_form in f["owners"]
            if shows(reloaded, f):
                continue
            if f["kind"] in ("text", "email", "number") and (
                f["expect"] in in_database
                or f["expect"] in reloaded["text"]
                or f["expect"] in after["text"]
            ):
                continue
            if own and status >= 400 and shows(after, f):
                continue
            if own and 0 < status < 400 and f["kind"] in ("radio", "checkbox", "select", "email"):
                continue
            lost.append(f"{f['label']} [{f['kind']}]")
        return lost

    # -- the trials of one page ---------------------------------------------------------------

    def shape(self, found: dict) -> tuple:
        """The page's forms by their buttons: pages with the same shape leave the same way."""
        return tuple(sorted(c["signature"] for c in found["controls"] if c["kind"] == "button"))

    def ways_out(self, state: PageState, found: dict) -> list[dict]:
        """Each distinct button (those outside <main> once per person), a link and "back".

        A page whose buttons are those of a page of the same group tried before (the steps of
        one toolkit: labels that differ only after the last comma) is left through its own
        forms' buttons only; see ``own_forms``.
        """
        who = state.account.email or "anonymous"
        shape = (who, state.label.rsplit(",", 1)[0], self.shape(found))
        if shape in self.tried:
            return []
        self.tried.add(shape)
        chosen, seen = [], set()
        for control in found["controls"]:
            if control["kind"] != "button" or control["signature"] in seen:
                continue
            seen.add(control["signature"])
            if not control["inMain"]:
                if (who, control["signature"]) in self.tried:
                    continue
                self.tried.add((who, control["signature"]))
            chosen.append(control)
        links = [c for c in found["controls"] if c["kind"] == "link"]
        fresh = [c for c in links if (who, c["signature"]) not in self.tried]
        for control in (fresh or links)[:LINKS_PER_PAGE]:
            self.tried.add((who, control["signature"]))
            chosen.append(control)
        chosen.append({"kind": "back", "signature": "back", "text": "the browser's back button"})
        return chosen

    def own_forms(self, found: dict) -> list[dict]:
        """One button of each kind for each form that holds fields."""
        chosen = []
        for control in found["controls"]:
            if control["kind"] != "button" or not control["inMain"]:
                continue
            holds_fields = any(control["form"] in f["owners"] for f in found["fields"])
            if holds_fields and control["signature"] not in {c["signature"] for c in chosen}:
                chosen.append(control)
        return chosen

    @staticmethod
    def locate(controls: list[dict], control: dict) -> dict | None:
        """The same way out on a fresh load: by signature, or in the same place once the page
        was built again (new names and numbers in the texts and links)."""
        if control["kind"] == "back":
            return control
        same = next((c for c in controls if c["signature"] == control["signature"]), None)
        if same is None and control["index"] < len(controls):
            same = controls[control["index"]]
            if same["kind"] != control["kind"]:
                return None
        return same

    def trial(self, state: PageState, control: dict, own_form: bool) -> None:
        try:
            self._trial(state, control, own_form)
        except (AssertionError, PlaywrightError) as error:
            text = (str(error).strip() or repr(error)).splitlines()[0]
            self.problems.append(f"{state.label}: {control['text']}: {text}")

    def _trial(self, state: PageState, control: dict, own_form: bool) -> None:
        # For the back button: something to go back to, the page this person came from.
        came_from = None
        if control["kind"] == "back":
            came_from = "/" if state.account.email else "/verify"
        found = self.load(state, came_from)
        person = self.person(state.account)
        current = self.locate(found["controls"], control)
        if current is None:
            self.problems.append(f"{state.label}: '{control['text']}' is gone after a reload")
            return
        fields = found["fields"]
        if own_form:
            fields = [f for f in fields if current["form"] in f["owners"]]
        steps, expected = self.plan(fields)
        self.fill(person, steps)
        result = self.press(person, current)
        name = control["text"] if control["kind"] == "back" else f"'{control['text']}'"
        kind = "own form" if own_form else "all fields"
        if result in ("dialog", "beforeunload"):
            # Warned. For a form's own button with only its own fields typed, a warning means
            # fields shown inside the form belong to another one: what the person typed is lost.
            lost = [f"{f['label']} [{f['kind']}]" for f in expected] if own_form else []
            note = "warned although only this form's own fields were typed" if own_form else ""
            self.outcomes.append(Outcome(state.label, name, kind, result, lost, note))
        elif result in ("download", "stayed"):
            self.outcomes.append(Outcome(state.label, name, kind, result, []))
        else:
            lost = self.lost_values(person, state, expected, current.get("form", -1))
            self.outcomes.append(Outcome(state.label, name, kind, result, lost))

    def run_state(self, state: PageState) -> None:
        begun = time.monotonic()
        found = self.load(state)
        self.visited.add((state.account.email, normalise(urlsplit(state.path).path)))
        for form in found["forms"]:
            if form["noGuard"] and form["method"] == "post" and form["freeText"]:
                self.problems.append(
                    f"{state.label}: the form posting to {form['action']} holds text but opts out "
                    "of the unsaved-changes guard (data-no-guard)"
                )
        if found["fields"]:
            for control in self.ways_out(state, found):
                self.trial(state, control, own_form=False)
            for control in self.own_forms(found):
                self.trial(state, control, own_form=True)
        self.timings.append((state.label, time.monotonic() - begun))

    # -- more pages: follow links from each person's pages ------------------------------------

    def crawl(self, account: Account, start: list[str]) -> list[PageState]:
        """Pages with fields, reached by links, that no page state above covers."""
        person = self.person(account)
        queue, seen, found_states = list(start), set(), []
        while queue and len(seen) < CRAWL_PAGES_PER_PERSON:
            path = queue.pop(0)
            pattern = normalise(path)
            if pattern in seen or NOT_A_PAGE.search(path):
                continue
            seen.add(pattern)
            person.open(path)
            self.crawled.append(path)
            response_type = person.page.evaluate("() => document.contentType")
            if response_type != "text/html":
                continue
            landed = urlsplit(person.page.url).path
            found = self.discover(person)
            for href in found["links"]:
                parts = urlsplit(href)
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
            key = (account.email, normalise(landed))
            if found["fields"] and key not in self.visited:
                self.visited.add(key)
                label = f"{account.role}, {landed} (found by link)"
                found_states.append(
                    PageState(label, account, lambda landed=landed, a=account: (landed, a))
                )
        return found_states
