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


def test_upgrading_keeps_the_rows_of_child_tables(tmp_path, monkeypatch, empty_database_url):
    """Altering a parent table (copied and dropped on SQLite) must not cascade-delete rows."""
    monkeypatch.setenv("SCT_INSTANCE_PATH", str(tmp_path))
    app = make_app(tmp_path, DATABASE_URL=empty_database_url)
    with app.app_context():
        flask_migrate.upgrade(revision="4ea584733f3c")  # toolkits exist, review columns not yet
        with db.engine.begin() as connection:
            for statement in (
                "INSERT INTO municipality (id, name, slug, county, planning_region, "
                "council_of_governments, fips) VALUES (1, 'Windham', 'windham', 'Windham', "
                "'R', 'C', '9')",
                "INSERT INTO category (id, number, name) VALUES (1, 3, 'Land')",
                "INSERT INTO action (id, catalog_year, number, title, category_id, required_for)"
                " VALUES (1, 2024, '3.4', 'Open Space', 1, '')",
                "INSERT INTO cycle (id, name, opens_on, submission_deadline, lookback_start, "
                "catalog_year, tier_rules) VALUES (1, 'C', '2026-07-01', '2026-12-31', "
                "'2023-07-01', 2024, '[]')",
                "INSERT INTO user_account (id, email, name, password_hash, role, "
                "municipality_id, preferred_language, active, session_nonce, created_at) VALUES "
                "(1, 'a@b.c', 'A', 'x', 'staff', 1, 'en', true, 'n', '2026-01-01 00:00:00')",
                "INSERT INTO toolkit (id, municipality_id, cycle_id, paired_action_id, "
                "definition_version, state, confirmed_in_submission, created_by_id, created_at,"
                " updated_by_id, updated_at) VALUES (1, 1, 1, 1, '2024.1', 'draft', true, 1, "
                "'2026-01-01 00:00:00', 1, '2026-01-01 00:00:00')",
                "INSERT INTO step_answers (id, toolkit_id, step_key, data, version, "
                "updated_at) VALUES (1, 1, 'context', '{}', 3, '2026-01-01 00:00:00')",
            ):
                connection.execute(text(statement))
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            kept = connection.execute(text("SELECT version FROM step_answers")).scalars().all()
        db.engine.dispose()
    assert kept == [3]
