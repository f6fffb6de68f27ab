"""Uploading, downloading and deleting evidence through the web."""

from __future__ import annotations

import gc
import hashlib
import io

import pytest
from PIL import Image

from sct_forms.extensions import db
from sct_forms.models import AuditEvent, Evidence, Revision
from sct_forms.review.snapshots import snapshot_of
from tests.evidence import pdf_samples, samples
from tests.storage_helpers import delete_stored, every_file, read_stored, stored_names
from tests.toolkit_helpers import make_toolkit


@pytest.fixture
def toolkit(staff_user, cycle, catalog):
    return make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)


def upload(client, toolkit, data: bytes, filename: str, **fields):
    form = {"title": "Flyer", "alt_text": "", "file": (io.BytesIO(data), filename)} | fields
    return client.post(
        f"/toolkits/{toolkit.id}/steps/outreach/evidence",
        data=form,
        content_type="multipart/form-data",
    )


def stored_files(app) -> list:
    return every_file("evidence")


def test_a_pdf_is_stored_under_a_random_name_and_listed(app, as_user, staff_user, toolkit):
    client = as_user(staff_user)
    response = upload(client, toolkit, samples.pdf_bytes(), "Flyer (Spanish).pdf")
    assert response.status_code == 303
    evidence = db.session.query(Evidence).one()
    assert evidence.kind == "document" and evidence.display_name == "Flyer (Spanish).pdf"
    assert len(evidence.sha256) == 64 and "Flyer" not in evidence.storage_name
    assert stored_names("evidence") == [evidence.storage_name]
    stored = read_stored("evidence", evidence.storage_name)
    assert hashlib.sha256(stored).hexdigest() == evidence.sha256
    html = client.get(f"/toolkits/{toolkit.id}/steps/outreach").get_data(as_text=True)
    assert "Flyer (Spanish).pdf" in html
    assert db.session.query(AuditEvent).filter_by(action="evidence.added").count() == 1


@pytest.mark.parametrize(
    ("make", "filename", "message"),
    [
        (samples.png_bytes, "poster.pdf", "name says .pdf but it is really a"),
        (samples.html_bytes, "photo.jpg", "but it is a web page"),
        (samples.svg_with_script_bytes, "drawing.svg", "cannot be uploaded"),
        (samples.svg_with_script_bytes, "notes.txt", "Web pages, SVG and XML files"),
        (samples.docm_bytes, "minutes.docx", "Files with macros cannot be uploaded"),
        (samples.bomb_png, "huge.png", "The image has too many pixels"),
        (lambda: samples.pdf_bytes(), "../../etc/passwd", "contains folder names"),
        (samples.random_bytes, "data.bin", "This kind of file cannot be uploaded"),
    ],
)
def test_bad_uploads_are_refused_with_a_clear_message_and_nothing_stored(
    app, as_user, staff_user, toolkit, make, filename, message
):
    response = upload(as_user(staff_user), toolkit, make(), filename, title="Kept title")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert 'value="Kept title"' in html
    assert db.session.query(Evidence).count() == 0
    assert stored_files(app) == []


def test_a_25_mb_file_gets_the_friendly_too_large_page(app, as_user, staff_user, toolkit):
    response = upload(as_user(staff_user), toolkit, b"%PDF-" + b"0" * (25 * 1024 * 1024), "a.pdf")
    assert response.status_code == 413
    assert "Files can be up to 20 MB" in response.get_data(as_text=True)
    assert db.session.query(Evidence).count() == 0 and stored_files(app) == []
    # The test client spools the body to a file that the refused request never read.
    response.request.environ["wsgi.input"].close()
    gc.collect()


def test_a_file_over_the_configured_limit_is_refused_in_the_form(app, as_user, staff_user, toolkit):
    app.config["UPLOAD_MAX_BYTES"] = 100
    response = upload(as_user(staff_user), toolkit, samples.pdf_bytes(), "a.pdf")
    assert response.status_code == 422
    assert "larger than" in response.get_data(as_text=True)


def test_photo_location_is_removed_before_storing(app, as_user, staff_user, toolkit):
    data = samples.jpeg_with_metadata()
    assert b"GPS" in data or Image.open(io.BytesIO(data)).getexif()
    response = upload(
        as_user(staff_user),
        toolkit,
        data,
        "IMG_0001.jpg",
        alt_text="Residents at the March workshop",
        people_consented="y",
    )
    assert response.status_code == 303
    evidence = db.session.query(Evidence).one()
    stored = read_stored("evidence", evidence.storage_name)
    assert not Image.open(io.BytesIO(stored)).getexif()
    assert b"GPS" not in stored
    assert evidence.print_storage_name and evidence.alt_text.startswith("Residents")


