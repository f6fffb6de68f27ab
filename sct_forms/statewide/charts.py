"""Bar charts drawn on the server as SVG: the geometry here, the markup in
templates/statewide/_charts.html.

Each row has a text label above its bars and each bar a direct label with its number (and its
series' name when a row has more than one bar), so nothing is told by colour alone; a second
series is hatched as well. The page puts the same numbers in a table right after each chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Bar", "BarChart", "Row", "bar_chart"]

WIDTH = 640
# Room right of the longest bar for its number and series name.
VALUE_ROOM = 150
LABEL_HEIGHT = 22
BAR_HEIGHT = 18
BAR_GAP = 4
ROW_GAP = 12


@dataclass(frozen=True)
class Bar:
    series: int  # 0 solid, 1 hatched
    value: int
    x: float
    y: float
    width: float
    height: float
    label: str  # the direct label: "12", or "12 held" when a row has several bars
    label_x: float
    label_y: float


@dataclass(frozen=True)
class Row:
    label: str
    label_y: float
    values: tuple[int, ...]
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    description: str
    row_header: str  # the table's first column heading
    series: tuple[str, ...]  # the table's value column headings
    rows: tuple[Row, ...]
    width: int
    height: int

    @property
    def hatched(self) -> bool:
        """Whether a hatched series is drawn (the SVG then defines its pattern)."""
        return len(self.series) > 1


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    row_header: str,
    series: Sequence[str],
    rows: Sequence[tuple[str, Sequence[int]]],
    bar_words: Sequence[str] | None = None,
) -> BarChart:
    """A horizontal bar chart: ``rows`` of (label, one value per series), drawn to one scale.

    With two series each bar's label is its number and its word from ``bar_words`` (the series'
    names by default), such as "3 held".
    """
    if len(series) not in (1, 2):
        raise ValueError("a chart draws one or two series")
    words = list(bar_words or series)
    largest = max((value for _, values in rows for value in values), default=0)
    room = WIDTH - VALUE_ROOM
    drawn: list[Row] = []
    y = 0.0
    for label, values in rows:
        if len(values) != len(series):
            raise ValueError(f"row {label!r} needs one value per series")
        label_y = y + 16
        bars = []
        bar_y = y + LABEL_HEIGHT
        for index, value in enumerate(values):
            width = room * value / largest if largest else 0.0
            text = str(value) if len(series) == 1 else f"{value} {words[index]}"
            bars.append(
                Bar(
                    series=index,
                    value=value,
                    x=0,
                    y=bar_y,
                    width=round(width, 1),
                    height=BAR_HEIGHT,
                    label=text,
                    label_x=round(width + 6, 1),
                    label_y=bar_y + BAR_HEIGHT - 4,
                )
            )
            bar_y += BAR_HEIGHT + BAR_GAP
        drawn.append(Row(label=label, label_y=label_y, values=tuple(values), bars=tuple(bars)))
        y = bar_y + ROW_GAP
    return BarChart(
        id=chart_id,
        title=title,
        description=description,
        row_header=row_header,
        series=tuple(series),
        rows=tuple(drawn),
        width=WIDTH,
        height=max(int(y), 1),
    )
