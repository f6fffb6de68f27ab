"""Stored evidence files as downloads, for the evidence pages and for submitted revisions."""

from __future__ import annotations

from flask import current_app

from sct_forms.errors import render_error
from sct_forms.evidence import storage
from sct_forms.i18n import gettext as _
from sct_forms.storage.streaming import stored_file_response


def stored_file_attachment(storage_name: str, mime_type: str, name: str, sha256: str):
    """An evidence file as a download that browsers never open or sniff in place."""
    try:
        stream = storage.open_stored(storage_name)
    except (storage.StoredFileMissing, ValueError):
        # The row outlived its file (a restore without files, a disk fault): say so, never a 500.
        current_app.logger.error("evidence file missing from storage: %s", storage_name)
        return render_error(
            404,
            _(
                "This file is missing from storage. Tell the program: they can restore it "
                "from a backup."
            ),
        )
    response = stored_file_response(stream, mimetype=mime_type, etag=sha256, download_name=name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response
