"""Evidence files on disk: under instance/evidence/, random names, written atomically."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app

from sct_forms.files import write_atomically

_NAME_ALPHABET = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def evidence_root() -> Path:
    return Path(current_app.instance_path) / "evidence"


def path_for(storage_name: str) -> Path:
    """The file behind a storage name; refuses anything that is not one of our names."""
    if len(storage_name) < 20 or not set(storage_name) <= _NAME_ALPHABET:
        raise ValueError("not a storage name")
    return evidence_root() / storage_name[:2] / storage_name


def store(data: bytes) -> str:
    """Write bytes under a new random name and return the name."""
    name = secrets.token_urlsafe(32)
    write_atomically(path_for(name), data)
    return name


def remove(storage_name: str | None) -> None:
    if storage_name:
        path_for(storage_name).unlink(missing_ok=True)