def test_images_need_a_description_and_consent(as_user, staff_user, toolkit):
    client = as_user(staff_user)
    no_alt = upload(client, toolkit, samples.jpeg_bytes(), "a.jpg", people_consented="y")
    assert "Describe what the image shows" in no_alt.get_data(as_text=True)
    no_consent = upload(client, toolkit, samples.jpeg_bytes(), "a.jpg", alt_text="Flyer photo")
    assert "agreed to its use" in no_consent.get_data(as_text=True)
    assert db.session.query(Evidence).count() == 0


def test_heic_photos_become_jpeg(as_user, staff_user, toolkit):
    response = upload(
        as_user(staff_user),
        toolkit,
        samples.heic_bytes(),
        "IMG_2001.HEIC",
        alt_text="A sign",
        people_consented="y",
    )
    assert response.status_code == 303
    evidence = db.session.query(Evidence).one()
    assert evidence.mime_type == "image/jpeg" and evidence.display_name.endswith(".jpg")


def test_download_is_an_attachment_with_nosniff(as_user, staff_user, toolkit):
    client = as_user(staff_user)
    upload(client, toolkit, samples.pdf_bytes(), "flyer.pdf")
    evidence = db.session.query(Evidence).one()
    response = client.get(f"/evidence/{evidence.id}/download")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data.startswith(b"%PDF-")
    response.close()


def test_another_towns_staff_cannot_download(app, as_user, staff_user, other_staff_user, toolkit):
    client = as_user(staff_user)
    upload(client, toolkit, samples.pdf_bytes(), "flyer.pdf")
    evidence = db.session.query(Evidence).one()
    client.post("/sign-out")
    response = as_user(other_staff_user).get(f"/evidence/{evidence.id}/download")
    assert response.status_code == 404


def test_evidence_can_be_deleted_in_draft(app, as_user, staff_user, toolkit):
    client = as_user(staff_user)
    upload(client, toolkit, samples.pdf_bytes(), "flyer.pdf")
    evidence = db.session.query(Evidence).one()
    response = client.post(f"/evidence/{evidence.id}/delete")
    assert response.status_code == 303
    assert db.session.query(Evidence).count() == 0 and stored_files(app) == []
    assert db.session.query(AuditEvent).filter_by(action="evidence.deleted").count() == 1


def test_evidence_cannot_be_deleted_once_submitted(as_user, staff_user, toolkit):
    client = as_user(staff_user)
    upload(client, toolkit, samples.pdf_bytes(), "flyer.pdf")
    toolkit.state = "submitted"
    db.session.commit()
    evidence = db.session.query(Evidence).one()
    assert client.post(f"/evidence/{evidence.id}/delete").status_code == 409
    assert db.session.query(Evidence).count() == 1


def test_uploaded_evidence_completes_the_evidence_requirement(as_user, staff_user, toolkit):
    client = as_user(staff_user)
    before = client.get(f"/toolkits/{toolkit.id}").get_data(as_text=True)
    assert before.count("Upload at least 1 file") == 2
    upload(client, toolkit, samples.pdf_bytes(), "flyer.pdf")
    after = client.get(f"/toolkits/{toolkit.id}").get_data(as_text=True)
    assert after.count("Upload at least 1 file") == 1


def test_files_of_a_submitted_revision_stay_when_the_draft_deletes_them(
    app, as_user, staff_user, toolkit
):
    client = as_user(staff_user)
    upload(client, toolkit, samples.pdf_bytes(), "flyer.pdf")
    evidence = db.session.query(Evidence).one()
    kept = evidence.storage_name
    db.session.add(
        Revision(
            toolkit_id=toolkit.id,
            number=1,
            definition_version="2024.1",
            snapshot=snapshot_of(toolkit),
            submitted_by_id=staff_user.id,
        )
    )
    toolkit.state = "changes_requested"
    db.session.commit()
    assert client.post(f"/evidence/{evidence.id}/delete").status_code == 303
    assert db.session.query(Evidence).count() == 0
    assert kept in stored_names("evidence")  # revision 1 still shows the file reviewers saw


