"""The program console in a real browser, with real email: an administrator opens a new cycle,
loads its catalog (a bad row refused and named, nothing imported, then the fixed file), and
invites a town's staff member, who sets a password from the emailed link and signs in."""

from __future__ import annotations

import re
import socket
from datetime import date, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from sct_forms.extensions import db
from sct_forms.models import Action, AuditEvent, Cycle, User
from tests.browser.conftest import (
    WCAG22_TAGS,
    assert_no_axe_violations,
    new_context,
    sign_in,
)


class Inbox:
    """What a local SMTP server received."""

    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def inbox(live_server, monkeypatch):
    """The live server sends its mail to a local SMTP server for this test."""
    received = Inbox()
    controller = Controller(received, hostname="127.0.0.1", port=free_port())
    controller.start()
    for key, value in {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": controller.port,
        "MAIL_DELIVERY": "queue",
        "PUBLIC_BASE_URL": live_server.url,
    }.items():
        monkeypatch.setitem(live_server.app.config, key, value)
    try:
        yield received
    finally:
        controller.stop()


HEADER = "number,title,category_number,required_for\n"
GOOD_ROWS = (
    '1.1,Optimize for Equity,1,"bronze,silver,gold"\n'
    "1.2,Participate in Equity Training,1,gold\n"
    "1.3,Develop and Adopt a Statement on Equity,1,gold\n"
    "3.4,Develop an Open Space Plan,3,\n"
)
BAD_ROW = "5.9,Map Heat Islands,14,\n"


