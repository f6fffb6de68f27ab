"""Built packets on disk, and building them in the background.

:func:`cached_pdf` keeps packets under ``instance/packets/`` by key, written atomically;
:func:`start_background_build` builds one in a thread for the progress page, with a lock file
so one key is never built twice at once (across app servers too).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask import Flask, current_app

from sct_forms.documents.packet_pdf import build_pdf
from sct_forms.documents.packets import Packet, toolkit_packet, town_packet
from sct_forms.extensions import db
from sct_forms.files import write_atomically
from sct_forms.models import Cycle, Municipality, Toolkit

#: A build that holds its lock longer than this is taken to have died with its process.
BUILD_TIMEOUT_SECONDS = 15 * 60
#: Packets kept per toolkit (or town and cycle); older ones are deleted after a new build.
KEEP_PER_PACKET = 4


# --- The cache --------------------------------------------------------------------------------


def cache_dir() -> Path:
    return Path(current_app.instance_path) / "packets"


def cache_path(packet: Packet) -> Path:
    return cache_dir() / f"{packet.cache_prefix}-{packet.key}.pdf"


def _lock_path(packet: Packet) -> Path:
    return cache_path(packet).with_suffix(".lock")


def _failed_path(packet: Packet) -> Path:
    return cache_path(packet).with_suffix(".failed")


def _prune(packet: Packet) -> None:
    """Keep the few most recently used packets of one toolkit (or town and cycle)."""
    keep = cache_path(packet)
    found = sorted(
        cache_dir().glob(f"{packet.cache_prefix}-*.pdf"),
        key=lambda p: p.stat().st_mtime if p.exists() else 0,
        reverse=True,
    )
    for old in found[KEEP_PER_PACKET:]:
        if old != keep:
            old.unlink(missing_ok=True)
    for failed in cache_dir().glob(f"{packet.cache_prefix}-*.failed"):
        if time.time() - failed.stat().st_mtime > BUILD_TIMEOUT_SECONDS:
            failed.unlink(missing_ok=True)


def cached(packet: Packet) -> Path | None:
    """The cached PDF of exactly this content, if there is one (marked as just used)."""
    path = cache_path(packet)
    try:
        os.utime(path)
    except FileNotFoundError:
        return None
    return path


def store(packet: Packet, data: bytes) -> Path:
    path = cache_path(packet)
    write_atomically(path, data)
    _failed_path(packet).unlink(missing_ok=True)
    _prune(packet)
    return path


def cached_pdf(packet: Packet) -> Path:
    """The packet's PDF on disk, built now if it is not cached (waits for a running build)."""
    path = cached(packet)
    if path is not None:
        return path
    deadline = time.monotonic() + BUILD_TIMEOUT_SECONDS
    while _lock_is_fresh(_lock_path(packet)) and time.monotonic() < deadline:
        time.sleep(0.25)
        path = cached(packet)
        if path is not None:
            return path
    return store(packet, build_pdf(packet))


# --- Building in the background ---------------------------------------------------------------


@dataclass(frozen=True)
class PacketRequest:
    """How to make a packet again from ids, in a thread with no request behind it."""

    kind: str  # "toolkit" or "town"
    object_id: int  # the toolkit's id, or the town's
    language: str
    cycle_id: int | None = None
    history: bool = False
    for_town: bool = True

    def load(self) -> Packet | None:
        if self.kind == "toolkit":
            toolkit = db.session.get(Toolkit, self.object_id)
            return toolkit_packet(toolkit, self.language) if toolkit else None
        town = db.session.get(Municipality, self.object_id)
        cycle = db.session.get(Cycle, self.cycle_id) if self.cycle_id else None
        if town is None or cycle is None:
            return None
        return town_packet(town, cycle, self.language, history=self.history, for_town=self.for_town)


@dataclass
class _Builds:
    """Threads this process started, so tests (and shutdown) can wait for them."""

    threads: dict[str, threading.Thread] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_builds = _Builds()


def _lock_is_fresh(lock: Path) -> bool:
    """A build holds this lock: it is recent, and its process (on this host) is alive."""
    try:
        if time.time() - lock.stat().st_mtime >= BUILD_TIMEOUT_SECONDS:
            return False
        pid, host = lock.read_text().split()
        pid_number = int(pid)
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True  # just created and not yet written: its builder is alive
    if host != socket.gethostname():
        return True  # another app server's build: trust the time limit
    try:
        os.kill(pid_number, 0)
    except ProcessLookupError:
        return False  # the worker died mid-build (restarted, killed)
    except PermissionError:
        return True
    return True


def _take_lock(lock: Path) -> bool:
    """Create the lock file unless a live build holds it; a stale one is taken over."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _attempt in range(2):
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            if _lock_is_fresh(lock):
                return False
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(handle, "w") as file:
            file.write(f"{os.getpid()} {socket.gethostname()}\n")
        return True
    return False


def build_state(packet: Packet) -> str:
    """Where the packet is: "ready", "building", "failed" or "missing"."""
    if cache_path(packet).is_file():
        return "ready"
    if _lock_is_fresh(_lock_path(packet)):
        return "building"
    if _failed_path(packet).is_file():
        return "failed"
    return "missing"


def forget_failure(packet: Packet) -> None:
    _failed_path(packet).unlink(missing_ok=True)


def start_background_build(packet: Packet, request: PacketRequest) -> bool:
    """Build the packet in a thread unless it is cached, being built or failed; True if started.

    A failed build stays failed (and says so) until :func:`forget_failure`: a poll every two
    seconds must not restart a build that breaks every time.
    """
    if build_state(packet) != "missing":
        return False
    lock = _lock_path(packet)
    if not _take_lock(lock):
        return False
    app = current_app._get_current_object()  # noqa: SLF001 - the thread needs the real app
    thread = threading.Thread(
        target=_build_in_thread,
        args=(app, request, packet.key, lock, _failed_path(packet)),
        name=f"packet-{packet.key[:12]}",
        daemon=True,
    )
    with _builds.lock:
        _builds.threads[packet.key] = thread
    thread.start()
    return True


def _build_in_thread(
    app: Flask, request: PacketRequest, key: str, lock: Path, failed: Path
) -> None:
    try:
        with app.app_context():
            try:
                packet = request.load()
                # Edited since the page asked: the next status check starts the new key.
                if packet is not None and packet.key == key and cached(packet) is None:
                    store(packet, build_pdf(packet))
            except Exception:
                app.logger.exception("Packet build failed (%s %s)", request.kind, request.object_id)
                failed.parent.mkdir(parents=True, exist_ok=True)
                failed.write_text(datetime.now().isoformat())
            finally:
                db.session.remove()
    finally:
        lock.unlink(missing_ok=True)
        with _builds.lock:
            _builds.threads.pop(key, None)


def wait_for_builds(timeout: float = 120) -> None:
    """Wait for every background build of this process (tests, orderly shutdown)."""
    deadline = time.monotonic() + timeout
    while True:
        with _builds.lock:
            threads = list(_builds.threads.values())
        if not threads:
            return
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if time.monotonic() >= deadline:
            return


__all__ = [
    "BUILD_TIMEOUT_SECONDS",
    "KEEP_PER_PACKET",
    "PacketRequest",
    "build_state",
    "cache_dir",
    "cache_path",
    "cached",
    "cached_pdf",
    "forget_failure",
    "start_background_build",
    "store",
    "wait_for_builds",
]