def test_a_scanned_sheet_with_an_empty_password_is_stored_decrypted_under_its_own_hash(
    app, as_user, staff_user, toolkit
):
    client = as_user(staff_user)
    response = upload(client, toolkit, pdf_samples.empty_password_rc4_128(), "Sign-in.pdf")
    assert response.status_code == 303
    evidence = db.session.query(Evidence).one()
    stored = read_stored("evidence", evidence.storage_name)
    assert b"/Encrypt" not in stored and stored.startswith(b"%PDF-")
    assert evidence.sha256 == hashlib.sha256(stored).hexdigest()
    assert evidence.size == len(stored)
    download = client.get(f"/evidence/{evidence.id}/download")
    assert download.data == stored
    download.close()


def test_scripts_are_stripped_from_an_uploaded_pdf(app, as_user, staff_user, toolkit):
    response = upload(as_user(staff_user), toolkit, pdf_samples.pdf_with_scripts(), "form.pdf")
    assert response.status_code == 303
    evidence = db.session.query(Evidence).one()
    stored = read_stored("evidence", evidence.storage_name)
    for marker in (b"app.alert", b"/OpenAction", b"/Launch", b"cmd.exe"):
        assert marker not in stored
    assert evidence.sha256 == hashlib.sha256(stored).hexdigest()


@pytest.mark.parametrize(
    ("make", "filename", "message"),
    [
        ("password_aes_256", "sheet.pdf", "This PDF needs a password to open"),
        ("cut_off_download", "sheet.pdf", "No PDF reader can open this file"),
    ],
)
def test_pdfs_are_refused_only_for_a_password_or_when_no_reader_opens_them(
    app, as_user, staff_user, toolkit, make, filename, message
):
    data = getattr(pdf_samples, make)()
    response = upload(as_user(staff_user), toolkit, data, filename)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.query(Evidence).count() == 0 and stored_files(app) == []


def test_a_web_page_named_jpg_is_told_to_save_it_as_pdf_not_to_rename_it(
    as_user, staff_user, toolkit
):
    response = upload(as_user(staff_user), toolkit, samples.html_bytes(), "photo.jpg")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "it is a web page" in html and "Save as PDF" in html
    assert "rename" not in html.lower()


def test_a_file_missing_from_storage_gets_a_page_that_says_so_not_a_500(
    app, as_user, staff_user, toolkit
):
    client = as_user(staff_user)
    upload(client, toolkit, samples.pdf_bytes(), "flyer.pdf")
    evidence = db.session.query(Evidence).one()
    delete_stored("evidence", evidence.storage_name)
    response = client.get(f"/evidence/{evidence.id}/download")
    assert response.status_code == 404
    assert "This file is missing from storage" in response.get_data(as_text=True)


def storage_that_does_not_answer(app) -> None:  # noqa: ANN001
    """Stored files go to an S3 server that is down (nothing listens on port 9)."""
    app.config["STORAGE_URL"] = "s3://sct-forms-test/down?endpoint=http://127.0.0.1:9"
    app.config["STORAGE_ACCESS_KEY"], app.config["STORAGE_SECRET_KEY"] = "key", "secret"


def test_an_upload_while_the_storage_is_down_keeps_what_was_typed_and_says_why(
    app, as_user, staff_user, toolkit
):
    client = as_user(staff_user)
    storage_that_does_not_answer(app)
    response = upload(
        client,
        toolkit,
        samples.jpeg_bytes((80, 60)),
        "table.jpg",
        title="Sign-in table at the library",
        alt_text="Residents signing in at a folding table",
        people_consented="y",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "our file storage did not answer. Nothing is wrong with your file" in html
    assert 'value="Sign-in table at the library"' in html
    assert "Residents signing in at a folding table" in html
    assert db.session.query(Evidence).count() == 0
    assert db.session.query(AuditEvent).filter_by(action="evidence.added").count() == 0


def test_a_download_while_the_storage_is_down_is_a_503_that_says_so(
    app, as_user, staff_user, toolkit
):
    client = as_user(staff_user)
    upload(client, toolkit, samples.pdf_bytes(), "flyer.pdf")
    evidence = db.session.query(Evidence).one()
    storage_that_does_not_answer(app)
    response = client.get(f"/evidence/{evidence.id}/download")
    assert response.status_code == 503
    assert "Our file storage did not answer" in response.get_data(as_text=True)
