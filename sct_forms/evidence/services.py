"""Adding and removing evidence files of a toolkit step."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app
from sqlalchemy import select

from sct_forms import audit
from sct_forms.evidence import storage
from sct_forms.evidence.inspection import InspectedUpload, UploadRejected, inspect_upload
from sct_forms.extensions import db
from sct_forms.models import Evidence, Revision, Toolkit, User
from sct_forms.storage import PendingWrites, StorageUnavailable


class EvidenceRefused(ValueError):  # noqa: N818 - reads as what happened
    """An upload refused; ``field`` names the form field the message belongs to."""

    def __init__(self, code: str, field: str = "file", **params: Any):
        super().__init__(code)
        self.code, self.field, self.params = code, field, params


def add_evidence(
    toolkit: Toolkit,
    step_key: str,
    *,
    data: bytes,
    filename: str,
    title: str,
    alt_text: str,
    people_consented: bool,
    user: User,
) -> Evidence:
    """Check the file by its content, store it, and record it against the step."""
    title, alt_text = title.strip(), alt_text.strip()
    if not data:
        raise EvidenceRefused("no_file")
    if not title:
        raise EvidenceRefused("no_title", field="title")
    if _names_folders(filename or ""):
        raise EvidenceRefused("bad_filename")
    try:
        upload = inspect_upload(
            data, filename or "", max_bytes=current_app.config["UPLOAD_MAX_BYTES"]
        )
    except UploadRejected as rejected:
        raise EvidenceRefused(rejected.code, **rejected.params) from rejected
    if upload.kind == "image":
        if not alt_text:
            raise EvidenceRefused("no_alt_text", field="alt_text")
        if not people_consented:
            raise EvidenceRefused("no_consent", field="people_consented")
    pending = PendingWrites()
    try:
        evidence = _record_evidence(
            toolkit,
            step_key,
            upload,
            pending,
            user,
            title=title[:200],
            alt_text=alt_text[:500],
            people_consented=people_consented and upload.kind == "image",
        )
        db.session.commit()
    except StorageUnavailable as error:
        db.session.rollback()
        pending.discard()
        current_app.logger.error("Upload not stored: %s", error)
        raise EvidenceRefused("storage_unavailable") from error
    except BaseException:
        db.session.rollback()
        pending.discard()
        raise
    # Only now that the row is committed do the files take their names (sct_forms.storage).
    try:
        pending.place()
    except StorageUnavailable as error:
        # Saved: the pending files are placed by the file check (check-files --repair, or
        # recovery when an app server starts); until then the file is listed but not served.
        current_app.logger.error("Upload saved but not yet placed: %s", error)
    return evidence


def _record_evidence(
    toolkit: Toolkit,
    step_key: str,
    upload: InspectedUpload,
    pending: PendingWrites,
    user: User,
    **described: Any,
) -> Evidence:
    """Write the file (and its print copy) under pending names and add its row and audit event."""
    storage_name = storage.write_pending(pending, upload.data)
    print_name = (
        storage.write_pending(pending, upload.print_rendition) if upload.print_rendition else None
    )
    evidence = Evidence(
        toolkit=toolkit,
        municipality_id=toolkit.municipality_id,
        step_key=step_key,
        kind=upload.kind,
        mime_type=upload.mime_type,
        display_name=upload.display_name,
        size=len(upload.data),
        sha256=hashlib.sha256(upload.data).hexdigest(),
        storage_name=storage_name,
        print_storage_name=print_name,
        width=upload.width,
        height=upload.height,
        uploaded_by_id=user.id,
        **described,
    )
    db.session.add(evidence)
    db.session.flush()
    audit.record_toolkit_event(
        "evidence.added",
        toolkit,
        user,
        step=step_key,
        evidence_id=evidence.id,
        title=evidence.title,
        sha256=evidence.sha256,
        size=evidence.size,
    )
    toolkit.updated_at, toolkit.updated_by_id = evidence.uploaded_at, user.id
    return evidence


def _names_folders(filename: str) -> bool:
    """Browsers send a bare file name; one with folder parts was made up by hand."""
    parts = filename.replace("\\", "/").split("/")
    return len(parts) > 1 or filename.strip() in ("..", ".")


def delete_evidence(evidence: Evidence, user: User) -> None:
    """Delete the row, then (after the commit, never before) its files no revision still needs.

    A crash between the two leaves files no row refers to; recovery removes them.
    """
    toolkit = evidence.toolkit
    audit.record_toolkit_event(
        "evidence.deleted",
        toolkit,
        user,
        step=evidence.step_key,
        evidence_id=evidence.id,
        title=evidence.title,
        sha256=evidence.sha256,
    )
    names = {evidence.storage_name, evidence.print_storage_name}
    db.session.delete(evidence)
    db.session.commit()
    for name in names - _names_in_revisions(toolkit):
        storage.remove(name)


def _names_in_revisions(toolkit: Toolkit) -> set[str]:
    """Files a submitted revision refers to: they stay, so what reviewers judged stays whole."""
    names: set[str] = set()
    for revision in db.session.scalars(select(Revision).where(Revision.toolkit_id == toolkit.id)):
        for item in revision.evidence:
            names.update(n for n in (item["storage_name"], item.get("print_storage_name")) if n)
    return names
