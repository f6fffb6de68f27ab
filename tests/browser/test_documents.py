"""Packets and certificates from the town page, and the public verification page."""

from __future__ import annotations

import hashlib

from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from sct_forms.certificates.services import issue_after_decision
from sct_forms.extensions import db
from sct_forms.models import Toolkit, User
from tests.browser.conftest import assert_no_axe_violations, new_context, sign_in
from tests.browser.test_review_flow import complete


def approve(live_server, toolkit_id: int, reviewer_email: str) -> None:
    """The toolkit approved (the review is tested elsewhere), then what the program does after
    a reviewer's approval: it issues the certificate the town reached."""
    with live_server.app.app_context():
        toolkit = db.session.get(Toolkit, toolkit_id)
        toolkit.state = "approved"
        db.session.commit()
        reviewer = db.session.scalar(select(User).where(User.email == reviewer_email))
        assert issue_after_decision(toolkit.municipality, toolkit.cycle, reviewer) is not None


def test_staff_download_packet_and_certificate_and_anyone_can_verify(
    live_server, accounts, page, browser, tmp_path
):
    staff = accounts.staff
    toolkit_id = live_server.create_toolkit(staff)
    complete(live_server, toolkit_id, staff.email)
    approve(live_server, toolkit_id, accounts.reviewer.email)
    sign_in(page, live_server, staff.email)

    # The packet: from the town page through the progress page to the PDF.
    page.goto(live_server.url_for(f"/toolkits/{toolkit_id}"))
    page.get_by_role("link", name="Print preview").click()
    expect(page.locator("body")).to_contain_text("The action and its context")
    assert_no_axe_violations(page, "packet print preview")
    page.goto(live_server.url_for(f"/toolkits/{toolkit_id}"))
    page.get_by_role("link", name="Download as PDF").click()
    download_link = page.get_by_role("link", name="Download the PDF")
    expect(download_link).to_be_visible(timeout=60_000)
    with page.expect_download() as packet_download:
        download_link.click()
    packet = tmp_path / "packet.pdf"
    packet_download.value.save_as(packet)
    text = "".join(p.extract_text() for p in PdfReader(packet).pages)
    assert accounts.town.name in text and "3.4 Develop an Open Space Plan" in text

    # The certificate: issued by the program on the approval, listed on the town's
    # certificates page with no button to press, then downloaded.
    page.goto(live_server.url_for(f"/towns/{accounts.town.slug}"))
    page.get_by_role("link", name=f"Certificates of {accounts.town.name}").click()
    expect(page.locator("main")).to_contain_text("by Sustainable CT")
    expect(page.get_by_role("button", name="Issue the Bronze certificate")).to_have_count(0)
    assert_no_axe_violations(page, "certificates page with a certificate")
    with page.expect_download() as certificate_download:
        page.get_by_role("link", name="Download PDF").first.click()
    certificate = tmp_path / "certificate.pdf"
    certificate_download.value.save_as(certificate)
    digest = hashlib.sha256(certificate.read_bytes()).hexdigest()
    verify_href = page.get_by_role("link", name="Public check page").first.get_attribute("href")

    # Anyone, without signing in, can check it.
    stranger = new_context(browser)
    try:
        public = stranger.new_page()
        public.goto(live_server.url_for(verify_href))
        expect(public.locator("main")).to_contain_text("Valid")
        expect(public.locator("main")).to_contain_text(accounts.town.name)
        expect(public.locator("main")).to_contain_text(digest)
        assert_no_axe_violations(public, "verify page")
        public.goto(live_server.url_for("/verify/SCT-2026-AAAA-BBBB"))
        expect(public.locator("main")).to_contain_text("No certificate has this number")
        assert_no_axe_violations(public, "verify page, unknown number")
    finally:
        stranger.close()
