"""Plain-language messages for refused uploads: what is wrong, then a next step that works.

A message never advises a step that would be refused next: a rename is only suggested for
content we accept (inspection checks the content before the name), and every other next step
produces a kind of file we take (PDF, JPEG or PNG, .docx, .xlsx, UTF-8 text or CSV).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app

from sct_forms.i18n import gettext as _

Params = dict[str, Any]


def refused_message(refused) -> str:  # noqa: ANN001 - EvidenceRefused or UploadRejected
    """The message for a refusal's code and parameters."""
    code, params = refused.code, refused.params
    if code in _BUILT:
        return _BUILT[code](params)
    message = _fixed_messages().get(code)
    if message is None:
        return _(
            "The file could not be uploaded. Save it as PDF (Print → Save as PDF) and upload "
            "the PDF."
        )
    return message


def _too_large(params: Params) -> str:
    limit = current_app.config["UPLOAD_MAX_BYTES"] // (1024 * 1024)
    return _(
        "The file is larger than %(size)s MB, the most we can take. For a PDF, save it again "
        "with a smaller file size (often called “Reduce file size” or “Optimize”) or split it "
        "into parts. For a photo, send or export a smaller size. Then upload it again.",
        size=limit,
    )


def _type_mismatch(params: Params) -> str:
    return _(
        "The file's name says .%(claimed)s but it is really a %(actual)s file. Check that you "
        "chose the right file. If you did, rename it to end in .%(actual)s and upload it again.",
        claimed=params.get("claimed", ""),
        actual=params.get("actual", ""),
    )


def _image_too_large(params: Params) -> str:
    max_mp = params.get("max_mp", 40)
    # A 4:3 size that fits under the limit, rounded down so it stays under it.
    width = int((float(max_mp) * 1_000_000 * 4 / 3) ** 0.5)
    width = width // 1000 * 1000 if width >= 2000 else max(width // 10 * 10, 4)
    return _(
        "The image has too many pixels (more than %(max_mp)s million). Make it smaller, for "
        "example %(width)s × %(height)s pixels, and upload it again.",
        max_mp=max_mp,
        width=width,
        height=width * 3 // 4,
    )


def _active_content(params: Params) -> str:
    actual, claimed = params.get("actual"), params.get("claimed")
    if actual == "text-with-code":
        return " ".join(
            (
                _("This file contains web page code, such as <script> or <svg> tags."),
                _("Files with web page code cannot be uploaded."),
                _(
                    "Remove that code, or save the file as PDF (Print → Save as PDF), "
                    "and upload it again."
                ),
            )
        )
    if actual == "svg":
        what = (
            _("The file's name ends in .%(claimed)s, but it is an SVG drawing.", claimed=claimed)
            if claimed
            else _("This file is an SVG drawing.")
        )
        step = _("Export the drawing as PNG or PDF and upload that.")
    elif actual == "xml":
        what = (
            _("The file's name ends in .%(claimed)s, but it is XML data.", claimed=claimed)
            if claimed
            else _("This file is XML data.")
        )
        step = _("Open it in the program that made it, save it as PDF, and upload the PDF.")
    else:
        what = (
            _("The file's name ends in .%(claimed)s, but it is a web page.", claimed=claimed)
            if claimed
            else _("This file is a web page.")
        )
        step = _(
            "Open the page in your browser, save it as PDF (Print → Save as PDF), "
            "and upload the PDF."
        )
    return " ".join((what, _("Web pages, SVG and XML files cannot be uploaded."), step))


