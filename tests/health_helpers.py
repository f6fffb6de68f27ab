"""The test database as `flask db upgrade` leaves it: at the newest migration, for /readyz.

Tests build their schema with ``create_all``, which writes no Alembic revision.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import text

from sct_forms.extensions import db


def head_revision() -> str:
    (head,) = ScriptDirectory(current_app.extensions["migrate"].directory).get_heads()
    return head


def stamp(revision: str) -> None:
    """Record ``revision`` as the database's migration, as Alembic does."""
    with db.engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        )
        connection.execute(text("DELETE FROM alembic_version"))
        connection.execute(text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})


def unstamp() -> None:
    # PostgreSQL test databases are emptied table by table, and this table is not a model's.
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


@contextmanager
def at_head() -> Iterator[str]:
    """The database stamped at the newest migration while inside; its revision."""
    head = head_revision()
    stamp(head)
    try:
        yield head
    finally:
        unstamp()
