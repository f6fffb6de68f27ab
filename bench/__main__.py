"""``python -m bench [--json] [--only GROUP]``: measure, then print each figure with its target.

Progress goes to standard error; the table (or, with ``--json``, one JSON object per figure
and line) to standard output. A group that fails is reported as a failed figure and the run
goes on; the exit status is 1 if any group failed, whether or not targets were met.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime

from bench.figures import GROUPS
from bench.instance import DEFAULT_POSTGRES_URL, describe_data_root
from bench.options import Options
from bench.report import Figure, json_lines, progress, summary, table


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure sct-forms, then print each figure with its target.",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per figure and line")
    parser.add_argument(
        "--only",
        choices=sorted(GROUPS),
        action="append",
        metavar="GROUP",
        help=f"measure one group (may be repeated): {', '.join(GROUPS)}",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="a PostgreSQL server where bench_* databases may be created "
        "(default: BENCH_POSTGRES_URL or %(default)s)",
    )
    return parser.parse_args(argv)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    return (
        f"{cpu_model()}, {os.cpu_count()} CPUs; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; data in {describe_data_root()}"
    )


def measure(groups: list[str], options: Options) -> tuple[list[Figure], bool]:
    figures: list[Figure] = []
    failed = False
    for group in groups:
        started = time.monotonic()
        progress(f"{group}: started")
        try:
            figures += GROUPS[group](options)
        except Exception as error:  # noqa: BLE001 - one group's failure must not hide the others
            failed = True
            traceback.print_exc(file=sys.stderr)
            figures.append(
                Figure(
                    group,
                    f"{group}.failed",
                    f"{group}: the group failed",
                    None,
                    "",
                    "completes",
                    False,
                    f"{type(error).__name__}: {error}".splitlines()[0][:300],
                )
            )
        progress(f"{group}: done in {time.monotonic() - started:.0f} s")
    return figures, failed


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    groups = [g for g in GROUPS if g in arguments.only] if arguments.only else list(GROUPS)
    started = time.monotonic()
    began_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    progress(f"machine: {machine()}")
    figures, failed = measure(groups, Options(postgres_url=arguments.postgres_url))
    seconds = time.monotonic() - started
    if arguments.json:
        print(json_lines(figures))
    else:
        command = "python -m bench" + "".join(f" --only {g}" for g in arguments.only or [])
        print(f"sct-forms benchmarks, {began_at}: `{command}` took {seconds:.0f} s")
        print(f"Machine: {machine()}")
        print()
        print(table(figures))
        print()
        print(summary(figures))
    progress(f"finished in {seconds:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
