"""Where a certificate's PDFs are kept: each language's document written once under a random
name, read back checked against its hash.

Downloads serve the stored file and never render it again, so the hash on the public
verification page always matches the file the town was given.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from flask import current_app

from sct_forms.files import PendingWrites
from sct_forms.models.certificates import CertificateDocument

__all__ = ["certificate_path", "certificate_root", "read_stored_pdf", "write_pending"]

_STORAGE_ALPHABET = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def certificate_root() -> Path:
    return Path(current_app.instance_path) / "certificates"


def certificate_path(storage_name: str) -> Path:
    """The file behind a storage name; refuses anything that is not one of our names."""
    if len(storage_name) < 20 or not set(storage_name) <= _STORAGE_ALPHABET:
        raise ValueError("not a certificate storage name")
    return certificate_root() / storage_name


def write_pending(pending: PendingWrites, data: bytes) -> str:
    """Write the bytes under a pending name for a new random name, which is returned.

    The file takes its name only after the certificate's row is committed (sct_forms.files).
    """
    name = secrets.token_urlsafe(24)
    pending.write(certificate_path(name), data)
    return name


def read_stored_pdf(document: CertificateDocument) -> bytes:
    """The stored bytes, checked against the SHA-256 on record (ValueError if they differ)."""
    data = certificate_path(document.storage_name).read_bytes()
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise ValueError(
            f"stored {document.language} file of certificate {document.certificate_id} "
            "does not match"
        )
    return data
