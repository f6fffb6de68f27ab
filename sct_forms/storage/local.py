"""Stored files in a folder: ``<root>/<area>/<name>``, evidence spread over sub-folders.

This is the layout the instance folder already has, so the same files are found whichever way
they are reached. Writes go through :mod:`sct_forms.files`: pending files carry the writer's
name as there, so the file check recognises what a crashed writer left.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from sct_forms.files import is_unfinished, move_into_place, pending_path, write_atomically
from sct_forms.storage.base import StoredFileMissing, check, check_area

# Evidence is kept in sub-folders named by the first two characters of the name, so that no
# one folder holds every upload.
_SPREAD_AREAS = frozenset({"evidence"})


class LocalStorage:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def path(self, area: str, name: str) -> Path:
        """Where the file ``name`` of ``area`` lives (checked)."""
        check(area, name)
        if area in _SPREAD_AREAS:
            return self.root / area / name[:2] / name
        return self.root / area / name

    def put(self, area: str, name: str, data: bytes) -> None:
        write_atomically(self.path(area, name), data)

    def open(self, area: str, name: str) -> BinaryIO:
        try:
            return open(self.path(area, name), "rb")  # the caller closes it
        except FileNotFoundError:
            raise StoredFileMissing(area, name) from None

    def read(self, area: str, name: str) -> bytes:
        with self.open(area, name) as handle:
            return handle.read()

    def exists(self, area: str, name: str) -> bool:
        return self.path(area, name).is_file()

    def size(self, area: str, name: str) -> int:
        try:
            return self.path(area, name).stat().st_size
        except FileNotFoundError:
            raise StoredFileMissing(area, name) from None

    def delete(self, area: str, name: str) -> None:
        self.path(area, name).unlink(missing_ok=True)

    def list(self, area: str) -> list[str]:
        check_area(area)
        folder = self.root / area
        if not folder.is_dir():
            return []
        found = folder.rglob("*") if area in _SPREAD_AREAS else folder.iterdir()
        return sorted(path.name for path in found if path.is_file() and not is_unfinished(path))

    def put_pending(self, area: str, name: str, data: bytes) -> None:
        target = self.path(area, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(pending_path(target), "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def place(self, area: str, name: str) -> None:
        target = self.path(area, name)
        try:
            move_into_place(pending_path(target), target)
        except FileNotFoundError:
            raise StoredFileMissing(area, name) from None

    def discard(self, area: str, name: str) -> None:
        pending_path(self.path(area, name)).unlink(missing_ok=True)
