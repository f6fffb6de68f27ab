"""Writing files under instance/ so that a reader never sees half of one, and a crash leaves
nothing that a recovery step cannot finish or remove.

Records (evidence, certificates) are written under a *pending* name beside their final name,
flushed to disk, and moved into place only after their database row is committed
(:class:`sct_forms.storage.PendingWrites`, through the local storage). Cache files are written
to a ``.part`` file and renamed at once (:func:`write_atomically`). Both temporary names carry
the writer: host, process id and the process's start time, so a recovery step can tell a
writer that died from one still at work.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

PENDING_SUFFIX = ".pending"
PART_SUFFIX = ".part"

_HOST_UNSAFE = re.compile(r"[^A-Za-z0-9-]")
# ".<final name>.<host>.<pid>-<start>[.<thread>].(pending|part)"; the final name may hold dots.
_LEFTOVER = re.compile(
    r"^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)-(?P<started>\d+)"
    r"(?:\.(?P<thread>\d+))?\.(?P<kind>pending|part)$"
)
# Before writers carried their host: ".<final name>.<pid>.<thread>.part".
_OLD_PART = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.(?P<thread>\d+)\.part$")


# --- Who writes -------------------------------------------------------------------------------


def host_name() -> str:
    """This machine's name, reduced to letters, digits and hyphens so it fits in a file name."""
    return _HOST_UNSAFE.sub("-", socket.gethostname()) or "localhost"


def process_start_time(pid: int) -> int:
    """When the process started (clock ticks after boot, from /proc), or 0 if unknown.

    With the pid it tells a process apart from a later one that was given the same pid.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    # The command name (field 2) may hold spaces; fields after it are plain numbers.
    fields = stat.rsplit(")", 1)[-1].split()
    try:
        return int(fields[19])  # field 22, starttime
    except (IndexError, ValueError):
        return 0


@dataclass(frozen=True)
class Writer:
    """A process that writes files: its host, pid and start time."""

    host: str
    pid: int
    started: int

    @property
    def tag(self) -> str:
        return f"{self.host}.{self.pid}-{self.started}"

    @property
    def on_this_host(self) -> bool:
        return self.host == host_name()

    def is_alive(self) -> bool:
        """True unless this writer is known to be gone (a writer on another host counts as alive).

        A pid that now belongs to a process started at another time is a different process.
        """
        if not self.on_this_host:
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # someone else's live process
        started = process_start_time(self.pid)
        return not (self.started and started and started != self.started)


def this_writer() -> Writer:
    pid = os.getpid()
    return Writer(host_name(), pid, process_start_time(pid))


# --- Names of unfinished files ----------------------------------------------------------------


@dataclass(frozen=True)
class Leftover:
    """A pending or ``.part`` file: what it was written for, and by whom.

    ``writer`` is None for ``.part`` files of older versions, which did not record the host.
    """

    path: Path
    final_name: str
    kind: str  # "pending" or "part"
    writer: Writer | None

    @property
    def target(self) -> Path:
        return self.path.with_name(self.final_name)


def pending_path(target: Path, writer: Writer | None = None) -> Path:
    writer = writer or this_writer()
    return target.with_name(f".{target.name}.{writer.tag}{PENDING_SUFFIX}")


def part_path(target: Path, writer: Writer | None = None) -> Path:
    writer = writer or this_writer()
    return target.with_name(f".{target.name}.{writer.tag}.{threading.get_ident()}{PART_SUFFIX}")


def is_unfinished(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith((PENDING_SUFFIX, PART_SUFFIX))


def parse_leftover(path: Path) -> Leftover | None:
    """The :class:`Leftover` a file name describes, or None if it is not an unfinished file."""
    match = _LEFTOVER.match(path.name)
    if match:
        writer = Writer(match["host"], int(match["pid"]), int(match["started"]))
        return Leftover(path, match["name"], match["kind"], writer)
    match = _OLD_PART.match(path.name)
    if match:
        return Leftover(path, match["name"], "part", None)
    return None


# --- Writing ----------------------------------------------------------------------------------


def _write_and_flush(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _flush_folder(folder: Path) -> None:
    """Make a rename or removal in ``folder`` survive a power cut."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass  # some file systems cannot flush a folder; the rename is still atomic
    finally:
        os.close(handle)


def write_atomically(target: Path, data: bytes) -> None:
    """Write to a ``.part`` file beside ``target``, flush it to disk, then rename it into place.

    For files that need no database row (the packet cache, restored backups). The temporary name
    carries the writer and thread, so concurrent writers never share one.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = part_path(target)
    try:
        _write_and_flush(temporary, data)
        os.replace(temporary, target)
        _flush_folder(target.parent)
    finally:
        temporary.unlink(missing_ok=True)


def write_pending(target: Path, data: bytes) -> None:
    """Write ``data`` flushed to disk under this writer's pending name beside ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_and_flush(pending_path(target), data)


def move_into_place(pending: Path, target: Path) -> None:
    """Rename a pending file to its final name (its row is committed)."""
    os.replace(pending, target)
    _flush_folder(target.parent)
