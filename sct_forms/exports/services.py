"""Who may download a cycle's tables, and the downloads themselves (audited).

Reviewers and administrators download; town staff and coaches are refused here, whatever page
or command asks, as well as by the pages' role check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from sct_forms import audit
from sct_forms.domain.roles import REVIEWING_ROLES
from sct_forms.exports.csv_file import csv_chunks
from sct_forms.exports.tables import TABLES, TABLES_BY_KEY, Table
from sct_forms.exports.xlsx_file import xlsx_file
from sct_forms.extensions import db
from sct_forms.models import Cycle, User


class ExportRefusedError(Exception):
    """The person may not download the program's tables."""

    status = 403


def may_export(user: User) -> bool:
    """Reviewers and administrators: the tables hold every town's records."""
    return user.is_authenticated and user.role in REVIEWING_ROLES


def _require(user: User) -> None:
    if not may_export(user):
        raise ExportRefusedError(user.role if user.is_authenticated else "anonymous")


def file_stem(cycle: Cycle, key: str) -> str:
    """A file name without extension: "sct-2026-fall-toolkits"."""
    cycle_part = re.sub(r"[^a-z0-9]+", "-", cycle.name.lower()).strip("-") or str(cycle.id)
    return f"sct-{cycle_part}-{key}"


def _record(user: User, cycle: Cycle, what: str, file_format: str) -> None:
    # Downloads carry every town's records: who took which is kept like a change.
    audit.record(
        "export.downloaded",
        actor=user,
        object_type="cycle",
        object_id=cycle.id,
        table=what,
        format=file_format,
    )
    db.session.commit()


def csv_download(user: User, cycle: Cycle, key: str) -> tuple[str, Iterator[str]]:
    """(file name, the CSV's text in chunks) of one table; KeyError for an unknown table."""
    _require(user)
    table: Table = TABLES_BY_KEY[key]
    _record(user, cycle, key, "csv")
    return f"{file_stem(cycle, key)}.csv", csv_chunks(table.header(), table.rows(cycle))


def xlsx_download(user: User, cycle: Cycle) -> tuple[str, IO[bytes]]:
    """(file name, the workbook) with one sheet per table."""
    _require(user)
    _record(user, cycle, "all", "xlsx")
    sheets = [(str(table.title), table.header(), table.rows(cycle)) for table in TABLES]
    return f"{file_stem(cycle, 'data')}.xlsx", xlsx_file(sheets)
