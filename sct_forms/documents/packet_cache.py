"""Built packets in the app's storage, and building them on the job queue.

:func:`open_cached_pdf` keeps packets in the storage's ``packets`` area by key;
:func:`queue_build` queues a build for the progress page. Marks in the queue's storage keep
one key from being queued twice, or built twice at once (across app servers and workers too);
a failed build leaves a ``.failed`` file that the progress page reads.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from flask import current_app

from sct_forms import jobs
from sct_forms.documents.packet_pdf import build_pdf
from sct_forms.documents.packets import Packet, toolkit_packet, town_packet
from sct_forms.extensions import db
from sct_forms.files import Writer, this_writer
from sct_forms.models import Cycle, Municipality, Toolkit
from sct_forms.storage import StoredFileMissing, current_storage

AREA = "packets"
#: A build mark older than this is taken to belong to a process that died (killed, restarted).
BUILD_TIMEOUT_SECONDS = 15 * 60
#: Packets kept per toolkit (or town and cycle): the most recently built; older ones are deleted
#: after a new build.
KEEP_PER_PACKET = 4


# --- The cache --------------------------------------------------------------------------------


def cache_name(packet: Packet) -> str:
    return f"{packet.cache_prefix}-{packet.key}.pdf"


def _failed_name(packet: Packet) -> str:
    return f"{packet.cache_prefix}-{packet.key}.failed"


def _prune(packet: Packet) -> None:
    """Keep the few most recently built packets of one toolkit (or town and cycle)."""
    storage = current_storage()
    keep = cache_name(packet)
    found = storage.entries(AREA, prefix=f"{packet.cache_prefix}-")
    # The packet just stored is kept whatever its time says: S3 gives times to the second, so
    # packets built within one second would otherwise tie with it.
    older = sorted(
        (entry for entry in found if entry.name.endswith(".pdf") and entry.name != keep),
        key=lambda entry: entry.modified,
        reverse=True,
    )
    for old in older[KEEP_PER_PACKET - 1 :]:
        storage.delete(AREA, old.name)
    for entry in found:
        failed_long_ago = time.time() - entry.modified > BUILD_TIMEOUT_SECONDS
        if entry.name.endswith(".failed") and failed_long_ago:
            storage.delete(AREA, entry.name)


def is_cached(packet: Packet) -> bool:
    """Whether the PDF of exactly this content is stored."""
    return current_storage().exists(AREA, cache_name(packet))


def store(packet: Packet, data: bytes) -> None:
    storage = current_storage()
    storage.put(AREA, cache_name(packet), data)
    storage.delete(AREA, _failed_name(packet))
    _prune(packet)


def _open(packet: Packet) -> BinaryIO | None:
    try:
        return current_storage().open(AREA, cache_name(packet))
    except StoredFileMissing:
        return None


def open_cached_pdf(packet: Packet) -> BinaryIO:
    """The packet's PDF as a stream, built now if it is not stored (waits for a running build).

    A build that is only queued is not waited for (the worker may be busy, or not running);
    when the worker comes to it, the packet is stored and its task does nothing.
    """
    stream = _open(packet)
    if stream is not None:
        return stream
    while not _take(_building(packet.key)):
        # Another process builds it: wait for its file (or for its mark to go stale).
        time.sleep(0.25)
        stream = _open(packet)
        if stream is not None:
            return stream
    try:
        stream = _open(packet)
        if stream is not None:
            return stream
        data = build_pdf(packet)
        store(packet, data)
        # Pruned by another build a moment after it was stored: serve what was just built.
        return _open(packet) or io.BytesIO(data)
    finally:
        _release(_building(packet.key))


# --- Building on the job queue ---------------------------------------------------------------


@dataclass(frozen=True)
class PacketRequest:
    """How to make a packet again from ids, in a worker with no request behind it."""

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


# Two marks per key in the queue's storage, each taken atomically (put_if_empty) with the time
# it was taken and the process that took it (a ``files.Writer``: host, pid and start time, as for
# unfinished files): "queued" from queue_build until its task ends, so
# polling never queues a key twice; "building" while a worker or a download builds it, so no
# key is built twice at once. Huey's lock_task would do for the second, but its locks never
# expire on SQLite storage, and a worker killed mid-build would hold one for good. A mark is
# taken to be left by a dead process when it is older than BUILD_TIMEOUT_SECONDS, or at once
# when the process that took it ran on this host and is gone (a worker killed and restarted on
# the same server, the usual case); a build left so also frees its "queued" mark, since its
# task is gone with the worker.


def _queued(key: str) -> str:
    return f"packet-queued.{key}"


def _building(key: str) -> str:
    return f"packet-building.{key}"


def _mark_value() -> dict:
    writer = this_writer()
    return {"since": time.time(), "host": writer.host, "pid": writer.pid, "started": writer.started}


def _left_by_the_dead(value: object) -> bool:
    """Whether a mark's value says its process died: too old, or gone from this host."""
    if not isinstance(value, dict):  # a bare time, as marks were written before
        return not isinstance(value, int | float) or time.time() - value >= BUILD_TIMEOUT_SECONDS
    if time.time() - value.get("since", 0) >= BUILD_TIMEOUT_SECONDS:
        return True
    writer = Writer(str(value.get("host")), int(value.get("pid", 0)), int(value.get("started", 0)))
    return not writer.is_alive()


