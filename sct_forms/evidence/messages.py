"""Plain-language messages for refused uploads."""

from __future__ import annotations

from flask import current_app

from sct_forms.i18n import gettext as _


def refused_message(refused) -> str:  # noqa: ANN001
    code, params = refused.code, refused.params
    if code == "too_large":
        limit = current_app.config["UPLOAD_MAX_BYTES"] // (1024 * 1024)
        return _("The file is larger than %(size)s MB. Make it smaller and try again.", size=limit)
    if code == "type_mismatch":
        return _(
            "The file's name says .%(claimed)s but it is really a %(actual)s file. "
            "Check that you chose the right file, or rename it.",
            claimed=params.get("claimed", ""),
            actual=params.get("actual", ""),
        )
    if code == "image_too_large":
        return _(
            "The image has too many pixels. Resize it to under %(max_mp)s megapixels "
            "and try again.",
            max_mp=params.get("max_mp", 40),
        )
    messages = {
        "no_file": _("Choose a file to upload."),
        "no_title": _("Give the file a short title, like “Flyer in Spanish”."),
        "no_alt_text": _("Describe what the image shows, for people who cannot see it."),
        "no_consent": _(
            "Confirm that people who can be recognised in the image agreed to its use."
        ),
        "bad_filename": _(
            "The file's name contains folder names. Rename the file and upload it again."
        ),
        "empty": _("The file is empty. Choose another file."),
        "unknown_type": _(
            "This kind of file cannot be uploaded. Use PDF, JPEG, PNG, WebP, HEIC, "
            "Word (.docx), Excel (.xlsx), CSV or plain text."
        ),
        "macro_enabled": _(
            "Files with macros cannot be uploaded. Save it as a normal .docx or .xlsx file, "
            "or as PDF."
        ),
        "active_content": _(
            "Web pages, SVG and XML files cannot be uploaded. Save it as PDF or as an image."
        ),
        "image_broken": _(
            "The image could not be read. It may be damaged. Try exporting it again."
        ),
        "document_broken": _(
            "The document could not be read. It may be damaged or password-protected. "
            "Save a copy without a password and try again."
        ),
        "not_utf8_text": _(
            "The text file uses an unusual encoding. Save it as UTF-8 and try again."
        ),
    }
    return messages.get(code, _("The file could not be uploaded."))
