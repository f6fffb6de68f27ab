"""Where a certificate's PDFs are kept: each language's document written once under a random
name in the app's storage, read back checked against its hash.

Downloads serve the stored file and never render it again, so the hash on the public
verification page always matches the file the town was given.
"""

from __future__ import annotations

import hashlib
import secrets

from sct_forms.models.certificates import CertificateDocument
from sct_forms.storage import PendingWrites, current_storage

__all__ = ["AREA", "is_certificate_name", "read_stored_pdf", "write_pending"]

AREA = "certificates"
_STORAGE_ALPHABET = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def is_certificate_name(storage_name: str) -> bool:
    return len(storage_name) >= 20 and set(storage_name) <= _STORAGE_ALPHABET


def write_pending(pending: PendingWrites, data: bytes) -> str:
    """Write the bytes pending under a new random name, which is returned.

    The file takes its name only after the certificate's row is committed.
    """
    name = secrets.token_urlsafe(24)
    pending.write(AREA, name, data)
    return name


def read_stored_pdf(document: CertificateDocument) -> bytes:
    """The stored bytes, checked against the SHA-256 on record (ValueError if they differ).

    Raises StoredFileMissing (an OSError) when the file is gone.
    """
    if not is_certificate_name(document.storage_name):
        raise ValueError("not a certificate storage name")
    data = current_storage().read(AREA, document.storage_name)
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise ValueError(
            f"stored {document.language} file of certificate {document.certificate_id} "
            "does not match"
        )
    return data
