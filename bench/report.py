"""Figures, their targets, and the two ways they are printed: a table, or JSON lines."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

NO_TARGET = "—"
JSON_DECIMALS = 4
# Written right after the number: 8.3%, 1.17×.
_UNITS_WITHOUT_SPACE = ("%", "×")


@dataclass(frozen=True)
class Figure:
    """One measured figure: what it is, its value, the target and whether the value meets it.

    ``value`` is None when the figure could not be measured (``note`` says why); ``met`` is
    None when there is no target, or no value to judge.
    """

    group: str
    name: str
    label: str
    value: float | int | None
    unit: str
    target: str = NO_TARGET
    met: bool | None = None
    note: str = ""

    def as_json(self) -> str:
        fields = asdict(self)
        if isinstance(self.value, float):
            fields["value"] = round(self.value, JSON_DECIMALS)
        return json.dumps(fields, ensure_ascii=False)


def at_most(
    group: str, name: str, label: str, value: float | None, unit: str, limit: float, note: str = ""
) -> Figure:
    """A figure that should not exceed ``limit``."""
    met = None if value is None else value <= limit
    target = f"≤ {format_value(limit, unit)}"
    return Figure(group, name, label, value, unit, target, met, note)


def at_least(
    group: str, name: str, label: str, value: float | None, unit: str, limit: float, note: str = ""
) -> Figure:
    """A figure that should reach ``limit``."""
    met = None if value is None else value >= limit
    target = f"≥ {format_value(limit, unit)}"
    return Figure(group, name, label, value, unit, target, met, note)


def none_allowed(
    group: str, name: str, label: str, value: int | None, unit: str, note: str = ""
) -> Figure:
    """A count that should be zero (failures)."""
    met = None if value is None else value == 0
    return Figure(group, name, label, value, unit, "0", met, note)


def reported(
    group: str, name: str, label: str, value: float | None, unit: str, note: str = ""
) -> Figure:
    """A figure with no target: it is shown so that changes can be seen."""
    return Figure(group, name, label, value, unit, NO_TARGET, None, note)


def skipped(group: str, name: str, label: str, unit: str, target: str, why: str) -> Figure:
    """A figure that could not be measured in this run, and why."""
    return Figure(group, name, label, None, unit, target, None, why)


_STARTED = time.monotonic()


def progress(message: str) -> None:
    """A line on standard error saying what the run is doing, with the time since it began."""
    print(f"[{time.monotonic() - _STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


# --- Numbers ------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` (0..1) percentile, interpolating between ranks; None without values."""
    if not values:
        return None
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be between 0 and 1")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    below = math.floor(position)
    above = math.ceil(position)
    if below == above:
        return ordered[below]
    weight = position - below
    return ordered[below] * (1 - weight) + ordered[above] * weight


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 0.5)


def format_value(value: float | int | None, unit: str) -> str:
    """A value with its unit, to three significant digits (whole numbers as they are)."""
    if value is None:
        return NO_TARGET
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        text = f"{value:,}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    elif abs(value) >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    if not unit:
        return text
    if unit in _UNITS_WITHOUT_SPACE:
        return f"{text}{unit}"
    return f"{text} {unit}"


def _met_word(met: bool | None) -> str:
    if met is None:
        return NO_TARGET
    return "yes" if met else "NO"


# --- Printing -----------------------------------------------------------------------------------

TABLE_HEADINGS = ("Figure", "What", "Value", "Target", "Met")


def table_rows(figures: Iterable[Figure]) -> list[tuple[str, ...]]:
    return [
        (f.name, f.label, format_value(f.value, f.unit), f.target, _met_word(f.met))
        for f in figures
    ]


def table(figures: Sequence[Figure]) -> str:
    """A Markdown table of the figures (readable as it is), then their notes."""
    rows = [TABLE_HEADINGS, *table_rows(figures)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(TABLE_HEADINGS))]
    numeric = {2, 3}  # values and targets line up on the right

    def line(row: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(width) if index in numeric else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "| " + " | ".join(cells) + " |"

    rule = (
        "|"
        + "|".join(
            "-" * (width + 1) + ":" if index in numeric else "-" * (width + 2)
            for index, width in enumerate(widths)
        )
        + "|"
    )
    lines = [line(rows[0]), rule, *(line(row) for row in rows[1:])]
    notes = [f"- {f.name}: {f.note}" for f in figures if f.note]
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines)


def json_lines(figures: Iterable[Figure]) -> str:
    return "\n".join(figure.as_json() for figure in figures)


def summary(figures: Sequence[Figure]) -> str:
    """How many targets are met, missed, and how many figures have none."""
    met = sum(1 for f in figures if f.met is True)
    missed = [f.name for f in figures if f.met is False]
    unjudged = sum(1 for f in figures if f.met is None)
    text = f"{met} targets met, {len(missed)} missed, {unjudged} figures without a verdict"
    if missed:
        text += " (missed: " + ", ".join(missed) + ")"
    return text
