"""The suite's own isolation: each test starts from an empty database."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing

import pytest

from tests.conftest import replace_database_file


@pytest.fixture
def template(tmp_path):
    path = tmp_path / "template.sqlite3"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE municipality (fips TEXT UNIQUE)")
        connection.commit()
    return path


def rows_in(path) -> list[tuple]:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute("SELECT fips FROM municipality").fetchall()


def a_previous_test_that_left_a_connection_open(path) -> sqlite3.Connection:
    connection = sqlite3.connect(path)
    connection.execute("INSERT INTO municipality VALUES ('901588050')")
    connection.commit()  # into the write-ahead log, not yet into the file
    return connection


@pytest.mark.parametrize("reset", ["copy over the file", "replace_database_file"])
def test_rows_left_in_the_write_ahead_log_do_not_reach_the_next_test(tmp_path, template, reset):
    database = tmp_path / "test.sqlite3"
    replace_database_file(database, template)
    with closing(a_previous_test_that_left_a_connection_open(database)):
        assert (tmp_path / "test.sqlite3-wal").exists()

        if reset == "copy over the file":
            shutil.copyfile(template, database)
            assert rows_in(database) == [("901588050",)]  # why a plain copy is not enough
        else:
            replace_database_file(database, template)
            assert rows_in(database) == []
