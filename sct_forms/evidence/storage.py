"""Evidence files and their print copies in the app's storage: random names, placed after their
commit."""

from __future__ import annotations

import secrets
from typing import BinaryIO

from sct_forms.storage import PendingWrites, StoredFileMissing, current_storage

AREA = "evidence"
_NAME_ALPHABET = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def is_storage_name(name: str) -> bool:
    return isinstance(name, str) and len(name) >= 20 and set(name) <= _NAME_ALPHABET


def _checked(storage_name: str) -> str:
    """The name itself; refuses anything that is not one of our names (ValueError)."""
    if not is_storage_name(storage_name):
        raise ValueError("not a storage name")
    return storage_name


def write_pending(pending: PendingWrites, data: bytes) -> str:
    """Write bytes pending under a new random name, and return the name.

    The file reaches its name only through ``pending.place()``, after the row is committed.
    """
    name = secrets.token_urlsafe(32)
    pending.write(AREA, name, data)
    return name


def store(data: bytes) -> str:
    """Write bytes straight under a new random name (test fixtures, restores) and return it."""
    name = secrets.token_urlsafe(32)
    current_storage().put(AREA, name, data)
    return name


def read(storage_name: str) -> bytes:
    """The stored bytes. Raises StoredFileMissing, or ValueError for a name not ours."""
    return current_storage().read(AREA, _checked(storage_name))


def open_stored(storage_name: str) -> BinaryIO:
    """A stream of the stored file for a download; the caller closes it (StoredFileMissing)."""
    return current_storage().open(AREA, _checked(storage_name))


def size(storage_name: str) -> int:
    return current_storage().size(AREA, _checked(storage_name))


def exists(storage_name: str) -> bool:
    """Whether the file is stored; False for a name that is not ours."""
    return is_storage_name(storage_name) and current_storage().exists(AREA, storage_name)


def remove(storage_name: str | None) -> None:
    if storage_name:
        current_storage().delete(AREA, _checked(storage_name))


__all__ = [
    "AREA",
    "StoredFileMissing",
    "exists",
    "is_storage_name",
    "open_stored",
    "read",
    "remove",
    "size",
    "store",
    "write_pending",
]
