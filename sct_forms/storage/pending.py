"""Record files written before their rows are committed, placed only after the commit."""

from __future__ import annotations

from flask import current_app

from sct_forms.storage.base import Storage, StorageUnavailable
from sct_forms.storage.current import current_storage


class PendingWrites:
    """Files written pending, moved into place only once their rows are committed.

    ``write`` before the commit; then ``place`` after it, or ``discard`` if it failed. A crash in
    between leaves pending files: the file check places those with a committed row and removes
    the rest.
    """

    def __init__(self, storage: Storage | None = None) -> None:
        self._storage = storage or current_storage()
        self._files: list[tuple[str, str]] = []

    def write(self, area: str, name: str, data: bytes) -> None:
        self._files.append((area, name))
        self._storage.put_pending(area, name, data)

    def place(self) -> None:
        for area, name in self._files:
            self._storage.place(area, name)
        self._files.clear()

    def discard(self) -> None:
        """Remove the pending files; one the storage cannot remove now is left to the file
        check (it removes pending files without a row)."""
        for area, name in self._files:
            try:
                self._storage.discard(area, name)
            except StorageUnavailable:
                current_app.logger.warning("Could not remove pending %s file %s", area, name)
        self._files.clear()
