"""A cycle's data for program staff: CSV that Excel opens as typed, and an XLSX workbook.

Reviewers and administrators download; town staff and coaches are refused, by the pages and by
the service.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from sct_forms.domain.forms import Form
from sct_forms.exports import services as exports
from sct_forms.exports.cells import csv_value, neutralise
from sct_forms.exports.tables import CERTIFICATES, RECORDS, TOOLKITS
from sct_forms.extensions import db
from sct_forms.models import AuditEvent, Certificate, CertificateDocument
from sct_forms.review import services as review
from tests.toolkit_helpers import fill_completely, make_record, make_toolkit

FORMULA_REASON = '=HYPERLINK("http://evil.test","Click")'
FORMULA_NAME = "@SUM(1+1)"


@pytest.fixture
def decided(town, cycle, catalog, staff_user, reviewer_user):
    """A toolkit the reviewer did not approve, with a reason and a reviewer's name that look
    like formulas; a draft record of action 1.2; a certificate with its English PDF."""
    reviewer_user.name = FORMULA_NAME
    toolkit = make_toolkit(town, cycle, catalog["3.4"], staff_user)
    fill_completely(toolkit, staff_user)
    review.submit(toolkit, staff_user, "draft")
    review.start_review(toolkit, reviewer_user, "submitted")
    review.decide(toolkit, "not_approve", reviewer_user, "in_review", reason=FORMULA_REASON)
    record = make_record(town, cycle, catalog["1.2"], Form.TRAINING, staff_user)
    certificate = Certificate(
        serial="SCT-2026-TEST-0001",
        municipality_id=town.id,
        cycle_id=cycle.id,
        tier="bronze",
        issued_at=datetime(2026, 9, 1, 14, 30, tzinfo=UTC),
        expires_on=date(2028, 12, 31),
    )
    db.session.add(certificate)
    db.session.flush()
    db.session.add(
        CertificateDocument(
            certificate_id=certificate.id, language="en", sha256="a" * 64, storage_name="c1.pdf"
        )
    )
    db.session.commit()
    return toolkit, record, certificate


def _header(app, table) -> list[str]:  # noqa: ANN001
    """The table's header as a download in English writes it."""
    with app.test_request_context():
        return table.header()


def _csv(response) -> list[list[str]]:  # noqa: ANN001
    data = response.get_data()
    assert data.startswith("\ufeff".encode()), "Excel needs the byte order mark to read UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


# --- the neutralising rule ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_text_a_spreadsheet_would_run_as_a_formula_gets_an_apostrophe(text):
    assert neutralise(text) == "'" + text
    assert csv_value(text) == "'" + text


def test_other_values_are_written_as_they_are():
    assert csv_value("Windham") == "Windham"
    assert csv_value("a=b") == "a=b"
    assert csv_value(-3) == "-3"  # a number stays a number
    assert csv_value(None) == ""
    assert csv_value(date(2026, 7, 1)) == "2026-07-01"
    assert csv_value(datetime(2026, 7, 1, 9, 5, tzinfo=UTC)) == "2026-07-01T09:05:00Z"


# --- CSV ---------------------------------------------------------------------------------------


def test_the_toolkits_csv_has_its_columns_and_keeps_formula_like_text_as_text(
    app, as_user, reviewer_user, cycle, decided
):
    toolkit, _record, _certificate = decided
    response = as_user(reviewer_user).get(f"/exports/cycles/{cycle.id}/toolkits.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "sct-2026-fall-toolkits.csv" in response.headers["Content-Disposition"]
    header, *rows = _csv(response)
    assert header == _header(app, TOOLKITS)
    assert header[:5] == ["Town", "Cycle", "Form", "Paired action number", "Paired action title"]
    assert len(rows) == 1  # the record of 1.2 is in its own table
    row = dict(zip(header, rows[0], strict=True))
    assert row["Town"] == "Windham"
    assert row["Cycle"] == "2026 Fall"
    assert row["Form"] == "Equity Toolkit (1.1)"
    assert row["Paired action number"] == "3.4"
    assert row["Paired action title"] == "Develop an Open Space Plan"
    assert row["State"] == "Not approved"
    assert row["Revisions submitted"] == "1"
    assert row["Last decision"] == "Not approved"
    # The reviewer's name and the reason come back as the text typed, not as formulas.
    assert row["Reviewer"] == "'" + FORMULA_NAME
    assert row["Reason given"] == "'" + FORMULA_REASON
    assert row["Percent complete"] == "100"
    db.session.refresh(toolkit)
    assert row["Last submitted (UTC)"] == toolkit.submitted_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert row["Decided (UTC)"].startswith(date.today().isoformat()[:4])


def test_the_records_csv_lists_the_records_of_1_2_and_1_3(app, as_user, admin_user, cycle, decided):
    header, *rows = _csv(as_user(admin_user).get(f"/exports/cycles/{cycle.id}/records.csv"))
    assert header == _header(app, RECORDS)
    assert header[3:5] == ["Action number", "Action title"]
    assert [(r[2], r[3], r[5], r[-1]) for r in rows] == [
        ("Equity training (1.2)", "1.2", "Draft", "0")
    ]


def test_the_certificates_csv_has_serial_level_status_dates_and_check_page(
    app, as_user, reviewer_user, cycle, decided
):
    header, *rows = _csv(as_user(reviewer_user).get(f"/exports/cycles/{cycle.id}/certificates.csv"))
    assert header == _header(app, CERTIFICATES)
    [row] = [dict(zip(header, r, strict=True)) for r in rows]
    assert row["Serial number"] == "SCT-2026-TEST-0001"
    assert row["Level"] == "Bronze"
    assert row["Status"] == "Valid"
    assert row["Issued (UTC)"] == "2026-09-01T14:30:00Z"
    assert row["Expires"] == "2028-12-31"
    assert row["Check page"] == "http://localhost/verify/SCT-2026-TEST-0001"
    assert row["PDF fingerprints (SHA-256) by language"] == "en: " + "a" * 64


def test_a_town_name_starting_with_equals_is_neutralised(as_user, admin_user, cycle, decided):
    toolkit, _record, _certificate = decided
    toolkit.municipality.name = "=cmd|' /C calc'!A0"
    db.session.commit()
    header, *rows = _csv(as_user(admin_user).get(f"/exports/cycles/{cycle.id}/toolkits.csv"))
    assert rows[0][0] == "'=cmd|' /C calc'!A0"


def test_a_download_is_audited(as_user, reviewer_user, cycle, decided):
    as_user(reviewer_user).get(f"/exports/cycles/{cycle.id}/certificates.csv").close()
    [event] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export.downloaded")
    ).all()
    assert event.actor_id == reviewer_user.id
    assert (event.object_type, event.object_id) == ("cycle", str(cycle.id))
    assert event.details == {"table": "certificates", "format": "csv"}