def _is_held(mark: str) -> bool:
    value = jobs.queue.get(mark, peek=True)
    return value is not None and not _left_by_the_dead(value)


def _take(mark: str) -> bool:
    """Take ``mark`` unless a live process holds it; True if taken."""
    if jobs.queue.put_if_empty(mark, _mark_value()):
        return True
    if _is_held(mark):
        return False
    # Two processes taking over one dead mark at the same moment may both win; only a dead
    # process's mark allows that, and the packet file is written atomically either way.
    jobs.queue.delete(mark)
    return bool(jobs.queue.put_if_empty(mark, _mark_value()))


def _release(mark: str) -> None:
    jobs.queue.delete(mark)


def _forget_a_dead_build(key: str) -> None:
    """A build whose process died leaves its marks behind: both go, so the page queues anew."""
    value = jobs.queue.get(_building(key), peek=True)
    if value is not None and _left_by_the_dead(value):
        _release(_building(key))
        _release(_queued(key))


def build_state(packet: Packet) -> str:
    """Where the packet is: "ready", "building" (queued or being built), "failed" or "missing"."""
    if is_cached(packet):
        return "ready"
    _forget_a_dead_build(packet.key)
    if _is_held(_queued(packet.key)) or _is_held(_building(packet.key)):
        return "building"
    if current_storage().exists(AREA, _failed_name(packet)):
        return "failed"
    return "missing"


def forget_failure(packet: Packet) -> None:
    current_storage().delete(AREA, _failed_name(packet))


def queue_build(packet: Packet, request: PacketRequest) -> bool:
    """Queue a build unless the packet is cached, under way or failed; True if queued.

    A failed build stays failed (and says so) until :func:`forget_failure`: a poll every two
    seconds must not queue again a build that breaks every time.
    """
    if build_state(packet) != "missing" or not _take(_queued(packet.key)):
        return False
    try:
        build_packet(request, packet.key, _failed_name(packet))
    except BaseException:
        _release(_queued(packet.key))
        raise
    return True


@jobs.task()
def build_packet(request: PacketRequest, key: str, failed_name: str) -> None:
    """Build and cache the packet ``request`` names, unless it changed, is cached or in hand."""
    try:
        if not _take(_building(key)):
            return  # a download is building it now
        try:
            packet = request.load()
            # Edited since the page asked: the next status check queues the new key.
            if packet is not None and packet.key == key and not is_cached(packet):
                store(packet, build_pdf(packet))
        finally:
            _release(_building(key))
    except Exception:
        current_app.logger.exception("Packet build failed (%s %s)", request.kind, request.object_id)
        current_storage().put(AREA, failed_name, datetime.now().isoformat().encode())
    finally:
        _release(_queued(key))


__all__ = [
    "AREA",
    "BUILD_TIMEOUT_SECONDS",
    "KEEP_PER_PACKET",
    "PacketRequest",
    "build_packet",
    "build_state",
    "cache_name",
    "forget_failure",
    "is_cached",
    "open_cached_pdf",
    "queue_build",
    "store",
]
