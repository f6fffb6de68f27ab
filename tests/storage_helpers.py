"""Looking at stored files from tests, through the app's storage (a folder or S3 alike)."""

from __future__ import annotations

from sct_forms.storage import current_storage


def stored_names(area: str) -> list[str]:
    """The placed files of an area."""
    return current_storage().list(area)


def every_file(area: str) -> list[str]:
    """Placed and unfinished files of an area: what a crash could leave behind."""
    storage = current_storage()
    return storage.list(area) + sorted(left.where for left in storage.unfinished(area))


def read_stored(area: str, name: str) -> bytes:
    return current_storage().read(area, name)


def replace_stored(area: str, name: str, data: bytes) -> None:
    """Change a stored file behind the app's back (a disk fault, a forged file)."""
    current_storage().put(area, name, data)


def delete_stored(area: str, name: str) -> None:
    current_storage().delete(area, name)
