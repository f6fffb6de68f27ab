"""An app with a database of its own for one test module: documents made once, checked by many.

A rendered PDF costs about a second; when several tests check different things of one document,
a module-scoped fixture builds its town and toolkits here and renders the document once. The
function-scoped ``app`` fixture (tests/conftest.py) cannot serve a module: its database is new
for every test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask

from sct_forms.extensions import db
from tests.conftest import isolate_environment, make_app


@contextmanager
def module_app(folder: Path, schema: Path | None) -> Iterator[Flask]:
    """A test app on a SQLite file of its own, a copy of ``schema`` (or built when None).

    Always SQLite, even when the rest of the suite runs on PostgreSQL: the ``app`` fixture
    empties the PostgreSQL tables after every test, which would take this app's rows with them.
    Building the app makes it the job queue's app; the ``app`` fixture takes the queue back
    for each test.
    """
    database = folder / "documents.sqlite3"
    if schema is not None:
        shutil.copyfile(schema, database)
    with pytest.MonkeyPatch.context() as patch:
        isolate_environment(patch, folder / "instance")
        application = make_app(folder, DATABASE_URL=f"sqlite:///{database}")
    if schema is None:
        with application.app_context():
            db.create_all()
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()

