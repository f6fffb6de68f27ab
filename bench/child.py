"""``python -m bench.child TOWN_ID CYCLE_ID``: build a town packet in a fresh process.

Run by the packet figures with an instance's environment; prints one JSON line: the RSS
before the build (the app loaded) and the process's peak RSS, in MB. The peak is the kernel's
high-water mark of this program (VmHWM): ``getrusage``'s maximum would include the parent's
memory at the fork that started this process.
"""

from __future__ import annotations

import json
import resource
import sys

from bench.figures.packet import town_packet
from sct_forms import create_app
from sct_forms.documents import packet_pdf

KIB_PER_MB = 1024  # ru_maxrss and /proc's VmRSS count kibibytes on Linux


def _status_mb(key: str) -> float:
    """A memory line of /proc/self/status in MB; getrusage's maximum where there is none."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{key}:"):
                    return int(line.split()[1]) / KIB_PER_MB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB_PER_MB


def resident_mb() -> float:
    return _status_mb("VmRSS")


def peak_resident_mb() -> float:
    return _status_mb("VmHWM")


def main(arguments: list[str]) -> int:
    town_id, cycle_id = (int(value) for value in arguments)
    app = create_app()
    with app.app_context():
        packet = town_packet(town_id, cycle_id)
        baseline = resident_mb()
        pdf = packet_pdf.build_pdf(packet)
    peak = peak_resident_mb()
    print(json.dumps({"baseline_mb": baseline, "peak_mb": peak, "bytes": len(pdf)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
