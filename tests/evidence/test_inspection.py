"""Upload inspection: detection by content, refusals, and safe display names."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image
from pypdf import PdfReader

from sct_forms.evidence.inspection import (
    ACCEPTED_KINDS,
    InspectedUpload,
    UploadRejected,
    inspect_upload,
    safe_display_name,
)
from tests.evidence import samples

MB = 1024 * 1024
MAX = 20 * MB


def inspect(data: bytes, filename: str, **options: int) -> InspectedUpload:
    return inspect_upload(data, filename, max_bytes=options.pop("max_bytes", MAX), **options)


def rejection(data: bytes, filename: str, **options: int) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        inspect(data, filename, **options)
    return caught.value


# --- Accepted types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "filename", "kind", "mime", "extension"),
    [
        (samples.pdf_bytes, "Minutes.pdf", "document", "application/pdf", "pdf"),
        (
            samples.docx_bytes,
            "Minutes.docx",
            "document",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "docx",
        ),
        (
            samples.xlsx_bytes,
            "Survey.xlsx",
            "spreadsheet",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        (samples.csv_bytes, "Survey.csv", "spreadsheet", "text/csv", "csv"),
        (samples.text_bytes, "Notes.txt", "text", "text/plain", "txt"),
        (samples.jpeg_bytes, "Flyer.jpeg", "image", "image/jpeg", "jpg"),
        (samples.png_bytes, "Flyer.png", "image", "image/png", "png"),
        (samples.webp_bytes, "Flyer.webp", "image", "image/webp", "webp"),
        (samples.heic_bytes, "IMG_0001.HEIC", "image", "image/jpeg", "jpg"),
    ],
)
def test_accepted_types(make, filename, kind, mime, extension) -> None:
    upload = inspect(make(), filename)
    assert upload.kind == kind and upload.kind in ACCEPTED_KINDS
    assert upload.mime_type == mime
    assert upload.extension == extension
    assert upload.display_name == f"{filename.rsplit('.', 1)[0]}.{extension}"


@pytest.mark.parametrize("make", [samples.docx_bytes, samples.xlsx_bytes, samples.text_bytes])
def test_documents_are_stored_unchanged(make) -> None:
    data = make()
    upload = inspect(data, "evidence")
    assert upload.data == data
    assert upload.width is None and upload.height is None and upload.print_rendition is None


def test_heic_is_converted_to_jpeg() -> None:
    upload = inspect(samples.heic_bytes((64, 48)), "IMG_0001.heic")
    assert upload.data.startswith(b"\xff\xd8\xff")
    with Image.open(io.BytesIO(upload.data)) as image:
        assert image.format == "JPEG"
        assert image.size == (64, 48)
    assert (upload.width, upload.height) == (64, 48)
    assert upload.print_rendition is not None


def test_a_pdf_is_stored_as_a_rewritten_copy_with_the_same_pages() -> None:
    upload = inspect(samples.pdf_bytes(3), "minutes.pdf")
    assert upload.data.startswith(b"%PDF-") and upload.removed == frozenset()
    assert len(PdfReader(io.BytesIO(upload.data)).pages) == 3
    assert upload.width is None and upload.print_rendition is None


def test_images_carry_dimensions_and_rendition() -> None:
    upload = inspect(samples.png_bytes((64, 48)), "chart.png")
    assert (upload.width, upload.height) == (64, 48)
    assert upload.print_rendition is not None
    assert upload.print_rendition.startswith(b"\xff\xd8\xff")


def test_missing_extension_is_fine_and_gets_canonical_one() -> None:
    assert inspect(samples.pdf_bytes(), "scan").display_name == "scan.pdf"
    assert inspect(samples.jpeg_bytes(), "photo").display_name == "photo.jpg"


def test_text_without_csv_name_is_plain_text() -> None:
    upload = inspect(samples.csv_bytes(), "survey export")
    assert (upload.kind, upload.mime_type, upload.extension) == ("text", "text/plain", "txt")


def test_image_aliases_within_the_image_family_are_accepted() -> None:
    # A PNG saved as .jpg by some phone app: content wins, the name is corrected.
    upload = inspect(samples.png_bytes(), "poster.JPG")
    assert (upload.extension, upload.display_name) == ("png", "poster.png")
    assert inspect(samples.jpeg_bytes(), "scan.tif").display_name == "scan.jpg"


# --- Name and content disagree -------------------------------------------------------------------


def test_png_named_pdf_is_a_type_mismatch() -> None:
    error = rejection(samples.png_bytes(), "report.pdf")
    assert error.code == "type_mismatch"
    assert error.params == {"claimed": "pdf", "actual": "png"}


def test_html_named_jpg_is_refused_for_what_it_is_not_for_its_name() -> None:
    # A rename would only lead to the next refusal, so the content is judged first.
    error = rejection(samples.html_bytes(), "photo.jpg")
    assert error.code == "active_content"
    assert error.params == {"claimed": "jpg", "actual": "html"}


def test_a_name_mismatch_is_only_raised_for_content_we_accept() -> None:
    assert rejection(samples.broken_pdf_bytes(), "scan.png").code == "pdf_unreadable"
    assert rejection(samples.docm_bytes(), "minutes.pdf").code == "macro_enabled"
    error = rejection(samples.text_bytes(), "notes.jpg")
    assert (error.code, error.params) == ("type_mismatch", {"claimed": "jpg", "actual": "txt"})


def test_pdf_named_exe_is_a_type_mismatch() -> None:
    error = rejection(samples.pdf_bytes(), "invoice.pdf.exe")
    assert (error.code, error.params["claimed"]) == ("type_mismatch", "exe")


def test_unrecognised_suffix_is_not_a_claim() -> None:
    upload = inspect(samples.pdf_bytes(), "Minutes v2.final")
    assert upload.display_name == "Minutes v2.final.pdf"


# --- Refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("filename", ["notes.txt", "notes", "notes.csv", "page.html"])
@pytest.mark.parametrize(
    "make",
    [
        samples.html_bytes,
        samples.svg_with_script_bytes,
        lambda: b"\xef\xbb\xbf  \n<SCRIPT>alert(1)</SCRIPT>",
        lambda: b'<?xml version="1.0"?><note>hello</note>',
        lambda: b"  <img src=x onerror=alert(1)>",
        lambda: b"name,comment\nAna,nice <svg onload=alert(1)>\n",
    ],
)
def test_markup_is_active_content(make, filename) -> None:
    assert rejection(make(), filename).code == "active_content"


def test_svg_named_svg_is_active_content() -> None:
    error = rejection(samples.svg_with_script_bytes(), "logo.svg")
    assert (error.code, error.params) == ("active_content", {"actual": "svg"})


@pytest.mark.parametrize("filename", ["budget.docm", "budget.docx", "budget"])
def test_macro_enabled_word_is_refused(filename) -> None:
    error = rejection(samples.docm_bytes(), filename)
    assert (error.code, error.params) == ("macro_enabled", {"actual": "docm"})


def test_macro_enabled_excel_is_refused() -> None:
    error = rejection(samples.xlsm_bytes(), "budget.xlsx")
    assert (error.code, error.params) == ("macro_enabled", {"actual": "xlsm"})


def test_vba_project_in_plain_docx_is_refused() -> None:
    assert rejection(samples.docx_with_hidden_vba(), "minutes.docx").code == "macro_enabled"


def test_too_large() -> None:
    error = rejection(bytes(25 * MB), "big.pdf", max_bytes=20 * MB)
    assert (error.code, error.params) == ("too_large", {"max_mb": 20})


def test_exactly_the_limit_is_allowed() -> None:
    data = samples.pdf_bytes()
    assert inspect(data, "a.pdf", max_bytes=len(data)).kind == "document"


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b" \r\n\t "])
def test_empty(data) -> None:
    assert rejection(data, "empty.txt").code == "empty"


@pytest.mark.parametrize(
    ("make", "filename"),
    [
        (samples.random_bytes, "data.bin"),
        (samples.random_bytes, "data"),
        (samples.plain_zip_bytes, "flyers.zip"),
        (samples.pptx_bytes, "slides.pptx"),
        (lambda: samples.encode(samples.picture(), "GIF"), "anim.gif"),
        (lambda: samples.encode(samples.picture(), "TIFF"), "scan.tiff"),
        (lambda: b"MZ\x90\x00\x03\x00\x00\x00" + bytes(100), "setup.exe"),
        (lambda: bytes(range(1, 32)) * 10, "control.txt"),
    ],
)
def test_unknown_types(make, filename) -> None:
    assert rejection(make(), filename).code == "unknown_type"


def test_pdf_that_needs_a_password_is_refused_for_that_reason() -> None:
    assert rejection(samples.encrypted_pdf_bytes(), "secret.pdf").code == "pdf_password"


def test_broken_pdf_is_refused() -> None:
    assert rejection(samples.broken_pdf_bytes(), "scan.pdf").code == "pdf_unreadable"


def test_truncated_zip_is_refused() -> None:
    data = samples.docx_bytes()
    assert rejection(data[: len(data) // 2], "minutes.docx").code == "office_broken"


def test_office_main_part_must_exist() -> None:
    assert rejection(samples.docx_missing_main_part(), "minutes.docx").code == "office_broken"


def test_office_zip_bomb_is_refused() -> None:
    data = samples.zip_bomb_docx()
    assert len(data) < MB
    started = time.perf_counter()
    error = rejection(data, "minutes.docx")
    # Only the central directory is read; inflating 210 MB would take far longer.
    assert time.perf_counter() - started < 1.0
    assert error.code == "office_too_large"


def test_non_utf8_text_is_refused() -> None:
    assert rejection(samples.windows_1252_csv_bytes(), "survey.csv").code == "not_utf8_text"


def test_nul_bytes_mean_binary() -> None:
    assert rejection(b"hello\x00world", "notes.txt").code == "unknown_type"


def test_broken_image() -> None:
    data = samples.jpeg_bytes((200, 150))
    assert rejection(data[: len(data) // 2], "photo.jpg").code == "image_broken"


def test_decompression_bomb_png_is_refused_quickly() -> None:
    data = samples.bomb_png()  # generated (and cached) outside the timed part
    started = time.perf_counter()
    error = rejection(data, "flyer.png")
    assert time.perf_counter() - started < 1.0
    assert (error.code, error.params) == ("image_too_large", {"max_mp": 40})


def test_image_over_our_pixel_limit_but_under_pillows() -> None:
    # 8000x6000 = 48 MP: Pillow would decode it; our 40 MP default must not.
    error = rejection(samples.bomb_png(8000, 6000), "scan.png")
    assert error.code == "image_too_large"
    small = rejection(samples.png_bytes((200, 200)), "a.png", max_pixels=10_000)
    assert (small.code, small.params) == ("image_too_large", {"max_mp": 0.01})


def test_rejection_is_a_value_error_with_readable_message() -> None:
    error = UploadRejected("too_large", max_mb=20)
    assert isinstance(error, ValueError)
    assert (error.code, error.params) == ("too_large", {"max_mb": 20})
    assert str(error) == "too_large (max_mb=20)"


# --- Display names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "extension", "expected"),
    [
        ("../../etc/passwd", "txt", "passwd.txt"),
        ("..\\..\\Windows\\system.ini", "txt", "system.ini.txt"),
        ("C:\\Users\\ana\\Desktop\\Sign-in sheet.PDF", "pdf", "Sign-in sheet.pdf"),
        ("../..", "pdf", "file.pdf"),
        ("", "pdf", "file.pdf"),
        ("...", "jpg", "file.jpg"),
        (".hidden.png", "png", "hidden.png"),
        ("photo.heic", "jpg", "photo.jpg"),
        ("photo.jpeg", ".jpg", "photo.jpg"),
        ("  Spring \t\n  flyer  .png", "png", "Spring flyer.png"),
        ("a\x00b\x1bc\x7f.pdf", "pdf", "abc.pdf"),
        ("Sign-in\tsheet\r\nMay.pdf", "pdf", "Sign-in sheet May.pdf"),
        ("invoice\u202egpj.exe", "txt", "invoicegpj.txt"),
        ('what?<b>"x"|*:.pdf', "pdf", "what__b__x____.pdf"),
        ("Café – résumé.docx", "docx", "Café – résumé.docx"),
    ],
)
def test_safe_display_name(filename, extension, expected) -> None:
    assert safe_display_name(filename, extension) == expected


def test_display_name_is_limited_to_120_characters() -> None:
    name = safe_display_name("x" * 500 + ".pdf", "pdf")
    assert len(name) == 120
    assert name.endswith("x.pdf")


def test_traversal_filename_on_upload() -> None:
    upload = inspect(samples.pdf_bytes(), "../../../../var/www/minutes.pdf")
    assert upload.display_name == "minutes.pdf"
