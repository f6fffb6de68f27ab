"""Every refusal says what is wrong and a next step that works, never one refused next."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sct_forms.evidence import detection, inspection, pdfs
from sct_forms.evidence.inspection import UploadRejected, inspect_upload
from sct_forms.evidence.messages import refused_message
from tests.conftest import isolate_environment, make_app
from tests.evidence import pdf_samples, samples

MB = 1024 * 1024
FALLBACK_START = "The file could not be uploaded."

# (sample, file name, inspection options, expected code): one or more for every refusal.
REFUSED = [
    (lambda: b"", "notes.txt", {}, "empty"),
    (samples.pdf_bytes, "big.pdf", {"max_bytes": 100}, "too_large"),
    (samples.png_bytes, "poster.pdf", {}, "type_mismatch"),
    (samples.text_bytes, "photo.jpg", {}, "type_mismatch"),
    (samples.pdf_bytes, "minutes.docx", {}, "type_mismatch"),
    (lambda: samples.png_bytes((200, 200)), "a.png", {"max_pixels": 10_000}, "image_too_large"),
    (samples.bomb_png, "scan.png", {}, "image_too_large"),
    (samples.html_bytes, "photo.jpg", {}, "active_content"),
    (samples.html_bytes, "page.html", {}, "active_content"),
    (samples.svg_with_script_bytes, "logo.svg", {}, "active_content"),
    (samples.svg_with_script_bytes, "notes.txt", {}, "active_content"),
    (samples.xml_bytes, "answers.xml", {}, "active_content"),
    (samples.text_with_code_bytes, "survey.csv", {}, "active_content"),
    (samples.random_bytes, "data.bin", {}, "unknown_type"),
    (lambda: samples.encode(samples.picture(), "GIF"), "anim.gif", {}, "unknown_type"),
    (lambda: samples.encode(samples.picture(), "TIFF"), "scan.tif", {}, "unknown_type"),
    (samples.plain_zip_bytes, "flyers.zip", {}, "unknown_type"),
    (samples.pptx_bytes, "slides.pptx", {}, "unknown_type"),
    (samples.odt_bytes, "minutes.odt", {}, "unknown_type"),
    (lambda: samples.ole_bytes("Root Entry", "WordDocument"), "minutes.doc", {}, "unknown_type"),
    (samples.encrypted_docx_bytes, "minutes.docx", {}, "unknown_type"),
    (samples.rtf_bytes, "minutes.rtf", {}, "unknown_type"),
    (samples.exe_bytes, "setup.exe", {}, "unknown_type"),
    (samples.mp4_bytes, "video.mp4", {}, "unknown_type"),
    (samples.docm_bytes, "minutes.docx", {}, "macro_enabled"),
    (lambda: samples.jpeg_bytes((200, 150))[:600], "photo.jpg", {}, "image_broken"),
    (samples.windows_1252_csv_bytes, "survey.csv", {}, "not_utf8_text"),
    (lambda: samples.docx_bytes()[:300], "minutes.docx", {}, "office_broken"),
    (samples.zip_bomb_docx, "minutes.docx", {}, "office_too_large"),
    *[(make, "sheet.pdf", {}, code) for _name, make, code in pdf_samples.REFUSED],
]
IDS = [f"{code}-{name}" for _make, name, _options, code in REFUSED]
# Refusals the upload service raises before inspection (a form field is missing or odd).
SERVICE_CODES = {"no_file", "no_title", "no_alt_text", "no_consent", "bad_filename"}


def refuse(make, filename: str, options: dict) -> UploadRejected:
    options = {"max_bytes": 20 * MB, **options}
    with pytest.raises(UploadRejected) as refused:
        inspect_upload(make(), filename, **options)
    return refused.value


@pytest.fixture(scope="module")
def request_context(tmp_path_factory):
    """Messages need only the app's config and translations: one app for the module."""
    folder = tmp_path_factory.mktemp("messages")
    with pytest.MonkeyPatch.context() as patch:
        isolate_environment(patch, folder / "instance")
        app = make_app(folder)
    with app.test_request_context():
        yield


