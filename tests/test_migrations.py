"""The committed migrations build exactly the schema the models describe."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from sct_forms.config import database_uri
from sct_forms.extensions import db
from tests.conftest import POSTGRES_URL, make_app


@pytest.fixture
def empty_database_url(tmp_path):
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL database."""
    if POSTGRES_URL is None:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    parts = urlsplit(POSTGRES_URL)
    name = parts.path.lstrip("/") + "_migrations"
    admin = create_engine(database_uri(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield urlunsplit(parts._replace(path="/" + name))
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migrations_give_the_same_schema_as_the_models(tmp_path, monkeypatch, empty_database_url):
    monkeypatch.setenv("SCT_INSTANCE_PATH", str(tmp_path))
    app = make_app(tmp_path, DATABASE_URL=empty_database_url)
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert differences == []


def test_migrations_downgrade_to_nothing_and_back(tmp_path, monkeypatch, empty_database_url):
    monkeypatch.setenv("SCT_INSTANCE_PATH", str(tmp_path))
    app = make_app(tmp_path, DATABASE_URL=empty_database_url)
    with app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        flask_migrate.upgrade()
        db.engine.dispose()
