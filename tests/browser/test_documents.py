"""Packets and certificates from the town page, and the public verification page."""

from __future__ import annotations

import hashlib

from playwright.sync_api import expect
from pypdf import PdfReader

from sct_forms.extensions import db
from sct_forms.models import Toolkit
from tests.browser.conftest import assert_no_axe_violations, new_context, sign_in
from tests.browser.test_review_flow import complete


def approve(live_server, toolkit_id: int) -> None:
    with live_server.app.app_context():
        db.session.get(Toolkit, toolkit_id).state = "approved"
        db.session.commit()


def test_staff_download_packet_and_certificate_and_anyone_can_verify(
    live_server, accounts, page, browser, tmp_path
):
    staff = accounts.staff
    toolkit_id = live_server.create_toolkit(staff)
    complete(live_server, toolkit_id, staff.email)
    approve(live_server, toolkit_id)
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

    # The certificate: issued from the town's certificates page, then downloaded.
    page.goto(live_server.url_for(f"/towns/{accounts.town.slug}"))
    page.get_by_role("link", name=f"Certificates of {accounts.town.name}").click()
    # Issuing comes back to the page, which lists the new certificate without a reload.
    page.get_by_role("button", name="Issue the Bronze certificate").click()
    expect(page.locator("#messages")).to_contain_text("is issued")
    expect(page.get_by_role("button", name="Issue the Bronze certificate")).to_have_count(0)
    assert_no_axe_violations(page, "certificates page after issuing")
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