def codes_raised_in_source() -> set[str]:
    """Every refusal code the inspection modules can raise, read from their source."""
    codes = {f"pdf_{reason}" for reason in pdfs.PdfRefusedError.REASONS}
    for module in (detection, inspection):
        source = Path(module.__file__).read_text()
        codes |= set(re.findall(r'UploadRejected\(\s*"(\w+)"', source))
    return codes


def unknown_kinds_in_source() -> set[str]:
    source = Path(detection.__file__).read_text()
    kinds = set(re.findall(r'actual="(\w+)"', source))
    kinds |= {kind for _signature, kind in detection._BINARY_SIGNATURES}
    kinds |= set(re.findall(r'return "(\w+)"', source))
    kinds |= set(re.findall(r'"(\w+)" if \w+', source)) | set(re.findall(r'else "(\w+)"', source))
    return kinds


def test_the_table_covers_every_code_inspection_raises() -> None:
    assert codes_raised_in_source() <= {code for *_rest, code in REFUSED} | {
        "pdf_too_complex",
        "pdf_cannot_clean",  # reached only by monkeypatching; see test_pdf_cleaning.py
    }


@pytest.mark.usefixtures("request_context")
@pytest.mark.parametrize("code", sorted(codes_raised_in_source() | SERVICE_CODES))
def test_every_code_has_its_own_message(code) -> None:
    message = refused_message(UploadRejected(code, actual="pdf", claimed="png", max_mp=40))
    assert not message.startswith(FALLBACK_START)


@pytest.mark.usefixtures("request_context")
@pytest.mark.parametrize("kind", sorted(unknown_kinds_in_source()))
def test_every_kind_of_unknown_file_gets_advice(kind) -> None:
    message = refused_message(UploadRejected("unknown_type", actual=kind))
    assert len(re.findall(r"[.!?](\s|$)", message)) >= 2, "says what is wrong, then what to do"


@pytest.mark.usefixtures("request_context")
@pytest.mark.parametrize(("make", "filename", "options", "code"), REFUSED, ids=IDS)
def test_a_refusal_never_advises_a_step_that_is_refused_next(
    make, filename, options, code
) -> None:
    refused = refuse(make, filename, options)
    assert refused.code == code
    message = refused_message(refused)
    assert not message.startswith(FALLBACK_START)
    rename = re.search(r"rename it to end in \.(\w+)", message)
    if code != "type_mismatch":
        assert "rename" not in message.lower()
        return
    # The advised rename is accepted.
    assert rename is not None
    stem = filename.rsplit(".", 1)[0]
    renamed = inspect_upload(make(), f"{stem}.{rename.group(1)}", max_bytes=20 * MB)
    assert renamed.extension == rename.group(1) or renamed.kind == "image"


@pytest.mark.usefixtures("request_context")
def test_a_web_page_named_jpg_is_told_to_save_as_pdf_not_to_rename() -> None:
    message = refused_message(refuse(samples.html_bytes, "photo.jpg", {}))
    assert message == (
        "The file's name ends in .jpg, but it is a web page. Web pages, SVG and XML files "
        "cannot be uploaded. Open the page in your browser, save it as PDF "
        "(Print → Save as PDF), and upload the PDF."
    )


@pytest.mark.usefixtures("request_context")
def test_a_locked_pdf_is_refused_for_its_password_not_as_damaged() -> None:
    message = refused_message(refuse(pdf_samples.password_aes_256, "sheet.pdf", {}))
    assert "needs a password" in message and "damaged" not in message


@pytest.mark.usefixtures("request_context")
def test_a_pdf_no_reader_opens_says_so() -> None:
    message = refused_message(refuse(pdf_samples.cut_off_download, "sheet.pdf", {}))
    assert message.startswith("No PDF reader can open this file")
    assert "password" not in message


@pytest.mark.usefixtures("request_context")
def test_the_example_size_for_a_too_large_image_fits_the_limit() -> None:
    for max_mp in (0.01, 1, 12, 40, 100):
        message = refused_message(UploadRejected("image_too_large", max_mp=max_mp))
        width, height = map(int, re.search(r"(\d+) × (\d+) pixels", message).groups())
        assert 0 < width * height <= max_mp * 1_000_000
