"""XLSX workbooks: one sheet per table, a bold header row, dates as dates, text as text.

The workbook is written in openpyxl's write-only mode, which keeps rows in a temporary file
rather than in memory, and saved to a spooled temporary file for the download.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from sct_forms.exports.cells import as_utc, is_formula_like

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The most a cell holds in Excel; a longer text is cut there rather than making a broken file.
CELL_MAX = 32_767
# Sheet names: at most 31 characters, none of []:*?/\ .
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
# Files larger than this go to disk while the workbook is written.
SPOOL_BYTES = 8 * 1024 * 1024

Sheet = tuple[str, Sequence[str], Iterable[Sequence[Any]]]


def xlsx_file(sheets: Iterable[Sheet]) -> IO[bytes]:
    """A workbook with one sheet per (title, header, rows), rewound for reading."""
    workbook = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(_SHEET_NAME_FORBIDDEN.sub(" ", str(title))[:31])
        sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        sheet.append([_header_cell(sheet, label, bold) for label in header])
        for row in rows:
            sheet.append([_cell(sheet, value) for value in row])
    output = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - the response closes it
    workbook.save(output)
    output.seek(0)
    return output


def _header_cell(sheet: WriteOnlyWorksheet, label: str, font: Font) -> WriteOnlyCell:
    cell = _cell(sheet, str(label))
    cell.font = font
    return cell


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> WriteOnlyCell:
    if isinstance(value, datetime):
        # Excel has no time zones: the time in UTC, as the column header says.
        cell = WriteOnlyCell(sheet, value=as_utc(value).replace(tzinfo=None))
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    if value is None or isinstance(value, bool | int | float):
        return WriteOnlyCell(sheet, value=value)
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))[:CELL_MAX]
    cell = WriteOnlyCell(sheet, value=text)
    # openpyxl makes a formula of any text starting with "="; a text cell stays text, and the
    # quote prefix keeps Excel from reading it as a formula when someone edits the cell.
    cell.data_type = "s"
    if is_formula_like(text):
        cell.quotePrefix = True
    return cell
