"""What an upload costs: CPU seconds of the app's inspection of a 12-megapixel JPEG and HEIC.

``inspect_upload`` is the whole check of an upload before it is stored: it identifies the
file, decodes and re-encodes the picture without its metadata, and makes its print copy.
"""

from __future__ import annotations

import time

from bench.files import PhotoMaker
from bench.options import Options
from bench.report import Figure, at_most, median, reported
from sct_forms.config import DefaultConfig
from sct_forms.evidence.inspection import inspect_upload

GROUP = "upload"
RUNS = 3
JPEG_TARGET_SECONDS = 0.2


def cpu_seconds(data: bytes, filename: str) -> float:
    """The median CPU time (all threads of this process) of inspecting one upload."""
    times = []
    for _ in range(RUNS):
        started = time.process_time()
        inspect_upload(data, filename, max_bytes=DefaultConfig.UPLOAD_MAX_BYTES)
        times.append(time.process_time() - started)
    return median(times)


def run(_options: Options) -> list[Figure]:
    photos = PhotoMaker()
    jpeg = photos.photo(0)
    heic = photos.heic(0)
    width, height = photos.size
    size = f"{width}×{height}"
    return [
        at_most(
            GROUP,
            "upload.jpeg_cpu",
            f"12 MP JPEG upload ({size}, {len(jpeg) / 1e6:.1f} MB): CPU",
            cpu_seconds(jpeg, "workshop.jpg"),
            "s",
            JPEG_TARGET_SECONDS,
            note=f"median of {RUNS} runs of inspect_upload (decode, re-encode, print copy)",
        ),
        reported(
            GROUP,
            "upload.heic_cpu",
            f"12 MP HEIC upload ({size}, {len(heic) / 1e6:.1f} MB): CPU",
            cpu_seconds(heic, "workshop.heic"),
            "s",
            note="no target set; CPU of all threads (the HEIC decoder may use several)",
        ),
    ]