def _unknown_type(params: Params) -> str:
    what = {
        "picture": _("This picture format cannot be uploaded."),
        "archive": _("This is a compressed folder (such as ZIP), which cannot be uploaded."),
        "slides": _("Slide shows cannot be uploaded."),
        "opendocument": _("OpenDocument files (.odt, .ods) cannot be uploaded."),
        "old_office": _("Older Office files (.doc, .xls, .ppt) cannot be uploaded."),
        "office_password": _("This Word or Excel file is protected with a password."),
        "rtf": _("Rich Text files (.rtf) cannot be uploaded."),
        "program": _("This file is a program, which cannot be uploaded."),
        "media": _("Video and sound files cannot be uploaded."),
    }
    steps = {
        "picture": _("Open it and save or export it as JPEG or PNG, then upload that."),
        "archive": _("Unzip it and upload the files inside one at a time."),
        "slides": _("Save the slides as PDF (File → Save As → PDF) and upload the PDF."),
        "opendocument": _(
            "Save it as PDF, Word (.docx) or Excel (.xlsx) and upload the new file."
        ),
        "old_office": _(
            "Open it in the program that made it, save it as PDF, and upload the PDF."
        ),
        "office_password": _(
            "Open it with the password, save a copy as PDF (File → Save As → PDF), "
            "and upload the PDF."
        ),
        "rtf": _("Open it in Word or another writer, save it as PDF or .docx, and upload that."),
        "program": _("Check that you chose the right file: upload the document itself."),
        "media": _(
            "Upload a photo or a PDF instead, for example a screenshot from the video "
            "or a written summary."
        ),
    }
    kind = params.get("actual")
    if kind in what:
        return f"{what[kind]} {steps[kind]}"
    return _(
        "This kind of file cannot be uploaded. Check that you chose the right file. We take "
        "PDF, JPEG, PNG, WebP, HEIC, Word (.docx), Excel (.xlsx), CSV and plain text: save the "
        "file as one of these (PDF works for any document) and upload that."
    )


_BUILT: dict[str, Callable[[Params], str]] = {
    "too_large": _too_large,
    "type_mismatch": _type_mismatch,
    "image_too_large": _image_too_large,
    "active_content": _active_content,
    "unknown_type": _unknown_type,
}


def _fixed_messages() -> dict[str, str]:
    print_to_pdf = _("Print it to a new PDF (Print → Save as PDF) and upload the new file.")
    return {
        "no_file": _("Choose a file to upload."),
        "storage_unavailable": _(
            "The file could not be saved: our file storage did not answer. Nothing is wrong "
            "with your file. Choose it again and upload it in a few minutes."
        ),
        "no_title": _("Give the file a short title, like “Flyer in Spanish”."),
        "no_alt_text": _("Describe what the image shows, for people who cannot see it."),
        "no_consent": _(
            "Confirm that people who can be recognized in the image agreed to its use. "
            "If they did not, choose an image in which no one can be recognized."
        ),
        "bad_filename": _(
            "The file's name contains folder names. Choose the file again from your computer "
            "and upload it."
        ),
        "empty": _(
            "The file is empty: there is nothing in it. Check that you chose the right file, "
            "or save it again and upload the new copy."
        ),
        "macro_enabled": _(
            "Files with macros cannot be uploaded, because macros are small programs. In Word "
            "or Excel choose File → Save As, pick “Word Document (.docx)”, “Excel Workbook "
            "(.xlsx)” or PDF, and upload the new file."
        ),
        "image_broken": _(
            "The image could not be read: it is damaged or not a complete picture. If it opens "
            "on your phone or computer, save or export it again as JPEG or PNG and upload the "
            "new file. If it does not open, use another copy."
        ),
        "not_utf8_text": _(
            "The text file uses an older character encoding that we cannot read. Save it "
            "again as UTF-8: in Excel choose File → Save As → “CSV UTF-8”; in Notepad choose "
            "“UTF-8” under Encoding. Then upload the new file."
        ),
        "office_broken": _(
            "This Word or Excel file is damaged and cannot be opened. Open the original, save "
            "it again (or save it as PDF), and upload the new file."
        ),
        "office_too_large": _(
            "This Word or Excel file holds too much to open safely. Save it as PDF "
            "(File → Save As → PDF) and upload the PDF."
        ),
        "pdf_password": " ".join(
            (
                _("This PDF needs a password to open, so reviewers could not read it."),
                _(
                    "Open it with the password, print it to a new PDF (Print → Save as PDF), "
                    "and upload the new file: it will have no password."
                ),
            )
        ),
        "pdf_unreadable": _(
            "No PDF reader can open this file: it is damaged or was not saved completely. "
            "Open the original document, save or export it as PDF again, and upload the new "
            "file."
        ),
        "pdf_no_pages": _(
            "This PDF has no pages, so there is nothing to show. Save or export the document "
            "as PDF again and upload the new file."
        ),
        "pdf_portfolio": _(
            "This PDF is a portfolio: a package that holds other files. Open it, save each "
            "file inside on its own, and upload them one at a time."
        ),
        "pdf_too_complex": " ".join(
            (_("This PDF has too many parts for us to check safely."), print_to_pdf)
        ),
        "pdf_cannot_clean": " ".join(
            (_("This PDF contains scripts or actions that we could not remove."), print_to_pdf)
        ),
    }
