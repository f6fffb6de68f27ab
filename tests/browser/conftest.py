"""Browser tests: Debian's Chromium, driven by Playwright, against a live server.

Each test process serves one app, on its own SQLite file, from a server thread, started when
its first browser test needs it; each test creates its own town and accounts with unique names
through ``live_server``, so tests never depend on each other's data or order, and the browser
tests can be spread over the test processes one by one.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from sct_forms import create_app
from sct_forms.auth.passwords import hash_password
from sct_forms.cycles import current_cycle
from sct_forms.domain.tiers import DEFAULT_TIER_RULES
from sct_forms.extensions import db
from sct_forms.models import (
    Action,
    AuditEvent,
    Category,
    CoachAssignment,
    Cycle,
    Municipality,
    User,
)
from sct_forms.toolkits.services import start_toolkit
from tests.conftest import (
    CATALOG_ACTIONS,
    CATALOG_CATEGORIES,
    PASSWORD,
    isolate_environment,
    make_town,
    make_user,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# WCAG 2.2 adds AA success criteria (axe tags them "wcag22aa", such as target size).
WCAG22_TAGS = [*WCAG_TAGS, "wcag22aa"]
BROWSER_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/browser carries the ``browser`` marker."""
    for item in items:
        if BROWSER_TESTS in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


# --- the live server -----------------------------------------------------------------------


@dataclass(frozen=True)
class Town:
    name: str
    slug: str


@dataclass(frozen=True)
class Account:
    """What a test needs to sign in as a user; plain data, safe outside the app context."""

    email: str
    name: str
    role: str
    password: str = PASSWORD
    town: Town | None = None


@dataclass(frozen=True)
class Accounts:
    """One town with a current cycle and an account of every role (the coach advises the town)."""

    town: Town
    cycle_name: str
    staff: Account
    reviewer: Account
    coach: Account
    admin: Account

    def by_role(self, role: str) -> Account:
        return getattr(self, role)


TOWN_NAMES = ("Windham", "Mansfield", "Ashford", "Chaplin", "Hampton", "Scotland", "Sterling")


