"""Counting the SQL statements a request sends (statement counts must not grow with the data)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from sct_forms.extensions import db


@contextmanager
def counted_statements() -> Iterator[list[str]]:
    """The SQL statements sent to the database inside the block."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
