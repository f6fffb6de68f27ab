"""Stored files in a folder: ``<root>/<area>/<name>``, evidence spread over sub-folders.

This is the layout the instance folder already has, so the same files are found whichever way
they are reached. Writes go through :mod:`sct_forms.files`: pending files carry the writer's
name as there, so the file check recognises what a crashed writer left.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from sct_forms import files
from sct_forms.files import (
    is_unfinished,
    move_into_place,
    parse_leftover,
    pending_path,
    write_atomically,
)
from sct_forms.storage.base import (
    StorageUnavailable,
    StoredEntry,
    StoredFileMissing,
    Unfinished,
    check,
    check_area,
)

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
        target = self.path(area, name)
        try:
            write_atomically(target, data)
        except OSError as error:
            raise StorageUnavailable(f"could not write to {area}: {error.strerror}") from error

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

    def _files(self, area: str) -> list[Path]:
        """Every file of the area's folder, finished or not."""
        check_area(area)
        folder = self.root / area
        found = []
        for parent, _subfolders, names in os.walk(folder):
            found += [Path(parent) / name for name in names]
        return found

    def _placed(self, area: str) -> list[Path]:
        """The area's placed files: at the place their name gives (not a stray or dotted file)."""
        placed = []
        for path in self._files(area):
            if is_unfinished(path):
                continue
            try:
                if self.path(area, path.name) == path:
                    placed.append(path)
            except ValueError:
                continue
        return placed

    def list(self, area: str) -> list[str]:
        return sorted(path.name for path in self._placed(area))

    def entries(self, area: str, prefix: str = "") -> list[StoredEntry]:
        found = []
        for path in self._placed(area):
            if not path.name.startswith(prefix):
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # removed while listing
            found.append(StoredEntry(path.name, stat.st_size, stat.st_mtime))
        return sorted(found, key=lambda entry: entry.name)

    def where(self, area: str, name: str) -> str:
        return self.path(area, name).relative_to(self.root).as_posix()

    def put_pending(self, area: str, name: str, data: bytes) -> None:
        target = self.path(area, name)
        try:
            files.write_pending(target, data)
        except OSError as error:
            raise StorageUnavailable(f"could not write to {area}: {error.strerror}") from error

    def place(self, area: str, name: str) -> None:
        target = self.path(area, name)
        try:
            move_into_place(pending_path(target), target)
        except FileNotFoundError:
            raise StoredFileMissing(area, name) from None

    def discard(self, area: str, name: str) -> None:
        pending_path(self.path(area, name)).unlink(missing_ok=True)

    def unfinished(self, area: str) -> list[Unfinished]:
        found = []
        for path in self._files(area):
            leftover = parse_leftover(path) if is_unfinished(path) else None
            if leftover is None:
                continue
            try:
                modified = path.stat().st_mtime
            except FileNotFoundError:
                continue  # finished while listing
            found.append(
                Unfinished(
                    area=area,
                    final_name=leftover.final_name,
                    kind=leftover.kind,
                    writer=leftover.writer,
                    modified=modified,
                    where=path.relative_to(self.root).as_posix(),
                    handle=str(path),
                )
            )
        return found

    def has_pending(self, area: str, name: str) -> bool:
        target = self.path(area, name)
        return target.parent.is_dir() and any(target.parent.glob(f".{name}.*.pending"))

    def read_pending(self, area: str, name: str) -> bytes | None:
        target = self.path(area, name)
        found = sorted(target.parent.glob(f".{name}.*.pending")) if target.parent.is_dir() else []
        for pending in found:
            try:
                return pending.read_bytes()
            except FileNotFoundError:
                continue  # placed meanwhile
        return None

    def finish(self, leftover: Unfinished) -> None:
        pending = Path(leftover.handle)
        target = self.path(leftover.area, leftover.final_name)
        if target.exists():
            pending.unlink(missing_ok=True)
            return
        try:
            move_into_place(pending, target)
        except FileNotFoundError:
            pass  # another process finished it first

    def remove_unfinished(self, leftover: Unfinished) -> None:
        Path(leftover.handle).unlink(missing_ok=True)
