"""Writing files under instance/ so that a reader never sees half of one."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def write_atomically(target: Path, data: bytes) -> None:
    """Write to a temporary file beside ``target``, flush it to disk, then rename it into place.

    The temporary name carries the process and thread, so concurrent writers never share one.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