# --- XLSX --------------------------------------------------------------------------------------


def test_the_workbook_opens_with_a_sheet_per_table_and_text_stays_text(
    app, as_user, admin_user, cycle, decided
):
    response = as_user(admin_user).get(f"/exports/cycles/{cycle.id}/data.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "sct-2026-fall-data.xlsx" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.get_data()))
    response.close()  # as the server does: the workbook's temporary file goes
    assert workbook.sheetnames == ["Equity Toolkits", "Actions 1.2 and 1.3", "Certificates"]
    toolkits = workbook["Equity Toolkits"]
    rows = list(toolkits.iter_rows())
    assert [c.value for c in rows[0]] == _header(app, TOOLKITS)
    assert rows[0][0].font.bold
    cells = dict(zip(_header(app, TOOLKITS), rows[1], strict=True))
    reason = cells["Reason given"]
    assert reason.value == FORMULA_REASON  # the text as typed...
    assert reason.data_type == "s"  # ...stored as text, never as a formula
    assert reason.quotePrefix
    assert cells["Reviewer"].data_type == "s"
    assert cells["Percent complete"].value == 100
    assert isinstance(cells["Last submitted (UTC)"].value, datetime)
    assert cells["Last submitted (UTC)"].number_format == "yyyy-mm-dd hh:mm:ss"
    certificate = dict(
        zip(
            _header(app, CERTIFICATES),
            next(workbook["Certificates"].iter_rows(min_row=2)),
            strict=True,
        )
    )
    assert certificate["Expires"].value == datetime(2028, 12, 31)
    assert certificate["Expires"].number_format == "yyyy-mm-dd"
    records = list(workbook["Actions 1.2 and 1.3"].values)
    assert records[0] == tuple(_header(app, RECORDS))
    assert len(records) == 2


# --- who may download --------------------------------------------------------------------------

DOWNLOADS = ("toolkits.csv", "records.csv", "certificates.csv", "data.xlsx")


@pytest.mark.parametrize("role", ["staff_user", "coach_user"])
def test_staff_and_coaches_are_refused_every_download(request, as_user, cycle, decided, role):
    client = as_user(request.getfixturevalue(role))
    assert client.get("/exports/").status_code == 403
    for name in DOWNLOADS:
        assert client.get(f"/exports/cycles/{cycle.id}/{name}").status_code == 403, name
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export.downloaded")
    ).all()


@pytest.mark.parametrize("role", ["staff_user", "coach_user"])
def test_the_service_refuses_staff_and_coaches(request, cycle, role):
    user = request.getfixturevalue(role)
    with pytest.raises(exports.ExportRefusedError):
        exports.csv_download(user, cycle, "toolkits")
    with pytest.raises(exports.ExportRefusedError):
        exports.xlsx_download(user, cycle)


def test_signed_out_visitors_are_sent_to_sign_in(client, cycle):
    response = client.get(f"/exports/cycles/{cycle.id}/toolkits.csv")
    assert response.status_code == 302 and "/sign-in" in response.location


@pytest.mark.parametrize("role", ["reviewer_user", "admin_user"])
def test_the_page_offers_each_file_of_the_chosen_cycle(request, as_user, cycle, role):
    html = (
        as_user(request.getfixturevalue(role))
        .get(f"/exports/?cycle={cycle.id}")
        .get_data(as_text=True)
    )
    for name in DOWNLOADS:
        assert f'href="/exports/cycles/{cycle.id}/{name}"' in html


def test_an_unknown_cycle_is_404(as_user, reviewer_user, cycle):
    assert as_user(reviewer_user).get("/exports/cycles/999/toolkits.csv").status_code == 404


def test_the_review_queue_and_the_administration_page_link_to_the_downloads(
    as_user, admin_user, cycle
):
    client = as_user(admin_user)
    assert f'href="/exports/?cycle={cycle.id}"' in client.get("/review/queue").get_data(
        as_text=True
    )
    assert 'href="/exports/"' in client.get("/admin/").get_data(as_text=True)
