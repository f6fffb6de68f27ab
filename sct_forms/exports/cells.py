"""What a spreadsheet cell holds: plain values written the same way in CSV and XLSX.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and
skip a leading tab or carriage return before doing so. Text that towns and reviewers typed
(names, reasons, answers) must come back as the text it was, never as a formula that runs on a
staff member's computer, so every text value is checked here, for every table and format.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

#: A text starting with one of these is read as a formula (or skipped up to one) by Excel,
#: LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: Prefixed to such a text in CSV: Excel shows the apostrophe's text as typed, unevaluated.
CSV_ESCAPE = "'"


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet would take ``text`` for a formula."""
    return text.startswith(FORMULA_STARTS)


def neutralise(text: str) -> str:
    """``text`` as CSV must hold it so that it opens as text: an apostrophe before a formula."""
    return CSV_ESCAPE + text if is_formula_like(text) else text


def as_utc(moment: datetime) -> datetime:
    """An aware datetime in UTC (the database stores UTC; the column headers say so)."""
    return moment.astimezone(UTC)


def csv_value(value: Any) -> str:
    """One cell of a CSV file: ISO dates (YYYY-MM-DD), ISO UTC times, text that stays text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    return neutralise(str(value))