class LiveServer:
    """The app served over HTTP in a background thread, plus helpers to create its data."""

    def __init__(self, app: Flask, host: str, port: int) -> None:
        self.app = app
        self.url = f"http://{host}:{port}"
        self._numbers = itertools.count(1)
        self._password_hash: str | None = None

    def url_for(self, path: str) -> str:
        return self.url + path

    def _unique(self) -> int:
        return next(self._numbers)

    @property
    def password_hash(self) -> str:
        if self._password_hash is None:
            self._password_hash = hash_password(PASSWORD)
        return self._password_hash

    def create_town(self, name: str | None = None) -> Town:
        n = self._unique()
        if name is None:
            base = TOWN_NAMES[(n - 1) % len(TOWN_NAMES)]
            name = base if n <= len(TOWN_NAMES) else f"{base} {n}"
        with self.app.app_context():
            town = make_town(name, f"9{n:08d}")
            return Town(name=town.name, slug=town.slug)

    def create_user(
        self, role: str, town: Town | None = None, *, coaches: Town | None = None
    ) -> Account:
        """An active account with PASSWORD; ``town`` for staff, ``coaches`` assigns a coach."""
        n = self._unique()
        email = f"{role}.{n}@{(town.slug if town else 'sct')}.test"
        with self.app.app_context():
            municipality = None
            if town is not None:
                municipality = db.session.query(Municipality).filter_by(slug=town.slug).one()
            user = make_user(role, email, self.password_hash, municipality)
            if coaches is not None:
                coached = db.session.query(Municipality).filter_by(slug=coaches.slug).one()
                db.session.add(CoachAssignment(coach_id=user.id, municipality_id=coached.id))
                db.session.commit()
            return Account(email=user.email, name=user.name, role=role, town=town)

    def create_cycle(self, name: str | None = None, today: date | None = None) -> str:
        """A cycle open today (opened a month ago, deadline in two months); returns its name."""
        today = today or date.today()
        name = name or f"Cycle {self._unique()}"
        opens_on = today - timedelta(days=30)
        with self.app.app_context():
            db.session.add(
                Cycle(
                    name=name,
                    opens_on=opens_on,
                    submission_deadline=today + timedelta(days=60),
                    lookback_start=opens_on.replace(year=opens_on.year - 3),
                    catalog_year=2024,
                    tier_rules_data=DEFAULT_TIER_RULES,
                )
            )
            db.session.commit()
        return name

    def create_catalog(self, catalog_year: int = 2024) -> None:
        """The small catalog of tests/conftest.py (actions 1.1 ... 5.7); idempotent."""
        with self.app.app_context():
            categories = {c.number: c for c in db.session.query(Category)}
            for number, name in CATALOG_CATEGORIES.items():
                if number not in categories:
                    categories[number] = Category(number=number, name=name)
                    db.session.add(categories[number])
            existing = {
                a.number for a in db.session.query(Action).filter_by(catalog_year=catalog_year)
            }
            for number, title, required_for in CATALOG_ACTIONS:
                if number not in existing:
                    db.session.add(
                        Action(
                            catalog_year=catalog_year,
                            number=number,
                            title=title,
                            category=categories[int(number.split(".")[0])],
                            required_for=required_for,
                        )
                    )
            db.session.commit()

    def create_toolkit(self, staff: Account, action_number: str = "3.4") -> int:
        """A draft toolkit of the staff member's town in the current cycle; returns its id.

        Started through the app's own service, exactly as the start page does.
        """
        assert staff.town is not None, "only town staff start toolkits"
        self.create_catalog()
        with self.app.app_context():
            town = db.session.query(Municipality).filter_by(slug=staff.town.slug).one()
            user = db.session.query(User).filter_by(email=staff.email).one()
            cycle = current_cycle(date.today())
            assert cycle is not None, "create a cycle first (create_accounts does)"
            action = (
                db.session.query(Action)
                .filter_by(catalog_year=cycle.catalog_year, number=action_number)
                .one()
            )
            return start_toolkit(town, cycle, action.id, True, user).id

    def audit_actions(self, toolkit_id: int) -> list[str]:
        """The audit trail of a toolkit, oldest first: ``["toolkit.started", ...]``."""
        with self.app.app_context():
            events = (
                db.session.query(AuditEvent)
                .filter_by(object_type="toolkit", object_id=str(toolkit_id))
                .order_by(AuditEvent.id)
            )
            return [event.action for event in events]

    def create_accounts(self) -> Accounts:
        town = self.create_town()
        return Accounts(
            town=town,
            cycle_name=self.create_cycle(),
            staff=self.create_user("staff", town),
            reviewer=self.create_user("reviewer"),
            coach=self.create_user("coach", coaches=town),
            admin=self.create_user("admin"),
        )


@contextmanager
def serve_app(tmp: Path) -> Iterator[LiveServer]:
    """A fresh app on a temporary SQLite file in ``tmp``, with real CSRF, served on a free port.

    Always SQLite, even when the rest of the suite runs on PostgreSQL: the server thread and
    the test thread share this database, and it goes away with the test process.
    """
    with pytest.MonkeyPatch.context() as patch:
        isolate_environment(patch, tmp / "instance")
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "browser-test-secret",
                "WTF_CSRF_ENABLED": True,
                "DATABASE_URL": f"sqlite:///{tmp / 'browser.sqlite3'}",
                "PUBLIC_BASE_URL": "http://127.0.0.1",
                "PASSWORD_HASH_FAST_FOR_TESTS": True,
            }
        )
    with app.app_context():
        db.create_all()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, "127.0.0.1", server.server_port)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app served for the browser tests of this process (see serve_app)."""
    with serve_app(tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture
def accounts(live_server: LiveServer) -> Accounts:
    """A new town, a current cycle and one account of every role, unique to this test."""
    return live_server.create_accounts()


# --- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Debian's Chromium. "
            "Install it with `apt-get install chromium` (Playwright's own browser download "
            "is not used).",
            pytrace=False,
        )

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


def new_context(browser):
    """A fresh browser context (its own cookies and storage) with the suite's settings."""
    # bypass_csp: the app's Content-Security-Policy (script-src 'self') would block axe.
    context = browser.new_context(bypass_csp=True, locale="en-US")
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def page(browser):
    context = new_context(browser)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def second_page(browser):
    """A page in a second, separate browser: another person working at the same time."""
    context = new_context(browser)
    try:
        yield context.new_page()
    finally:
        context.close()


