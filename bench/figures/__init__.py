"""The groups of figures, in the order a full run measures and prints them."""

from __future__ import annotations

from collections.abc import Callable

from bench.figures import autosave, packet, queue, scaling, sql, upload
from bench.options import Options
from bench.report import Figure

GROUPS: dict[str, Callable[[Options], list[Figure]]] = {
    "packet": packet.run,
    "scaling": scaling.run,
    "autosave": autosave.run,
    "upload": upload.run,
    "sql": sql.run,
    "queue": queue.run,
}
