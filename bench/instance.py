"""A temporary sct-forms instance: its own folder, secret key and database, none of the machine's.

The database is built as a deployment builds it (the migrations, then the reference data of
``flask seed``). Its settings are environment variables, so the gunicorn servers started from
it (``bench.server``) read exactly what the app in this process reads.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from sct_forms import create_app
from sct_forms.config import ENVIRONMENT_KEYS, database_uri
from sct_forms.extensions import db
from sct_forms.reference_data import seed

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# Settings of the machine that must not reach the benchmark's app (the instance sets its own).
_MACHINE_KEYS = (*ENVIRONMENT_KEYS, "SCT_INSTANCE_PATH", "SCT_ENV", "LOG_FORMAT")

# Where instance folders go: TMPDIR if set, else memory when the machine has a RAM disk (as the
# test suite does): every commit is flushed with fsync, and on a virtual disk that is slower,
# and far noisier, than the work being measured.
_RAM_DISK = Path("/dev/shm")  # noqa: S108 - a folder of our own is made inside with mkdtemp


class BenchError(RuntimeError):
    """The benchmark could not set up what it measures."""


def data_root() -> str | None:
    if os.environ.get("TMPDIR"):
        return None
    if _RAM_DISK.is_dir() and os.access(_RAM_DISK, os.W_OK):
        return str(_RAM_DISK)
    return None


def describe_data_root() -> str:
    root = data_root() or tempfile.gettempdir()
    return f"{root} (memory)" if root == str(_RAM_DISK) else root


def postgres_problem(url: str) -> str | None:
    """Why PostgreSQL at ``url`` cannot be used, or None when it answers."""
    engine = create_engine(database_uri(url), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means "skip PostgreSQL"
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return f"{type(error).__name__}: {first_line}"[:200]
    finally:
        engine.dispose()
    return None


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _admin(url: str, statement: str) -> None:
    engine = create_engine(database_uri(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


class Instance:
    """A folder, a database and an app built from them; ``with Instance(...) as instance``.

    While it is open, the process environment holds its settings (and none of the machine's);
    leaving it disposes of the app's connections, restores the environment and deletes the
    folder and the database.
    """

    def __init__(self, database: str = SQLITE, postgres_url: str = DEFAULT_POSTGRES_URL) -> None:
        if database not in (SQLITE, POSTGRESQL):
            raise ValueError(f"unknown database {database!r}")
        self.database = database
        self.postgres_url = postgres_url
        self.folder: Path | None = None
        self.database_name: str | None = None
        self.env: dict[str, str] = {}
        self.app: Flask | None = None
        self._saved_env: dict[str, str | None] = {}

    def __enter__(self) -> Instance:
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _open(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="sct-bench-", dir=data_root()))
        if self.database == POSTGRESQL:
            self.database_name = f"bench_{os.getpid()}_{secrets.token_hex(4)}"
            _admin(self.postgres_url, f'CREATE DATABASE "{self.database_name}"')
            url = _with_database(self.postgres_url, self.database_name)
        else:
            url = f"sqlite:///{self.folder / 'sct_forms.sqlite3'}"
        self.env = {
            "SCT_INSTANCE_PATH": str(self.folder / "instance"),
            "SECRET_KEY": secrets.token_hex(32),
            "DATABASE_URL": url,
            # Nothing is mailed: submissions and decisions still write their outbox rows.
            "MAIL_DELIVERY": "off",
        }
        for key in {*_MACHINE_KEYS, *self.env}:
            self._saved_env[key] = os.environ.pop(key, None)
        os.environ.update(self.env)
        self.app = create_app()
        with self.app.app_context():
            _migrate_quietly()
            seed(date.today())

    def process_env(self) -> dict[str, str]:
        """The environment for a process serving this instance (a gunicorn server)."""
        return dict(os.environ)

    @contextlib.contextmanager
    def context(self) -> Iterator[Flask]:
        """The app's context, with its database session removed at the end."""
        if self.app is None:
            raise BenchError("the instance is closed")
        with self.app.app_context():
            try:
                yield self.app
            finally:
                db.session.remove()

    def release_connections(self) -> None:
        """Close this process's pooled connections (before servers use the database)."""
        if self.app is not None:
            with self.app.app_context():
                db.session.remove()
                db.engine.dispose()

    def close(self) -> None:
        self.release_connections()
        self.app = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}
        if self.database_name is not None:
            with contextlib.suppress(Exception):
                _admin(
                    self.postgres_url,
                    f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)',
                )
            self.database_name = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def _migrate_quietly() -> None:
    """Run the migrations as ``flask db upgrade`` does, without Alembic's progress lines.

    Alembic's logging configuration replaces the root logger's handlers and level; they are
    put back afterwards, so the app logs as it would have.
    """
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            upgrade()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("alembic").setLevel(logging.WARNING)
