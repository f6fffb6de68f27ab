"""PDFs are stored without anything that runs or reaches out when opened; the content stays."""

from __future__ import annotations

import io

import pikepdf
import pytest
from pypdf import PdfReader

from sct_forms.evidence import pdfs
from sct_forms.evidence.inspection import UploadRejected, inspect_upload
from tests.evidence import pdf_samples

MAX = 20 * 1024 * 1024


def stored(data: bytes) -> bytes:
    return inspect_upload(data, "sheet.pdf", max_bytes=MAX).data


def every_key_and_action(data: bytes) -> tuple[set[str], set[str]]:
    """All dictionary keys and all action types (/S of action dictionaries) in a file."""
    keys: set[str] = set()
    actions: set[str] = set()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for dictionary in pdfs._dictionaries(pdf):
            keys |= dictionary.keys()
            subtype = dictionary.get("/S")
            if isinstance(subtype, pikepdf.Name) and str(subtype) in pdfs._ACTION_TYPES:
                actions.add(str(subtype))
    return keys, actions


def test_the_script_sample_really_carries_scripts() -> None:
    keys, actions = every_key_and_action(pdf_samples.pdf_with_scripts())
    assert {"/OpenAction", "/AA", "/JavaScript", "/EmbeddedFiles", "/EF", "/XFA"} <= keys
    assert {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData"} <= actions


def test_scripts_actions_and_embedded_files_are_stripped() -> None:
    upload = inspect_upload(pdf_samples.pdf_with_scripts(), "sheet.pdf", max_bytes=MAX)
    keys, actions = every_key_and_action(upload.data)
    assert not keys & {"/OpenAction", "/AA", "/JavaScript", "/EmbeddedFiles", "/EF", "/XFA"}
    assert actions <= {"/URI", "/GoTo"}
    for marker in (b"app.alert", b"cmd.exe", b"attacker.example", b"not really a program"):
        assert marker not in upload.data
    assert upload.removed == {"actions", "scripts", "embedded_files", "media_or_attachments"}


def test_visible_content_links_and_bookmarks_stay() -> None:
    reader = PdfReader(io.BytesIO(stored(pdf_samples.pdf_with_scripts())))
    assert "Visible sign-in text" in reader.pages[0].extract_text()
    annotations = [a.get_object() for a in reader.pages[0]["/Annots"]]
    links = [a["/A"]["/URI"] for a in annotations if "/A" in a and "/URI" in a["/A"]]
    assert links == ["https://sustainablect.org/"]
    # The widgets stay (the form is still there to read); their actions are gone.
    assert sum(1 for a in annotations if a["/Subtype"] == "/Widget") == 2
    assert all("/FileAttachment" != a["/Subtype"] for a in annotations)
    assert [item.title for item in reader.outline] == ["Sign-in", "Run"]
    assert reader.get_destination_page_number(reader.outline[0]) == 0


def test_javascript_urls_and_links_to_other_files_are_dropped() -> None:
    data = stored(pdf_samples.pdf_with_javascript_uri())
    _keys, actions = every_key_and_action(data)
    assert actions == set()
    assert b"javascript:" not in data and b"agenda.pdf" not in data


def test_a_clean_pdf_reports_nothing_removed() -> None:
    upload = inspect_upload(pdf_samples.acroform_pdf(), "form.pdf", max_bytes=MAX)
    assert upload.removed == frozenset()
    fields = PdfReader(io.BytesIO(upload.data)).get_fields()
    assert fields["name"]["/V"] == "Ana Ruiz"


def test_when_a_removal_does_not_take_the_file_is_refused(monkeypatch) -> None:
    # Fail closed: the written file is read back, and anything still active refuses it.
    monkeypatch.setattr(pdfs, "_strip_active_content", lambda pdf: {"actions"})
    with pytest.raises(UploadRejected) as refused:
        stored(pdf_samples.pdf_with_scripts())
    assert refused.value.code == "pdf_cannot_clean"


def test_a_pdf_with_too_many_objects_to_check_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(pdfs, "MAX_OBJECTS", 5)
    with pytest.raises(UploadRejected) as refused:
        stored(pdf_samples.sign_in_sheet())
    assert refused.value.code == "pdf_too_complex"


def test_find_active_content_names_what_it_finds() -> None:
    assert pdfs.find_active_content(pdf_samples.pdf_with_scripts()) == {
        "actions",
        "scripts",
        "embedded_files",
        "media_or_attachments",
    }
    assert pdfs.find_active_content(pdf_samples.sign_in_sheet()) == set()


def test_a_link_whose_address_is_not_text_is_dropped() -> None:
    objects = pdf_samples._one_page_objects()
    objects[2] = objects[2].replace(b"/Contents 4 0 R >>", b"/Contents 4 0 R /Annots [7 0 R] >>")
    objects.append(
        b"<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] /A << /S /URI /URI 999999999999 >> >>"
    )
    data = stored(pdf_samples.assemble(objects))
    assert every_key_and_action(data)[1] == set()
