"""Evidence files on disk: under instance/evidence/, random names, placed after their commit."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app

from sct_forms.files import PendingWrites, write_atomically

_NAME_ALPHABET = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def evidence_root() -> Path:
    return Path(current_app.instance_path) / "evidence"


def is_storage_name(name: str) -> bool:
    return len(name) >= 20 and set(name) <= _NAME_ALPHABET


def path_for(storage_name: str) -> Path:
    """The file behind a storage name; refuses anything that is not one of our names."""
    if not is_storage_name(storage_name):
        raise ValueError("not a storage name")
    return evidence_root() / storage_name[:2] / storage_name


def write_pending(pending: PendingWrites, data: bytes) -> str:
    """Write bytes under a pending name for a new random name, and return the name.

    The file reaches its name only through ``pending.place()``, after the row is committed.
    """
    name = secrets.token_urlsafe(32)
    pending.write(path_for(name), data)
    return name


def store(data: bytes) -> str:
    """Write bytes straight under a new random name (test fixtures, restores) and return it."""
    name = secrets.token_urlsafe(32)
    write_atomically(path_for(name), data)
    return name


def remove(storage_name: str | None) -> None:
    if storage_name:
        path_for(storage_name).unlink(missing_ok=True)
