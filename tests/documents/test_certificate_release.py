"""Certificates issued by the program: on a reviewer's approval, held for a cycle's release date
and released by an administrator, downloaded and verified in each language."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from sct_forms.certificates import document
from sct_forms.certificates import services as service
from sct_forms.certificates.services import (
    ReleaseRefusedError,
    document_in,
    issue_certificate,
    local_date,
    release_certificates,
    revoke,
)
from sct_forms.documents.render import render_html
from sct_forms.extensions import db
from sct_forms.models import AuditEvent, Cycle, OutboxMessage, utcnow
from sct_forms.models.certificates import Certificate, CertificateDocument
from sct_forms.review import services as review
from tests.conftest import make_user
from tests.storage_helpers import every_file, read_stored, stored_names
from tests.toolkit_helpers import fill_completely, make_toolkit


def stand_in_pdf(template, *, municipality_id, pdf_variant="pdf/ua-1", **context) -> bytes:
    """What render_pdf returns, without WeasyPrint: the certificate's HTML (rendered, so the
    template and its language still count) behind a PDF header."""
    html = render_html(template, **context)
    return f"%PDF-1.7\n% stand-in {hashlib.sha256(html.encode()).hexdigest()}\n".encode()


@pytest.fixture(autouse=True)
def _certificates_without_weasyprint(monkeypatch) -> None:
    monkeypatch.setattr(document, "render_pdf", stand_in_pdf)


def approve_through_review(town, cycle, action, staff, reviewer):
    """A toolkit submitted by the town and approved by ``reviewer`` (the real workflow)."""
    toolkit = make_toolkit(town, cycle, action, staff)
    fill_completely(toolkit, staff)
    review.submit(toolkit, staff, "draft")
    review.start_review(toolkit, reviewer, "submitted")
    review.decide(toolkit, "approve", reviewer, "in_review")
    return toolkit


def certificates_of(town) -> list[Certificate]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.municipality_id == town.id)
            .order_by(Certificate.id)
        )
    )


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def certificate_emails() -> list[OutboxMessage]:
    return list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "certificate.issued"))
    )


def text_of(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def hold(cycle: Cycle, release_on: date) -> None:
    cycle.release_on = release_on
    db.session.commit()


def today() -> date:
    return local_date(utcnow())


# --- issued at once on a reviewer's approval ------------------------------------------------


def test_an_approval_that_makes_bronze_pass_issues_the_certificate_at_once(
    town, cycle, catalog, staff_user, reviewer_user
):
    approve_through_review(town, cycle, catalog["3.4"], staff_user, reviewer_user)
    [certificate] = certificates_of(town)
    assert (certificate.tier, certificate.status) == ("bronze", "valid")
    assert certificate.issued_by_id is None  # the program issued it
    assert [d.language for d in certificate.documents] == ["en"]
    [issued] = events("certificate.issued")
    assert issued.actor_id == reviewer_user.id
    assert issued.details["decided_by"] == reviewer_user.id
    assert issued.details["approved_by"] == [reviewer_user.id]
    assert issued.details["issued_for"] == "decision"
    [email] = certificate_emails()
    assert email.to_address == staff_user.email
    assert "Windham reached Bronze: your certificate is ready" in email.subject
    assert certificate.serial in email.body_text
    assert f"/towns/{town.slug}/certificate?cycle={cycle.id}" in email.body_text


def test_the_audit_names_every_reviewer_whose_approval_stands(
    town, cycle, catalog, staff_user, reviewer_user, second_reviewer_user
):
    approve_through_review(town, cycle, catalog["3.4"], staff_user, reviewer_user)
    approve_through_review(town, cycle, catalog["3.12"], staff_user, second_reviewer_user)
    approve_through_review(town, cycle, catalog["5.4"], staff_user, second_reviewer_user)
    bronze, silver = certificates_of(town)
    assert (bronze.status, silver.tier) == ("superseded", "silver")
    issued = events("certificate.issued")[-1]
    assert issued.details["decided_by"] == second_reviewer_user.id
    assert issued.details["approved_by"] == sorted([reviewer_user.id, second_reviewer_user.id])


def test_a_certificate_that_cannot_be_made_never_undoes_the_decision(
    monkeypatch, town, cycle, catalog, staff_user, reviewer_user
):
    def broken(*args, **kwargs):
        raise RuntimeError("no fonts today")

    monkeypatch.setattr(service, "render_certificate", broken)
    toolkit = approve_through_review(town, cycle, catalog["3.4"], staff_user, reviewer_user)
    db.session.expire_all()
    assert toolkit.state == "approved"
    assert [e.action for e in events("toolkit.approved")] == ["toolkit.approved"]
    assert certificates_of(town) == []
    assert certificate_emails() == []


def test_staff_coaches_and_reviewers_cannot_issue_or_revoke_through_the_pages(
    as_user, client, town, cycle, catalog, staff_user, coach_user, reviewer_user
):
    approve_through_review(town, cycle, catalog["3.4"], staff_user, reviewer_user)
    [certificate] = certificates_of(town)
    for user in (staff_user, coach_user, reviewer_user):
        signed_in = as_user(user)
        assert signed_in.post(f"/towns/{town.slug}/certificate").status_code == 403
        revoked = signed_in.post(f"/certificates/{certificate.serial}/revoke", data={"reason": "x"})
        assert revoked.status_code == 403
        client.post("/sign-out")
    assert [c.status for c in certificates_of(town)] == ["valid"]


# --- held until the release ---------------------------------------------------------------------


def test_a_cycle_with_a_release_date_holds_certificates_until_the_release(
    as_user,
    client,
    town,
    other_town,
    cycle,
    catalog,
    staff_user,
    reviewer_user,
    admin_user,
    password_hash,
):
    release_on = today() + timedelta(days=10)
    hold(cycle, release_on)
    other_staff = make_user("staff", "lee@mansfield.test", password_hash, other_town)
    approve_through_review(town, cycle, catalog["3.4"], staff_user, reviewer_user)
    approve_through_review(other_town, cycle, catalog["3.4"], other_staff, reviewer_user)
    assert certificates_of(town) == [] and certificates_of(other_town) == []
    assert certificate_emails() == []

    page = text_of(as_user(staff_user).get(f"/towns/{town.slug}/certificate"))
    assert "Decisions of this cycle are announced together on" in page
    assert "your certificate will be issued then" in page
    client.post("/sign-out")

    admin = as_user(admin_user)
    listed = admin.get(f"/admin/cycles/{cycle.id}/certificates")
    assert listed.status_code == 200
    text = text_of(listed)
    assert "Windham" in text and "Mansfield" in text
    assert "You can release these certificates on" in text
    assert "Release certificates" not in text  # no button before the date
    refused = admin.post(f"/admin/cycles/{cycle.id}/certificates")
    assert refused.status_code == 409
    assert "not before" in text_of(refused)
    with pytest.raises(ReleaseRefusedError):
        release_certificates(cycle, admin_user, today())
    assert certificates_of(town) == []

    hold(cycle, today())
    assert "Release certificates" in text_of(admin.get(f"/admin/cycles/{cycle.id}/certificates"))
    released = admin.post(f"/admin/cycles/{cycle.id}/certificates")
    assert released.status_code == 303
    db.session.expire_all()
    assert cycle.certificates_released_by_id == admin_user.id
    assert cycle.certificates_released_at is not None and not cycle.holds_certificates
    [mine], [theirs] = certificates_of(town), certificates_of(other_town)
    assert (mine.tier, theirs.tier) == ("bronze", "bronze")
    assert mine.issued_by_id is None and theirs.issued_by_id is None
    assert sorted(e.to_address for e in certificate_emails()) == sorted(
        [staff_user.email, other_staff.email]
    )
    [event] = events("certificates.released")
    assert (event.actor_id, event.details["issued"], event.details["released"]) == (
        admin_user.id,
        2,
        True,
    )
    assert [e.details["approved_by"] for e in events("certificate.issued")] == [
        [reviewer_user.id],
        [reviewer_user.id],
    ]

    # A second submission issues nothing twice.
    assert admin.post(f"/admin/cycles/{cycle.id}/certificates").status_code == 303
    assert len(certificates_of(town)) == 1 and len(certificates_of(other_town)) == 1
    assert len(certificate_emails()) == 2
    again = events("certificates.released")[-1]
    assert (again.details["issued"], again.details["released"]) == (0, False)


def test_after_the_release_decisions_issue_at_once(
    town, cycle, catalog, staff_user, reviewer_user, admin_user
):
    hold(cycle, today())
    release_certificates(cycle, admin_user)
    approve_through_review(town, cycle, catalog["3.4"], staff_user, reviewer_user)
    assert [c.tier for c in certificates_of(town)] == ["bronze"]


def test_an_administrator_cannot_issue_by_hand_while_the_cycle_holds(
    as_user, town, cycle, catalog, staff_user, reviewer_user, admin_user
):
    hold(cycle, today() + timedelta(days=1))
    approve_through_review(town, cycle, catalog["3.4"], staff_user, reviewer_user)
    with pytest.raises(service.CertificateRefusedError) as refused:
        issue_certificate(town, cycle, admin_user)
    assert refused.value.code == "held"
    response = as_user(admin_user).post(f"/towns/{town.slug}/certificate")
    assert response.status_code == 409
    assert "Certificates of this cycle wait for the release" in text_of(response)
    assert certificates_of(town) == []


def test_the_release_skips_a_town_whose_certificate_was_revoked(
    town, cycle, catalog, staff_user, reviewer_user, admin_user
):
    approve_through_review(town, cycle, catalog["3.4"], staff_user, reviewer_user)
    [bronze] = certificates_of(town)
    revoke(bronze, admin_user, "Approved by mistake")
    result = release_certificates(cycle, admin_user)
    assert (result.issued, result.skipped_revoked) == ([], ["Windham"])
    assert len(certificates_of(town)) == 1
    # The administrator's hand issue is the way back.
    assert issue_certificate(town, cycle, admin_user).status == "valid"


@pytest.mark.parametrize("role", ["staff", "coach", "reviewer"])
def test_only_administrators_release(
    role, as_user, town, cycle, catalog, staff_user, coach_user, reviewer_user
):
    user = {"staff": staff_user, "coach": coach_user, "reviewer": reviewer_user}[role]
    hold(cycle, today())
    approve_through_review(town, cycle, catalog["3.4"], staff_user, reviewer_user)
    with pytest.raises(PermissionError):
        release_certificates(cycle, user)
    client = as_user(user)
    assert client.get(f"/admin/cycles/{cycle.id}/certificates").status_code == 403
    assert client.post(f"/admin/cycles/{cycle.id}/certificates").status_code == 403
    db.session.expire_all()
    assert cycle.certificates_released_at is None
    assert certificates_of(town) == []


# --- documents in each language ---------------------------------------------------------------


@pytest.fixture
def bronze(town, cycle, catalog, staff_user, reviewer_user) -> Certificate:
    approve_through_review(town, cycle, catalog["3.4"], staff_user, reviewer_user)
    [certificate] = certificates_of(town)
    return certificate


def documents_of(certificate) -> dict[str, CertificateDocument]:
    db.session.expire_all()
    rows = db.session.scalars(
        select(CertificateDocument).where(CertificateDocument.certificate_id == certificate.id)
    )
    return {row.language: row for row in rows}


def test_a_spanish_download_is_rendered_once_stored_and_verifiable(
    monkeypatch, as_user, client, staff_user, bronze
):
    signed_in = as_user(staff_user)
    response = signed_in.get(f"/certificates/{bronze.serial}.pdf?lang=es")
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "es"
    assert f"{bronze.serial}-es.pdf" in response.headers["Content-Disposition"]
    stored = documents_of(bronze)
    assert sorted(stored) == ["en", "es"]
    spanish = stored["es"]
    assert hashlib.sha256(response.data).hexdigest() == spanish.sha256 != stored["en"].sha256
    assert read_stored("certificates", spanish.storage_name) == response.data

    def no_rendering(*args, **kwargs):
        raise AssertionError("a stored language is never rendered again")

    monkeypatch.setattr(document, "render_pdf", no_rendering)
    assert signed_in.get(f"/certificates/{bronze.serial}.pdf?lang=es").data == response.data
    assert signed_in.get(f"/certificates/{bronze.serial}.pdf?lang=fr").status_code == 404
    client.post("/sign-out")

    page = client.get(f"/verify/{bronze.serial}").get_data(as_text=True)
    shown = re.search(r'id="sha256-es">(.*?)</code>', page).group(1).replace("<wbr>", "")
    assert shown == spanish.sha256
    assert "<dt>Español</dt>" in page and "<dt>English</dt>" in page

    typed = " ".join(spanish.sha256.upper()[i : i + 8] for i in range(0, 64, 8))
    found = client.get("/verify", query_string={"sha256": typed})
    assert found.status_code == 303
    assert found.headers["Location"] == f"/verify/{bronze.serial}?sha256={spanish.sha256}"
    answer = text_of(client.get(found.headers["Location"]))
    assert "is that of this certificate's PDF in Español" in answer

    unknown = client.get("/verify", query_string={"sha256": "0" * 64})
    assert unknown.status_code == 404
    assert "No certificate file has this fingerprint" in text_of(unknown)
    assert client.get("/verify", query_string={"sha256": "not a hash"}).status_code == 422
    forged = text_of(client.get(f"/verify/{bronze.serial}?sha256={'0' * 64}"))
    assert "is not that of any PDF of this certificate" in forged


def test_the_download_defaults_to_the_page_language(as_user, staff_user, bronze):
    staff_user.preferred_language = "es"
    db.session.commit()
    response = as_user(staff_user).get(f"/certificates/{bronze.serial}.pdf")
    assert response.headers["Content-Language"] == "es"
    assert sorted(documents_of(bronze)) == ["en", "es"]


def test_two_requests_for_a_new_language_at_once_keep_one_document(monkeypatch, staff_user, bronze):
    """The second request looked before the first committed: both render, one row stays, and
    the loser's file is discarded."""
    real_lookup = service.document_of
    calls = []

    def first_sees_nothing(certificate, language):
        calls.append(language)
        if len(calls) == 1:
            # Meanwhile, another request stores the Spanish document.
            monkeypatch.setattr(service, "document_of", real_lookup)
            document_in(certificate, language, staff_user)
            monkeypatch.setattr(service, "document_of", first_sees_nothing)
            return None
        return real_lookup(certificate, language)

    files_before = set(stored_names("certificates"))
    monkeypatch.setattr(service, "document_of", first_sees_nothing)
    loser = document_in(bronze, "es", staff_user)
    rows = documents_of(bronze)
    assert sorted(rows) == ["en", "es"]
    assert loser.id == rows["es"].id
    added = set(every_file("certificates")) - files_before
    assert added == {rows["es"].storage_name}  # no orphan file
    stored = [e for e in events("certificate.document_stored") if e.details["language"] == "es"]
    assert len(stored) == 1


def test_downloading_twice_stores_one_document(as_user, staff_user, bronze):
    client = as_user(staff_user)
    first = client.get(f"/certificates/{bronze.serial}.pdf?lang=es")
    second = client.get(f"/certificates/{bronze.serial}.pdf?lang=es")
    assert first.data == second.data
    count = db.session.query(CertificateDocument).filter_by(certificate_id=bronze.id).count()
    assert count == 2  # English and Spanish
