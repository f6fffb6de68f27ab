"""Stored evidence files as downloads, for the evidence pages and for submitted revisions."""

from __future__ import annotations

from flask import current_app, send_file

from sct_forms.errors import render_error
from sct_forms.evidence import storage
from sct_forms.i18n import gettext as _


def stored_file_attachment(storage_name: str, mime_type: str, name: str, sha256: str):
    """An evidence file as a download that browsers never open or sniff in place."""
    path = storage.path_for(storage_name)
    if not path.is_file():
        # The row outlived its file (a restore without files, a disk fault): say so, never a 500.
        current_app.logger.error("evidence file missing from storage: %s", storage_name)
        return render_error(
            404,
            _(
                "This file is missing from storage. Tell the program: they can restore it "
                "from a backup."
            ),
        )
    response = send_file(
        path,
        mimetype=mime_type,
        as_attachment=True,
        download_name=name,
        etag=sha256,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response
