"""Certificates: issued by the program on reviewers' decisions, stored once per language,
superseded, revoked, verifiable."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import segno
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from sct_forms.certificates import document
from sct_forms.certificates import services as service
from sct_forms.certificates.document import make_qr_svg, verification_url
from sct_forms.certificates.services import (
    CertificateRefusedError,
    RevokeRefusedError,
    issue_after_decision,
    issue_certificate,
    local_date,
    revoke,
)
from sct_forms.documents import render
from sct_forms.documents.render import render_html
from sct_forms.domain.certificates import new_serial
from sct_forms.extensions import db
from sct_forms.models import Action, AuditEvent, Toolkit
from sct_forms.models.certificates import Certificate, CertificateDocument
from tests.conftest import add_catalog, add_cycle, make_town, make_user
from tests.documents.module_app import module_app
from tests.storage_helpers import every_file, read_stored, replace_stored
from tests.toolkit_helpers import make_toolkit

SERIAL = re.compile(r"^SCT-\d{4}-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$")
PAIRED = ("3.4", "3.12", "5.4", "5.7")


# --- helpers ----------------------------------------------------------------------------------


def toolkit_on(town, cycle, action, user, state: str = "approved"):
    """A toolkit in ``state``; the review workflow that gets it there is tested elsewhere."""
    toolkit = make_toolkit(town, cycle, action, user)
    toolkit.state = state
    db.session.commit()
    return toolkit


def approve(town, cycle, catalog, user, *numbers: str) -> None:
    for number in numbers:
        toolkit_on(town, cycle, catalog[number], user)


def text_of(html: str) -> str:
    """The page's words with tags removed and spaces collapsed, to match whole sentences."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def page_text(response) -> str:
    return text_of(response.get_data(as_text=True))


def english(certificate: Certificate) -> CertificateDocument:
    return db.session.scalar(
        select(CertificateDocument).where(
            CertificateDocument.certificate_id == certificate.id,
            CertificateDocument.language == "en",
        )
    )


def stored_bytes(certificate: Certificate) -> bytes:
    return read_stored("certificates", english(certificate).storage_name)


def program_issue(town, cycle, reviewer) -> Certificate | None:
    """What the program does after a reviewer's decision (the decision itself is tested in
    test_certificate_release.py, through the review workflow)."""
    return issue_after_decision(town, cycle, reviewer)


def audit_actions(certificate_id: int | None = None) -> list[str]:
    query = select(AuditEvent).where(AuditEvent.object_type == "certificate")
    if certificate_id is not None:
        query = query.where(AuditEvent.object_id == str(certificate_id))
    return [event.action for event in db.session.scalars(query.order_by(AuditEvent.id))]


def certificates_of(town) -> list[Certificate]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.municipality_id == town.id)
            .order_by(Certificate.id)
        )
    )


def stand_in_pdf(
    template: str, *, municipality_id: int | None, pdf_variant: str = "pdf/ua-1", **context
) -> bytes:
    """What render_pdf returns, without WeasyPrint: the certificate's HTML (rendered, so the
    template still runs) behind a PDF header, different for every certificate."""
    html = render_html(template, **context)
    fingerprint = hashlib.sha256(html.encode()).hexdigest()
    return f"%PDF-1.7\n% stand-in {pdf_variant} {fingerprint}\n".encode()


@pytest.fixture(autouse=True)
def _certificates_without_weasyprint(monkeypatch) -> None:
    """Most tests here are about issuing, superseding, revoking, verifying and who may do what,
    not about the PDF: their certificates are stand-in files (a real one costs WeasyPrint a
    fifth of a second). The PDF itself is checked on a real certificate, ``issued_bronze``,
    and in test_falls_back_to_pdf_ua_when_pdf_a_cannot_be_made."""
    monkeypatch.setattr(document, "render_pdf", stand_in_pdf)