def test_an_admin_opens_a_cycle_loads_its_catalog_and_invites_a_town(
    live_server, accounts, browser, inbox
):
    live_server.create_catalog()
    year = date.today().year + 7  # a catalog year no other test uses
    opens = date.today() + timedelta(days=40)
    cycle_name = f"Spring {year}"
    admin_context, staff_context = new_context(browser), new_context(browser)
    admin, person = admin_context.new_page(), staff_context.new_page()
    try:
        sign_in(admin, live_server, accounts.admin.email)

        # A new cycle, on the catalog of 2024 for now.
        admin.goto(live_server.url_for("/admin/cycles"))
        assert_no_axe_violations(admin, "cycles", tags=WCAG22_TAGS)
        admin.get_by_role("link", name="New cycle").click()
        admin.get_by_label("Name").fill(cycle_name)
        admin.get_by_label("Opening date").fill(opens.isoformat())
        admin.get_by_label("Submission deadline").fill((opens + timedelta(days=150)).isoformat())
        admin.get_by_label("Lookback start").fill(opens.replace(year=opens.year - 3).isoformat())
        assert_no_axe_violations(admin, "new cycle form", tags=WCAG22_TAGS)
        admin.get_by_role("button", name="Create the cycle").click()
        expect(admin.get_by_text(cycle_name).first).to_be_visible()
        with live_server.app.app_context():
            cycle = db.session.query(Cycle).filter_by(name=cycle_name).one()
            assert cycle.opens_on == opens and cycle.catalog_year == 2024

        # Its catalog: a file with a bad row is refused, the line named, nothing imported.
        admin.goto(live_server.url_for("/admin/catalog"))
        assert_no_axe_violations(admin, "catalog", tags=WCAG22_TAGS)
        admin.get_by_label("Catalog year").fill(str(year))
        admin.get_by_label("Catalog file (CSV)").set_input_files(
            files=[
                {
                    "name": "catalog.csv",
                    "mimeType": "text/csv",
                    "buffer": (HEADER + GOOD_ROWS + BAD_ROW).encode(),
                }
            ]
        )
        admin.get_by_role("button", name="Check the file").click()
        expect(admin.get_by_text("Line 6: the category 14 does not exist.")).to_be_visible()
        assert_no_axe_violations(admin, "catalog refused", tags=WCAG22_TAGS)
        with live_server.app.app_context():
            assert db.session.query(Action).filter_by(catalog_year=year).count() == 0

        # The fixed file: a preview of the changes, then the import.
        admin.get_by_label("Catalog year").fill(str(year))
        admin.get_by_label("Catalog file (CSV)").set_input_files(
            files=[
                {
                    "name": "catalog.csv",
                    "mimeType": "text/csv",
                    "buffer": (HEADER + GOOD_ROWS).encode(),
                }
            ]
        )
        admin.get_by_role("button", name="Check the file").click()
        import_button = admin.get_by_role("button", name=re.compile(r"Import these 4 changes"))
        # The check is a full page load: wait for the preview before scanning it.
        expect(import_button).to_be_visible()
        assert_no_axe_violations(admin, "catalog preview", tags=WCAG22_TAGS)
        import_button.click()
        expect(admin.get_by_text("3.4 Develop an Open Space Plan").first).to_be_visible()
        with live_server.app.app_context():
            assert db.session.query(Action).filter_by(catalog_year=year).count() == 4

        # A town's staff member is invited, and the email arrives through SMTP.
        email = f"new.teammate.{year}@{accounts.town.slug}.test"
        admin.goto(live_server.url_for("/admin/accounts/invite"))
        admin.get_by_label("Name").fill("Noor Haddad")
        admin.get_by_label("Email").fill(email)
        admin.get_by_label("Role").select_option(label="Town staff")
        admin.get_by_label("Town").select_option(label=accounts.town.name)
        assert_no_axe_violations(admin, "invite", tags=WCAG22_TAGS)
        admin.get_by_role("button", name="Send the invitation").click()
        expect(admin.get_by_text(email).first).to_be_visible()
        invitations = [m for m in inbox.messages if m["To"] and email in m["To"]]
        assert len(invitations) == 1, [m["Subject"] for m in inbox.messages]
        text = invitations[0].get_body(preferencelist=("plain",)).get_content()
        link = next(word for word in text.split() if word.startswith(live_server.url))

        # The person sets a password from the link and is signed in, on their town's page.
        person.goto(link.rstrip(".,)"))
        person.get_by_label("New password", exact=True).fill("a lantern by the mill river")
        person.get_by_label("New password again").fill("a lantern by the mill river")
        person.get_by_role("button", name="Set password and sign in").click()
        expect(person.get_by_role("heading", level=1, name=accounts.town.name)).to_be_visible()
        person.get_by_role("button", name="Sign out").or_(
            person.get_by_role("link", name="Sign out")
        ).first.click()
        sign_in(person, live_server, email, "a lantern by the mill river")
        expect(person.get_by_role("heading", level=1, name=accounts.town.name)).to_be_visible()
        with live_server.app.app_context():
            user = db.session.query(User).filter_by(email=email).one()
            assert user.active and user.municipality.slug == accounts.town.slug
            actions = {e.action for e in db.session.query(AuditEvent).filter_by(actor_id=None)}
            assert actions is not None
    finally:
        admin_context.close()
        staff_context.close()


def test_the_console_pages_have_no_axe_violations(live_server, accounts, browser):
    """Every page of the console, as the people who use it see them, with something listed."""
    live_server.create_catalog()
    admin_context, staff_context = new_context(browser), new_context(browser)
    admin, staff = admin_context.new_page(), staff_context.new_page()
    with live_server.app.app_context():
        cycle_id = db.session.query(Cycle).filter_by(name=accounts.cycle_name).one().id
        staff_id = db.session.query(User).filter_by(email=accounts.staff.email).one().id
    try:
        sign_in(admin, live_server, accounts.admin.email)
        for path in (
            "/admin/accounts/",
            f"/admin/accounts/{staff_id}",
            "/admin/outbox/",
            "/admin/log/",
            "/exports/",
            f"/admin/cycles/{cycle_id}",
            f"/admin/cycles/{cycle_id}/certificates",
            "/coaching/requests",
        ):
            admin.goto(live_server.url_for(path))
            assert_no_axe_violations(admin, path, tags=WCAG22_TAGS)
        sign_in(staff, live_server, accounts.staff.email)
        for path in (
            f"/towns/{accounts.town.slug}/team",
            f"/towns/{accounts.town.slug}/toolkits/copy",
            "/account/reminders",
        ):
            staff.goto(live_server.url_for(path))
            assert_no_axe_violations(staff, path, tags=WCAG22_TAGS)
    finally:
        admin_context.close()
        staff_context.close()