# --- helpers -------------------------------------------------------------------------------


def sign_in(page, live_server: LiveServer, email: str, password: str = PASSWORD) -> None:
    """Sign in through the real form (real CSRF token) and wait for the next page."""
    page.goto(live_server.url_for("/sign-in"))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def assert_no_axe_violations(page, context_label: str, tags: list[str] | None = None) -> None:
    """Run axe-core's WCAG A and AA rules (2.1 unless ``tags`` says otherwise) on the page;
    fail with a readable list."""
    options = {
        "runOnly": {"type": "tag", "values": tags or WCAG_TAGS},
        "resultTypes": ["violations"],
    }
    results = Axe().run(page, options=options)
    violations = results.response["violations"]
    if not violations:
        return
    lines = [f"{len(violations)} accessibility violation(s) on {context_label} ({page.url}):"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} [{violation.get('impact')}]: {violation['help']} "
            f"({len(violation['nodes'])} element(s)) {violation.get('helpUrl', '')}"
        )
        for node in violation["nodes"][:3]:
            target = " ".join(str(part) for part in node["target"])
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    at {target}: {summary}")
    pytest.fail("\n".join(lines), pytrace=False)


def focus_document_start(page) -> None:
    """Put keyboard focus at the very start of the page, as when arriving from the address bar.

    Pages may autofocus a field; this moves the sequential focus starting point back to the
    top (focus the body, then make it unfocusable again) so the next Tab is the first stop.
    """
    page.evaluate(
        """async () => {
            // Let a pending autofocus happen first, so it cannot take focus back afterwards.
            await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
            const body = document.body;
            body.setAttribute("tabindex", "-1");
            body.focus();
            body.removeAttribute("tabindex");
        }"""
    )


def active_element(page) -> dict:
    """The focused element's tag, id, name, role and text, for readable assertions."""
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            return {
                tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute("name"),
                role: el.getAttribute("role"), text: (el.innerText || "").trim().slice(0, 80),
            };
        }"""
    )


def assert_id_references_resolve(page) -> None:
    """Every id named by aria-describedby, aria-labelledby, aria-controls or label[for] exists.

    axe only flags some broken references (it lets aria-describedby pass with a missing id),
    so a stray ``aria-describedby="None"`` would otherwise go unnoticed.
    """
    broken = page.evaluate(
        """() => {
            const broken = [];
            const attrs = ["aria-describedby", "aria-labelledby", "aria-controls", "for"];
            for (const attr of attrs) {
                for (const el of document.querySelectorAll(`[${attr}]`)) {
                    for (const id of el.getAttribute(attr).split(/\\s+/).filter(Boolean)) {
                        if (!document.getElementById(id)) {
                            broken.push(`${el.tagName.toLowerCase()}#${el.id} ${attr}="${id}"`);
                        }
                    }
                }
            }
            return broken;
        }"""
    )
    assert not broken, f"references to ids that do not exist on {page.url}: {broken}"


def tab_to(page, selector: str, *, max_steps: int = 200, backwards: bool = False) -> None:
    """Press Tab (Shift+Tab when ``backwards``) until the focused element matches ``selector``.

    Fails with the focus stops on the way, so a missing or unreachable control is easy to see.
    """
    key = "Shift+Tab" if backwards else "Tab"
    stops = []
    for _ in range(max_steps):
        page.keyboard.press(key)
        if page.evaluate("sel => document.activeElement.matches(sel)", selector):
            return
        stops.append(active_element(page))
    summary = ", ".join(f"{s['tag']}#{s['id'] or s['name'] or s['text'][:20]}" for s in stops[-15:])
    raise AssertionError(f"{key} never reached {selector!r} on {page.url}; last stops: {summary}")