@pytest.fixture
def bronze(town, cycle, catalog, staff_user, reviewer_user) -> Certificate:
    approve(town, cycle, catalog, staff_user, "3.4")
    return program_issue(town, cycle, reviewer_user)


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate issued and rendered for real, and what its PDF must show."""

    pdf: bytes
    serial: str
    expires_on: date
    town_name: str
    cycle_name: str
    verification_url: str
    pdf_variant: str  # as the audit record names it


@pytest.fixture(scope="module")
def issued_bronze(tmp_path_factory, _sqlite_template, password_hash) -> IssuedCertificate:
    """Windham's bronze certificate issued by the program on Rita Reviewer's approval, rendered
    by WeasyPrint once for the tests that read the PDF (in an app of its own: the ``app``
    fixture is per test)."""
    folder = tmp_path_factory.mktemp("certificate")
    with (
        pytest.MonkeyPatch.context() as patch,
        module_app(folder, _sqlite_template) as app,
        app.app_context(),
    ):
        patch.setattr(document, "render_pdf", render.render_pdf)  # never the stand-in
        town = make_town("Windham", "901588050")
        cycle, catalog = add_cycle(), add_catalog()
        staff = make_user("staff", "dana.staff@windham.test", password_hash, town)
        reviewer = make_user("reviewer", "rita.reviewer@sct.test", password_hash)
        approve(town, cycle, catalog, staff, "3.4")
        certificate = program_issue(town, cycle, reviewer)
        issued = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "certificate.issued")
        )
        return IssuedCertificate(
            pdf=stored_bytes(certificate),
            serial=certificate.serial,
            expires_on=certificate.expires_on,
            town_name=town.name,
            cycle_name=cycle.name,
            verification_url=verification_url(certificate.serial),
            pdf_variant=issued.details["pdf_variant"],
        )


# --- refusing and issuing ---------------------------------------------------------------------


def test_an_administrator_is_refused_with_a_plain_explanation_when_nothing_is_approved(
    as_user, town, cycle, catalog, staff_user, admin_user
):
    toolkit_on(town, cycle, catalog["3.4"], staff_user, state="submitted")
    response = as_user(admin_user).post(f"/towns/{town.slug}/certificate")
    assert response.status_code == 422
    text = page_text(response)
    assert "Windham cannot get a certificate yet" in text
    assert (
        "Bronze needs 1 action with an approved Equity Toolkit: "
        "Windham has 0 approved, 1 with reviewers." in text
    )
    assert "If the toolkits now with reviewers are approved, Windham will reach Bronze" in text
    # The normal layout, not an error trace.
    assert 'class="site-header"' in response.get_data(as_text=True)
    assert "Traceback" not in text
    assert certificates_of(town) == []
    assert audit_actions() == []


def test_service_refusal_says_what_is_missing(town, cycle, catalog, staff_user, admin_user):
    toolkit_on(town, cycle, catalog["3.4"], staff_user, state="draft")
    with pytest.raises(CertificateRefusedError) as refused:
        issue_certificate(town, cycle, admin_user)
    error = refused.value
    assert (error.code, error.tier, error.status) == ("tier_not_reached", "bronze", 422)
    [missing] = error.missing
    assert (missing.key, missing.needed, missing.approved, missing.in_progress) == (
        "distinct_actions",
        1,
        0,
        1,
    )


def test_the_program_issues_nothing_before_a_tier_passes(
    town, cycle, catalog, staff_user, reviewer_user
):
    toolkit_on(town, cycle, catalog["3.4"], staff_user, state="submitted")
    assert program_issue(town, cycle, reviewer_user) is None
    assert certificates_of(town) == []


def test_bronze_is_issued_by_the_program_on_one_approved_toolkit(
    as_user, town, cycle, catalog, staff_user, reviewer_user
):
    approve(town, cycle, catalog, staff_user, "3.4")
    certificate = program_issue(town, cycle, reviewer_user)
    assert certificates_of(town) == [certificate]
    listed = page_text(as_user(staff_user).get(f"/towns/{town.slug}/certificate"))
    assert certificate.serial in listed and "Download PDF" in listed
    assert "by Sustainable CT" in listed
    assert "Issue the" not in listed
    assert (certificate.tier, certificate.status, certificate.cycle_id) == (
        "bronze",
        "valid",
        cycle.id,
    )
    assert SERIAL.match(certificate.serial), certificate.serial
    issued_on = local_date(certificate.issued_at)
    assert certificate.serial.startswith(f"SCT-{issued_on.year}-")
    assert certificate.expires_on == date(issued_on.year + 2, 12, 31)
    assert certificate.issued_by_id is None
    [document_row] = db.session.scalars(select(CertificateDocument)).all()
    assert document_row.language == "en"
    assert hashlib.sha256(stored_bytes(certificate)).hexdigest() == document_row.sha256
    assert audit_actions(certificate.id) == ["certificate.issued"]


def test_issuing_twice_gives_the_same_certificate(
    town, cycle, catalog, staff_user, reviewer_user, admin_user
):
    approve(town, cycle, catalog, staff_user, "3.4")
    first = program_issue(town, cycle, reviewer_user)
    assert program_issue(town, cycle, reviewer_user) is None  # nothing more to issue
    assert issue_certificate(town, cycle, admin_user).id == first.id
    assert len(certificates_of(town)) == 1
    assert audit_actions() == ["certificate.issued"]


def test_three_approved_toolkits_on_two_distinct_actions_stay_bronze(
    town, cycle, catalog, staff_user, reviewer_user
):
    # A town has one toolkit per action record, so the third toolkit is paired with 3.4 of
    # another catalog year: a different action record, the same action number. One action
    # counts once, so this is two distinct actions.
    old_34 = Action(
        catalog_year=2023,
        number="3.4",
        title="Develop an Open Space Plan",
        category=catalog["3.4"].category,
    )
    db.session.add(old_34)
    db.session.commit()
    for action in (catalog["3.4"], catalog["3.12"], old_34):
        toolkit_on(town, cycle, action, staff_user)
    certificate = program_issue(town, cycle, reviewer_user)
    assert certificate.tier == "bronze"


def test_a_third_distinct_action_issues_silver_and_supersedes_bronze(
    client, town, cycle, catalog, staff_user, reviewer_user, bronze
):
    approve(town, cycle, catalog, staff_user, "3.12", "5.4")
    program_issue(town, cycle, reviewer_user)
    old, silver = certificates_of(town)
    assert old.id == bronze.id
    assert (old.status, old.superseded_by_id) == ("superseded", silver.id)
    assert (silver.tier, silver.status) == ("silver", "valid")
    assert silver.serial != old.serial

    text = page_text(client.get(f"/verify/{old.serial}"))
    assert "Status: Superseded." in text
    assert silver.serial in text
    assert "Status: Valid." in page_text(client.get(f"/verify/{silver.serial}"))

    assert audit_actions(old.id) == ["certificate.issued", "certificate.superseded"]
    assert audit_actions(silver.id) == ["certificate.issued"]
    superseded = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "certificate.superseded")
    )
    assert superseded.details["superseded_by"] == silver.serial
    assert superseded.actor_id == reviewer_user.id
    assert superseded.municipality_id == town.id


def test_a_lower_tier_than_the_valid_certificate_issues_nothing(
    town, cycle, catalog, staff_user, reviewer_user, admin_user
):
    approve(town, cycle, catalog, staff_user, "3.4", "3.12", "5.4")
    silver = program_issue(town, cycle, reviewer_user)
    toolkit = db.session.scalars(select(Toolkit).order_by(Toolkit.id)).first()
    toolkit.state = "not_approved"
    db.session.commit()
    assert program_issue(town, cycle, reviewer_user) is None
    assert issue_certificate(town, cycle, admin_user).id == silver.id
    assert len(certificates_of(town)) == 1


def test_only_one_valid_certificate_per_town_and_cycle_in_the_database(town, cycle, bronze):
    twin = Certificate(
        serial=new_serial(2026),
        municipality_id=town.id,
        cycle_id=cycle.id,
        tier="silver",
        expires_on=date(2028, 12, 31),
        issued_by_id=None,
        status="valid",
    )
    db.session.add(twin)
    with pytest.raises(Exception, match="(?i)unique"):
        db.session.flush()
    db.session.rollback()


def test_a_request_that_loses_the_race_returns_the_winners_certificate(
    monkeypatch, town, cycle, admin_user, bronze
):
    real_lookup = service.valid_certificate
    calls = []

    def first_sees_nothing(*args):
        calls.append(args)
        # The first look happens before the other request's certificate is committed.
        return None if len(calls) == 1 else real_lookup(*args)

    monkeypatch.setattr(service, "valid_certificate", first_sees_nothing)
    files_before = every_file("certificates")
    assert issue_certificate(town, cycle, admin_user).id == bronze.id
    assert len(certificates_of(town)) == 1
    assert every_file("certificates") == files_before  # no orphan file
    assert audit_actions() == ["certificate.issued"]


@pytest.mark.parametrize("role", ["staff", "coach", "reviewer", "other_staff"])
def test_only_administrators_issue_by_hand(
    role, town, cycle, catalog, staff_user, coach_user, reviewer_user, other_staff_user
):
    user = {
        "staff": staff_user,
        "coach": coach_user,
        "reviewer": reviewer_user,
        "other_staff": other_staff_user,
    }[role]
    approve(town, cycle, catalog, staff_user, "3.4")
    with pytest.raises(PermissionError):
        issue_certificate(town, cycle, user)
    assert certificates_of(town) == []


@pytest.mark.parametrize("role", ["staff", "coach"])
def test_the_program_follows_reviewers_decisions_only(
    role, town, cycle, catalog, staff_user, coach_user
):
    approve(town, cycle, catalog, staff_user, "3.4")
    with pytest.raises(PermissionError):
        issue_after_decision(town, cycle, {"staff": staff_user, "coach": coach_user}[role])
    assert certificates_of(town) == []


# --- the PDF ----------------------------------------------------------------------------------


def test_certificate_is_one_landscape_letter_page_with_its_facts(issued_bronze):
    bronze = issued_bronze
    reader = PdfReader(io.BytesIO(bronze.pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) > float(box.height)
    assert (round(float(box.width)), round(float(box.height))) == (792, 612)
    text = " ".join(reader.pages[0].extract_text().split())
    assert bronze.town_name in text
    assert "Bronze" in text
    assert bronze.cycle_name in text
    assert bronze.serial in text
    assert f"December 31, {bronze.expires_on.year}" in text
    assert bronze.verification_url in text
    # The program issues, not a person: the reviewers are named in the audit log only.
    assert "Issued by Sustainable CT" in text
    assert "Dana Staff" not in text and "Rita Reviewer" not in text
    assert reader.metadata.title.startswith(f"Sustainable CT certificate {bronze.serial}")


def test_certificate_is_stored_as_pdf_a_3b(issued_bronze):
    reader = PdfReader(io.BytesIO(issued_bronze.pdf))
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp
    assert 'pdfaid:conformance="B"' in xmp
    assert root["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"
    assert issued_bronze.pdf_variant == "pdf/a-3b"


def test_falls_back_to_pdf_ua_when_pdf_a_cannot_be_made(
    monkeypatch, town, cycle, catalog, staff_user, reviewer_user
):
    real_render = render.render_pdf  # WeasyPrint, not this module's stand-in

    def refuse_pdf_a(template, **kwargs):
        if kwargs["pdf_variant"] == "pdf/a-3b":
            raise ValueError("no PDF/A today")
        return real_render(template, **kwargs)

    monkeypatch.setattr(document, "render_pdf", refuse_pdf_a)
    approve(town, cycle, catalog, staff_user, "3.4")
    certificate = program_issue(town, cycle, reviewer_user)
    reader = PdfReader(io.BytesIO(stored_bytes(certificate)))
    assert "/StructTreeRoot" in reader.trailer["/Root"]  # tagged: PDF/UA-1
    issued = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.issued"))
    assert issued.details["pdf_variant"] == "pdf/ua-1"


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler's pdftoppm")
def test_qr_code_in_the_pdf_decodes_to_the_verification_url(tmp_path, issued_bronze):
    bronze = issued_bronze
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(bronze.pdf)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    with Image.open(tmp_path / "page.png") as image:
        found = zxingcpp.read_barcodes(image)
    assert [(code.format, code.text) for code in found] == [
        (zxingcpp.BarcodeFormat.QRCode, f"http://localhost/verify/{bronze.serial}")
    ]


def test_qr_svg_encodes_exactly_the_url(app):
    url = "http://localhost/verify/SCT-2026-7K4Q-9XWM"
    svg = make_qr_svg(url)
    assert svg.startswith("<svg") and "viewBox" in svg and "<image" not in svg
    # The same QR code as a picture, read back by a decoder.
    qr = segno.make_qr(url, error="m", boost_error=False)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=4, border=4)
    buffer.seek(0)
    with Image.open(buffer) as image:
        [code] = zxingcpp.read_barcodes(image)
    assert code.text == url
    assert svg == qr.svg_inline(omitsize=True, border=4, dark="#000", light="#fff", title=url)


def test_verification_url_uses_public_base_url(app):
    app.config["PUBLIC_BASE_URL"] = "https://forms.sustainablect.example/"
    assert (
        verification_url("SCT-2026-7K4Q-9XWM")
        == "https://forms.sustainablect.example/verify/SCT-2026-7K4Q-9XWM"
    )


# --- downloading --------------------------------------------------------------------------------


def test_download_serves_the_stored_bytes_and_never_renders_again(
    monkeypatch, as_user, staff_user, bronze
):
    def no_rendering(*args, **kwargs):
        raise AssertionError("a download must not render")

    monkeypatch.setattr(document, "render_pdf", no_rendering)
    client = as_user(staff_user)
    response = client.get(f"/certificates/{bronze.serial}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data == stored_bytes(bronze)
    digest = english(bronze).sha256
    assert response.headers["ETag"] == f'"{digest}"'
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and bronze.serial in disposition
    again = client.get(
        f"/certificates/{bronze.serial}.pdf", headers={"If-None-Match": f'"{digest}"'}
    )
    assert again.status_code == 304


def test_a_tampered_stored_file_is_not_served(as_user, staff_user, bronze):
    replace_stored("certificates", english(bronze).storage_name, b"%PDF-1.7 forged")
    assert as_user(staff_user).get(f"/certificates/{bronze.serial}.pdf").status_code == 500


def test_sha256_on_the_verify_page_is_that_of_the_stored_file(client, bronze):
    digest = hashlib.sha256(stored_bytes(bronze)).hexdigest()
    html = client.get(f"/verify/{bronze.serial}").get_data(as_text=True)
    shown = re.search(r'id="sha256-en">(.*?)</code>', html).group(1).replace("<wbr>", "")
    assert shown == digest == english(bronze).sha256
    assert "<dt>English</dt>" in html


# --- who may do what --------------------------------------------------------------------------


def test_staff_of_another_town_cannot_issue_download_or_list(
    as_user, town, cycle, catalog, staff_user, other_staff_user, bronze
):
    client = as_user(other_staff_user)
    assert client.post(f"/towns/{town.slug}/certificate").status_code in (403, 404)
    assert client.get(f"/certificates/{bronze.serial}.pdf").status_code in (403, 404)
    assert client.get(f"/towns/{town.slug}/certificate").status_code in (403, 404)
    assert len(certificates_of(town)) == 1


def test_coach_may_see_and_download_but_not_issue(as_user, town, coach_user, bronze):
    client = as_user(coach_user)
    page = client.get(f"/towns/{town.slug}/certificate")
    assert page.status_code == 200
    assert bronze.serial in page.get_data(as_text=True)
    assert "Issue the" not in page_text(page)
    assert client.get(f"/certificates/{bronze.serial}.pdf").status_code == 200
    assert client.post(f"/towns/{town.slug}/certificate").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in_for_private_routes(client, town, bronze):
    for method, url in [
        ("GET", f"/towns/{town.slug}/certificate"),
        ("POST", f"/towns/{town.slug}/certificate"),
        ("GET", f"/certificates/{bronze.serial}.pdf"),
        ("POST", f"/certificates/{bronze.serial}/revoke"),
    ]:
        response = client.open(url, method=method)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/sign-in"), url


def test_revoke_requires_an_administrator_and_a_reason(
    as_user, client, staff_user, reviewer_user, admin_user, bronze
):
    url = f"/certificates/{bronze.serial}/revoke"
    assert as_user(staff_user).post(url, data={"reason": "x"}).status_code == 403
    client.post("/sign-out")
    assert as_user(reviewer_user).post(url, data={"reason": "x"}).status_code == 403
    client.post("/sign-out")
    admin = as_user(admin_user)
    for data in ({}, {"reason": "   "}):
        response = admin.post(url, data=data)
        assert response.status_code == 422
        text = page_text(response)
        assert f"Write the reason for revoking certificate {bronze.serial}" in text
        assert 'aria-invalid="true"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Certificate, bronze.id).status == "valid"
    assert audit_actions(bronze.id) == ["certificate.issued"]


def test_revoke_service_refuses_non_admins_and_empty_reasons(
    staff_user, coach_user, reviewer_user, admin_user, bronze
):
    for user in (staff_user, coach_user, reviewer_user):
        with pytest.raises(PermissionError):
            revoke(bronze, user, "mistake")
    with pytest.raises(RevokeRefusedError) as refused:
        revoke(bronze, admin_user, " ")
    assert refused.value.code == "reason_required"


def test_a_revoked_certificate_reads_revoked_without_the_reason(
    as_user, client, town, admin_user, bronze
):
    reason = "Toolkit approved by mistake; internal note"
    response = as_user(admin_user).post(
        f"/certificates/{bronze.serial}/revoke", data={"reason": reason}
    )
    assert response.status_code == 303
    db.session.expire_all()
    revoked = db.session.get(Certificate, bronze.id)
    assert (revoked.status, revoked.revoked_by_id, revoked.revoke_reason) == (
        "revoked",
        admin_user.id,
        reason,
    )
    # The town's page, for signed-in users, gives the reason.
    assert reason in page_text(client.get(f"/towns/{town.slug}/certificate"))
    again = client.post(f"/certificates/{bronze.serial}/revoke", data={"reason": "again"})
    assert again.status_code == 409

    client.post("/sign-out")
    text = page_text(client.get(f"/verify/{bronze.serial}"))
    assert "Status: Revoked." in text
    assert "was revoked on" in text
    assert "mistake" not in text
    events = audit_actions(bronze.id)
    assert events == ["certificate.issued", "certificate.revoked"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.revoked"))
    assert (event.actor_id, event.details["reason"]) == (admin_user.id, reason)


def test_after_a_revocation_only_an_administrator_issues_again(
    as_user, client, town, cycle, catalog, staff_user, reviewer_user, admin_user, bronze
):
    revoke(bronze, admin_user, "Wrong cycle")
    # A later decision does not undo the revocation: the program issues nothing on its own.
    approve(town, cycle, catalog, staff_user, "3.12")
    assert program_issue(town, cycle, reviewer_user) is None
    assert len(certificates_of(town)) == 1
    text = page_text(as_user(staff_user).get(f"/towns/{town.slug}/certificate"))
    assert "can only be issued by the program's administrators" in text
    client.post("/sign-out")
    assert as_user(admin_user).post(f"/towns/{town.slug}/certificate").status_code == 303
    old, new = certificates_of(town)
    assert (old.status, new.status, new.tier) == ("revoked", "valid", "bronze")


# --- the public verification page ---------------------------------------------------------------


def test_verify_works_without_signing_in(client, town, cycle, bronze):
    response = client.get(f"/verify/{bronze.serial}")
    assert response.status_code == 200
    assert response.headers["X-Robots-Tag"] == "noindex"
    text = page_text(response)
    assert "Status: Valid." in text
    for fact in (
        town.name,
        "Bronze",
        cycle.name,
        bronze.serial,
        f"December 31, {bronze.expires_on.year}",
    ):
        assert fact in text
    assert "Dana Staff" not in text  # who issued it stays on the signed-in pages


def test_verify_form_finds_a_typed_serial(client, bronze):
    form = client.get("/verify")
    assert form.status_code == 200
    assert 'name="serial"' in form.get_data(as_text=True)
    typed = " " + bronze.serial.lower().replace("-", " \u2013 ", 1) + " "
    response = client.get("/verify", query_string={"serial": typed})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/verify/{bronze.serial}"
    lowercase = client.get(f"/verify/{bronze.serial.lower()}")
    assert lowercase.status_code == 301
    assert lowercase.headers["Location"] == f"/verify/{bronze.serial}"
    empty = client.get("/verify", query_string={"serial": ""})
    assert empty.status_code == 422
    assert "Type the certificate number" in page_text(empty)


@pytest.mark.parametrize(
    "url",
    ["/verify/SCT-2026-2222-2222", "/verify/not-a-serial", "/verify?serial=hello"],
)
def test_unknown_serial_gives_a_404_page_in_the_normal_layout(client, url):
    response = client.get(url)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "No certificate has this number" in page_text(response)
    assert 'class="site-footer"' in html
    assert 'name="serial"' in html


def test_expired_certificate_reads_expired(client, bronze):
    bronze.expires_on = date(2020, 12, 31)
    db.session.commit()
    text = page_text(client.get(f"/verify/{bronze.serial}"))
    assert "Status: Expired." in text
    assert "expired on December 31, 2020" in text


# --- the town's certificates page ---------------------------------------------------------------


def test_town_page_tells_staff_when_their_certificate_comes_and_offers_no_button(
    as_user, town, cycle, catalog, staff_user, reviewer_user
):
    client = as_user(staff_user)
    empty = page_text(client.get(f"/towns/{town.slug}/certificate"))
    assert "Your certificate is issued when a reviewer's decision makes a tier pass." in empty
    assert "Bronze needs 1 action with an approved Equity Toolkit: you have 0 approved" in empty
    assert "Issue the" not in empty

    approve(town, cycle, catalog, staff_user, "3.4")
    program_issue(town, cycle, reviewer_user)
    [certificate] = certificates_of(town)
    response = client.get(f"/towns/{town.slug}/certificate")
    html, text = response.get_data(as_text=True), page_text(response)
    assert "Issue the" not in text and 'action="/towns/' not in html
    assert certificate.serial in text and "Valid" in text
    assert f'href="/certificates/{certificate.serial}.pdf"' in html
    assert f'href="/certificates/{certificate.serial}.pdf?lang=es"' in html
    assert f'href="/verify/{certificate.serial}"' in html
    assert "Revoke" not in text  # administrators only
    assert "Release and missing certificates" not in text


def test_admin_sees_revoke_forms(
    app, as_user, town, cycle, catalog, staff_user, reviewer_user, admin_user, bronze
):
    approve(town, cycle, catalog, staff_user, "3.12", "5.4")
    silver = program_issue(town, cycle, reviewer_user)
    client = as_user(admin_user)
    app.config["WTF_CSRF_ENABLED"] = True  # so that the forms carry their token inputs
    html = client.get(f"/towns/{town.slug}/certificate").get_data(as_text=True)
    for certificate in (bronze, silver):
        assert f'action="/certificates/{certificate.serial}/revoke"' in html
        assert f'<label class="label" for="reason-{certificate.serial}">' in html
    assert html.count('name="csrf_token"') >= 2
    # One revoke form per certificate, and still no id twice on the page (each form's token
    # input has none).
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_the_issue_button_names_its_cycle_and_a_cycle_that_cannot_be_one_is_a_422(
    as_user, town, cycle, catalog, staff_user, admin_user
):
    # The program's certificate could not be made at the decision (approved directly here):
    # an administrator issues it by hand.
    approve(town, cycle, catalog, staff_user, "3.4")
    client = as_user(admin_user)
    html = client.get(f"/towns/{town.slug}/certificate").get_data(as_text=True)
    assert f'<input id="cycle" name="cycle" type="hidden" value="{cycle.id}">' in html
    for value in ("1e9", "-1", "three", "99999999999"):
        response = client.post(f"/towns/{town.slug}/certificate", data={"cycle": value})
        assert response.status_code == 422, value
        text = page_text(response)
        assert "This page is out of date. Reload it and try again." in text
        assert "Issue the Bronze certificate" in text  # the page again, ready for another try
    assert certificates_of(town) == []
    issued = client.post(f"/towns/{town.slug}/certificate", data={"cycle": str(cycle.id)})
    assert issued.status_code == 303
    assert [c.cycle_id for c in certificates_of(town)] == [cycle.id]


def test_a_refused_revocation_keeps_the_other_boxes_empty_and_links_its_own(
    as_user, town, cycle, catalog, staff_user, reviewer_user, admin_user, bronze
):
    approve(town, cycle, catalog, staff_user, "3.12", "5.4")
    silver = program_issue(town, cycle, reviewer_user)  # bronze is superseded, still revocable
    response = as_user(admin_user).post(
        f"/certificates/{silver.serial}/revoke", data={"reason": " \r\n "}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'<a href="#reason-{silver.serial}">' in html
    assert f'id="reason-{silver.serial}-error"' in html
    assert f'id="reason-{bronze.serial}-error"' not in html
    assert html.count('aria-invalid="true"') == 1


# --- rules: the year of issue (expiry and serials: tests/domain/test_certificates.py) ----------


def test_year_of_issue_is_taken_in_connecticut_time(app):
    # 03:00 UTC on Jan 1 is still Dec 31 in Connecticut.
    assert local_date(datetime(2027, 1, 1, 3, 0, tzinfo=UTC)) == date(2026, 12, 31)


def test_a_second_town_gets_its_own_certificate(
    town, other_town, cycle, catalog, staff_user, reviewer_user, password_hash
):
    other_staff = make_user("staff", "lee@mansfield.test", password_hash, other_town)
    approve(town, cycle, catalog, staff_user, "3.4")
    approve(other_town, cycle, catalog, other_staff, "3.4")
    mine = program_issue(town, cycle, reviewer_user)
    theirs = program_issue(other_town, cycle, reviewer_user)
    assert mine.id != theirs.id and mine.serial != theirs.serial
    assert (mine.status, theirs.status) == ("valid", "valid")


def test_certificate_drawn_to_png_for_a_person_to_look_at(issued_bronze):
    """Writes test-artifacts/certificates/bronze.png (git-ignored) to look at the layout."""
    folder = Path(__file__).resolve().parents[2] / "test-artifacts" / "certificates"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    pdf = folder / "bronze.pdf"
    pdf.write_bytes(issued_bronze.pdf)
    pdftoppm = shutil.which("pdftoppm") or "/usr/bin/pdftoppm"
    subprocess.run(
        [pdftoppm, "-png", "-r", "60", "-singlefile", str(pdf), str(folder / "bronze")],
        check=True,
    )
    assert (folder / "bronze.png").stat().st_size > 5000
