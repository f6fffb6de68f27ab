"""Every PDF that mainstream readers open is accepted; only locked and unopenable ones are refused.

qpdf and poppler (pdfinfo, pdftotext) stand in for mainstream readers: each sample is first
shown to open (or not) in them, then uploaded. What we store must open in them too, without a
password, show the same text, and be appendable to a packet.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from sct_forms.documents.packet_evidence import PacketFile
from sct_forms.documents.packet_pdf import append_attachments
from sct_forms.evidence import storage
from sct_forms.evidence.inspection import UploadRejected, inspect_upload
from tests.evidence import pdf_samples, samples

MAX = 20 * 1024 * 1024
# qpdf --check: 0 clean, 2 errors (could not open), 3 opened with warnings (repaired).
QPDF_OPENED = {0, 3}


def _write(tmp_path: Path, data: bytes, name: str = "sample.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def qpdf_opens(path: Path) -> bool:
    result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, check=False)
    return result.returncode in QPDF_OPENED


def poppler_pages(path: Path) -> int | None:
    """Pages pdfinfo reports, or None when poppler cannot open the file."""
    result = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return None
    for line in result.stdout.splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    return None


def poppler_text(path: Path) -> str:
    result = subprocess.run(
        ["pdftotext", "-q", str(path), "-"], capture_output=True, text=True, check=False
    )
    return " ".join(result.stdout.split())


OPENABLE_IDS = [name for name, _make, _pages in pdf_samples.OPENABLE]


@pytest.mark.parametrize(("name", "make", "pages"), pdf_samples.OPENABLE, ids=OPENABLE_IDS)
def test_a_pdf_that_readers_open_is_accepted(tmp_path, name, make, pages) -> None:
    data = make()
    original = _write(tmp_path, data)
    assert qpdf_opens(original), f"{name}: qpdf should open the sample"
    assert poppler_pages(original), f"{name}: poppler should open the sample"

    upload = inspect_upload(data, "Sign-in sheet.pdf", max_bytes=MAX)

    assert (upload.kind, upload.mime_type, upload.extension) == (
        "document",
        "application/pdf",
        "pdf",
    )
    assert upload.display_name == "Sign-in sheet.pdf"
    stored = _write(tmp_path, upload.data, "stored.pdf")
    # What we keep opens cleanly, without a password, with the pages and text of the upload.
    check = subprocess.run(["qpdf", "--check", str(stored)], capture_output=True, check=False)
    assert check.returncode == 0, check.stdout
    assert poppler_pages(stored) == pages
    assert poppler_text(stored) == poppler_text(original)
    reader = PdfReader(io.BytesIO(upload.data))
    assert not reader.is_encrypted and len(reader.pages) == pages


@pytest.mark.parametrize(
    ("name", "make", "code"),
    pdf_samples.REFUSED,
    ids=[name for name, _make, _code in pdf_samples.REFUSED],
)
def test_only_locked_or_unopenable_pdfs_are_refused(tmp_path, name, make, code) -> None:
    data = make()
    path = _write(tmp_path, data)
    if code == "pdf_password":
        # --requires-password exits 0 exactly when a password is needed to open the file.
        result = subprocess.run(["qpdf", "--requires-password", str(path)], check=False)
        assert result.returncode == 0
        assert poppler_pages(path) is None
    elif code in ("pdf_unreadable", "pdf_no_pages"):
        assert not (qpdf_opens(path) and poppler_pages(path))
    with pytest.raises(UploadRejected) as refused:
        inspect_upload(data, "sheet.pdf", max_bytes=MAX)
    assert refused.value.code == code


@pytest.mark.parametrize(
    "make",
    [
        pdf_samples.empty_password_rc4_40,
        pdf_samples.empty_password_rc4_128,
        pdf_samples.empty_password_aes_128,
        pdf_samples.empty_password_aes_256,
    ],
)
def test_encryption_without_a_user_password_is_accepted_and_stored_decrypted(make) -> None:
    data = make()
    with pikepdf.open(io.BytesIO(data)) as sample:
        assert sample.is_encrypted
    upload = inspect_upload(data, "sheet.pdf", max_bytes=MAX)
    assert b"/Encrypt" not in upload.data
    assert not PdfReader(io.BytesIO(upload.data)).is_encrypted


def test_junk_before_the_header_is_not_mistaken_for_text() -> None:
    # Before: a BOM in front of %PDF made the file "text", refused as a .pdf/.txt mismatch.
    for make in (pdf_samples.bom_before_header, pdf_samples.junk_before_header):
        upload = inspect_upload(make(), "sheet.pdf", max_bytes=MAX)
        assert upload.data.startswith(b"%PDF-")


def test_text_mentioning_pdf_headers_is_still_text() -> None:
    data = b"Notes: files must start with %PDF-1.4 and end with %%EOF.\n"
    upload = inspect_upload(data, "notes.txt", max_bytes=MAX)
    assert (upload.kind, upload.data) == ("text", data)


def test_the_same_upload_is_stored_as_the_same_bytes() -> None:
    data = pdf_samples.empty_password_aes_256()
    first = inspect_upload(data, "a.pdf", max_bytes=MAX).data
    assert inspect_upload(data, "a.pdf", max_bytes=MAX).data == first


def test_the_packet_appends_every_accepted_shape(app) -> None:
    files, expected_pages = [], 0
    for name, make, pages in pdf_samples.OPENABLE:
        data = inspect_upload(make(), f"{name}.pdf", max_bytes=MAX).data
        files.append(
            PacketFile(
                step_key="outreach",
                title=name,
                alt_text="",
                display_name=f"{name}.pdf",
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                kind="document",
                mime_type="application/pdf",
                storage_name=storage.store(data),
                print_storage_name=None,
                available=True,
                pages=pages,
            )
        )
        expected_pages += pages
    with app.test_request_context():
        packet_bytes = append_attachments(samples.pdf_bytes(1), [(None, files)])
    packet = PdfReader(io.BytesIO(packet_bytes))
    assert len(packet.pages) == 1 + expected_pages
    titles = [item.title for item in packet.outline]
    assert len(titles) == len(files)
