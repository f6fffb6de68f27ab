"""What every place that keeps the app's files offers: the :class:`Storage` interface.

Files live in fixed *areas* (evidence with its print copies, packets, certificates) under names
the app makes up itself. A record's file is written *pending* before its database row is
committed and *placed* after the commit, or *discarded* if the commit failed, so a crash leaves
only pending files that the file check can finish or remove, never a half-written file under a
real name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable

from sct_forms.files import Writer

# Print copies are evidence records too: they live beside their originals, in "evidence".
AREAS = frozenset({"evidence", "packets", "certificates"})

# The random names the app makes (token_urlsafe) and the cache's "<prefix>-<key>.pdf". A name
# never starts with a dot: the local folders keep unfinished files under dotted names.
_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$")


class BadStorageName(ValueError):  # noqa: N818 - reads as what happened
    """An area or a name that is not one of the app's own: refused before any file is touched."""


class StorageUnavailable(OSError):  # noqa: N818 - reads as what happened
    """The storage did not answer or refused the app (a bucket down, wrong keys, a full disk).

    Nothing the person sent is at fault: pages say so and keep what was typed.
    """


class StoredFileMissing(FileNotFoundError):  # noqa: N818 - reads as what happened
    """The file asked for is not stored (never written, not yet placed, or deleted)."""

    def __init__(self, area: str, name: str) -> None:
        super().__init__(f"no stored file {name!r} in {area!r}")
        self.area = area
        self.name = name


def check(area: str, name: str) -> None:
    """Refuse an unknown area, or a name that could leave its area (``/``, ``..``)."""
    check_area(area)
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise BadStorageName(f"not a storage name: {name!r}")


def check_area(area: str) -> None:
    if area not in AREAS:
        raise BadStorageName(f"unknown storage area {area!r}")


@dataclass(frozen=True)
class StoredEntry:
    """A placed file: its name, size in bytes and when it was last written (epoch seconds)."""

    name: str
    size: int
    modified: float


@dataclass(frozen=True)
class Unfinished:
    """A file a writer left before placing it: a pending record file or a ``.part`` file.

    ``writer`` is who wrote it when the storage knows (a folder's file names say so); None when
    it does not (S3 objects, older ``.part`` files), and only its age tells whether it is dead.
    ``where`` names it for a person; ``handle`` is what the storage needs to finish or remove it.
    """

    area: str
    final_name: str
    kind: str  # "pending" or "part"
    writer: Writer | None
    modified: float
    where: str
    handle: str


@runtime_checkable
class Storage(Protocol):
    """Where stored files are kept. Every method checks its area and name first."""

    def put(self, area: str, name: str, data: bytes) -> None:
        """Store ``data`` under ``name`` at once; a reader sees the old file or the new, whole."""

    def open(self, area: str, name: str) -> BinaryIO:
        """A readable binary stream of the file, for streaming a download; the caller closes it.

        Raises :class:`StoredFileMissing`.
        """

    def read(self, area: str, name: str) -> bytes:
        """The whole file. Raises :class:`StoredFileMissing`."""

    def exists(self, area: str, name: str) -> bool: ...

    def size(self, area: str, name: str) -> int:
        """The file's length in bytes. Raises :class:`StoredFileMissing`."""

    def delete(self, area: str, name: str) -> None:
        """Remove the file; a file that is not there is not an error."""

    def list(self, area: str) -> list[str]:
        """The names of the placed files of an area, sorted (pending files are not listed)."""

    def entries(self, area: str, prefix: str = "") -> list[StoredEntry]:
        """The placed files of an area whose names start with ``prefix``, with size and time."""

    def where(self, area: str, name: str) -> str:
        """Where the file is, for a person (a path in the folder, a key in the bucket)."""

    def put_pending(self, area: str, name: str, data: bytes) -> None:
        """Store ``data`` where it does not yet count as the file ``name`` (before the commit)."""

    def place(self, area: str, name: str) -> None:
        """Make the pending file the file ``name`` (after the commit).

        Raises :class:`StoredFileMissing` when this writer has no pending file of that name.
        """

    def discard(self, area: str, name: str) -> None:
        """Remove the pending file (the commit failed); nothing pending is not an error."""

    # --- What crashed writers leave (the file check) -------------------------------------

    def unfinished(self, area: str) -> list[Unfinished]:
        """Every pending or ``.part`` file of the area, whoever wrote it."""

    def has_pending(self, area: str, name: str) -> bool:
        """Whether some writer has a pending file for ``name`` now."""

    def read_pending(self, area: str, name: str) -> bytes | None:
        """Some writer's pending file for ``name`` (saved a moment ago, not yet placed), or None."""

    def finish(self, leftover: Unfinished) -> None:
        """Move a dead writer's pending file into place (removed if the file is there already)."""

    def remove_unfinished(self, leftover: Unfinished) -> None:
        """Remove a dead writer's unfinished file; one already gone is not an error."""
