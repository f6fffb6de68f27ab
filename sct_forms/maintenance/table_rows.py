"""Every row of every table as JSON lines, and back, on SQLite and PostgreSQL alike.

Values are written as JSON; dates, times and bytes as text, read back by the column's type
(from the app's own table definitions), so a dump made on one engine loads on the other.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Column, Connection, Engine, Table, delete, func, inspect, select, text
from sqlalchemy.types import TypeDecorator

BATCH_ROWS = 500


# --- Reading one consistent picture ------------------------------------------------------------


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see the database as it was at one moment.

    PostgreSQL: a read-only REPEATABLE READ transaction. SQLite: one explicit read transaction
    (the driver would otherwise run each SELECT on its own).
    """
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            with connection.begin():
                yield connection
            return
        with connection.begin():
            connection.exec_driver_sql("BEGIN")
            try:
                yield connection
            finally:
                connection.exec_driver_sql("ROLLBACK")


def alembic_revision(connection: Connection) -> str | None:
    """The migration the database is at, or None where the schema was made without Alembic."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


# --- Values ------------------------------------------------------------------------------------


def encode(value: Any) -> Any:
    """A column value as JSON (its type is known again from the column when read back)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    return value


def _python_type(column: Column) -> type | None:
    kind = column.type
    while isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    try:
        return kind.python_type
    except NotImplementedError:
        return None


def decode(column: Column, value: Any) -> Any:
    """A JSON value back to what ``column`` holds."""
    if value is None:
        return None
    kind = _python_type(column)
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if kind is time:
        return time.fromisoformat(value)
    if kind is bytes:
        return base64.b64decode(value)
    if kind is Decimal:
        return Decimal(value)
    return value


# --- Dumping and loading ----------------------------------------------------------------------


def rows_of(connection: Connection, table: Table) -> Iterator[dict[str, Any]]:
    """Every row of ``table`` in primary-key order, as {column name: value}."""
    query = select(table).order_by(*table.primary_key.columns)
    for row in connection.execute(query).mappings():
        yield dict(row)


def dump_table(connection: Connection, table: Table, stream: IO[str]) -> int:
    """Write ``table`` as JSON lines (one object per row); returns the number of rows."""
    count = 0
    for row in rows_of(connection, table):
        line = {name: encode(value) for name, value in row.items()}
        stream.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count


def read_dump(table: Table, path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as stream:
        for line in stream:
            if line.strip():
                raw = json.loads(line)
                yield {name: decode(table.c[name], value) for name, value in raw.items()}


def _batches(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def _self_references(table: Table) -> list[Column]:
    """Nullable columns that point at another row of the same table (filled in afterwards)."""
    return [
        column
        for column in table.columns
        if column.nullable and any(fk.column.table is table for fk in column.foreign_keys)
    ]


def load_table(connection: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows; a column pointing at a later row of the same table is set after all rows."""
    later = _self_references(table)
    postponed: list[dict[str, Any]] = []
    count = 0
    for batch in _batches(rows):
        for row in batch:
            pointers = {column.name: row[column.name] for column in later if row.get(column.name)}
            if pointers:
                postponed.append({**_key(table, row), **pointers})
                row.update(dict.fromkeys(pointers))
        connection.execute(table.insert(), batch)
        count += len(batch)
    for pointers in postponed:
        key = _key(table, pointers)
        values = {name: value for name, value in pointers.items() if name not in key}
        condition = [table.c[name] == value for name, value in key.items()]
        connection.execute(table.update().where(*condition).values(values))
    return count


def _key(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    return {column.name: row[column.name] for column in table.primary_key.columns}


def empty_tables(connection: Connection, tables: list[Table]) -> None:
    """Delete every row, children before parents (``tables`` in dependency order)."""
    for table in reversed(tables):
        for column in _self_references(table):
            connection.execute(table.update().values({column.name: None}))
        connection.execute(delete(table))


def is_empty(connection: Connection, tables: list[Table]) -> bool:
    return all(connection.execute(select(table).limit(1)).first() is None for table in tables)


def reset_sequences(connection: Connection, tables: list[Table]) -> None:
    """PostgreSQL: make each table's id sequence continue after the restored rows."""
    if connection.dialect.name != "postgresql":
        return
    preparer = connection.dialect.identifier_preparer
    for table in tables:
        for column in table.primary_key.columns:
            sequence = connection.execute(
                select(func.pg_get_serial_sequence(preparer.format_table(table), column.name))
            ).scalar()
            if sequence is None:
                continue
            highest = connection.execute(select(func.max(column))).scalar()
            connection.execute(
                select(func.setval(sequence, highest or 1, highest is not None))
            )


def table_columns(connection: Connection) -> dict[str, list[str]]:
    """The database's own tables and their columns (not the app's idea of them)."""
    inspector = inspect(connection)
    return {
        name: sorted(column["name"] for column in inspector.get_columns(name))
        for name in inspector.get_table_names()
    }
