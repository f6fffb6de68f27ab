"""Fixtures: a fresh database per test on an app shared by the process, users of every role.

The schema is built once per session (per xdist worker): on SQLite into a template file that
each test copies (a file copy costs a millisecond, ``create_all`` a few hundred), on PostgreSQL
into the worker's own database, whose tables each test empties. The app is built once per
process too; each test gets its own instance folder and the settings as built. Test apps hash
passwords with Argon2's cheapest parameters (PASSWORD_HASH_FAST_FOR_TESTS); real hashes still
verify.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from argon2 import PasswordHasher, profiles
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from sqlalchemy import create_engine, text

from sct_forms import create_app, jobs
from sct_forms.config import database_uri
from sct_forms.domain.tiers import DEFAULT_TIER_RULES
from sct_forms.extensions import db
from sct_forms.models import Action, Category, CoachAssignment, Cycle, Municipality, User
from tests import queue_helpers
from tests.seaweedfs import ACCESS_KEY, SECRET_KEY, SeaweedFS, start_seaweedfs

PASSWORD = "correct horse battery staple"


def _test_database_url() -> str | None:
    """A PostgreSQL URL from TEST_DATABASE_URL or DATABASE_URL; refuses non-test databases."""
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url:
        return None
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "test" not in name:
        raise pytest.UsageError(
            f"refusing to run tests against database {name!r}: its name must contain 'test'"
        )
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:  # each xdist worker has a database of its own: <name>_gw0, <name>_gw1, ...
        url = urlunsplit(parts._replace(path=f"/{name}_{worker}"))
    return url


POSTGRES_URL = _test_database_url()

# Where the apps of the suite keep stored files: "local" (each test's instance folder) or "s3"
# (one SeaweedFS per test process, a prefix of its bucket per test). CI runs the suite both ways.
STORAGE_KIND = os.environ.get("TEST_STORAGE", "local")
if STORAGE_KIND not in ("local", "s3"):
    raise pytest.UsageError(f"TEST_STORAGE={STORAGE_KIND!r}: write local or s3")


class _S3ForApps:
    """The SeaweedFS the apps of this process store files in, when STORAGE_KIND is s3."""

    server: SeaweedFS | None = None


def storage_settings() -> dict[str, str]:
    """Settings for a new app: the instance folder, or a new prefix of the test bucket."""
    if _S3ForApps.server is None:
        return {}
    return {
        "STORAGE_URL": _S3ForApps.server.storage_url(f"test-{uuid.uuid4().hex}"),
        "STORAGE_ACCESS_KEY": ACCESS_KEY,
        "STORAGE_SECRET_KEY": SECRET_KEY,
    }


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """A SeaweedFS S3 server for this test process, started on first use."""
    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", autouse=True)
def _storage_for_apps(request: pytest.FixtureRequest) -> Iterator[None]:
    if STORAGE_KIND == "s3":
        _S3ForApps.server = request.getfixturevalue("seaweedfs")
    yield
    _S3ForApps.server = None


# Settings the app would otherwise read from the environment at start-up.
ENVIRONMENT_KEYS_TO_HIDE = ("SECRET_KEY", "DATABASE_URL", "MAIL_SERVER")


def isolate_environment(patch: pytest.MonkeyPatch, instance_folder: Path) -> None:
    """Apps built under ``patch`` use ``instance_folder`` and none of the machine's settings."""
    patch.setenv("SCT_INSTANCE_PATH", str(instance_folder))
    for key in ENVIRONMENT_KEYS_TO_HIDE:
        patch.delenv(key, raising=False)


# Test files (SQLite databases, stored evidence, packets, Chromium's profile) go to memory when
# the machine has a RAM disk: every commit and every stored file is flushed to disk with fsync,
# which on a virtual disk costs more than the test itself (measured: tests/test_review_claims.py
# 18 s on disk, 10 s in memory). A process kill, which the crash tests use, loses nothing
# either way: what was written stays in the kernel's cache until the machine stops.
RAM_DISK = Path("/dev/shm")


def pytest_configure(config: pytest.Config) -> None:
    """Temporary files in memory, unless TMPDIR or --basetemp chose a place."""
    if config.option.basetemp or os.environ.get("TMPDIR"):
        return
    if RAM_DISK.is_dir() and os.access(RAM_DISK, os.W_OK):
        # Set before pytest picks its base folder and before xdist starts its workers, which
        # inherit the environment; Chromium and the worker processes read TMPDIR too.
        os.environ["TMPDIR"] = str(RAM_DISK)
        tempfile.tempdir = None


# --- the order tests start in -----------------------------------------------------------------
# `make test` hands tests to its xdist workers one at a time (--dist loadgroup), in the order
# below: the longest first, so that no worker is left with a long test at the end while the
# others sit idle. The figures are rough CPU seconds per test measured on the development
# machine; they only order the run. Modules whose tests share an expensive module fixture run
# on one worker, in one piece (their weight is the sum of their tests').
SECONDS_PER_TEST = {
    "tests/test_fuzz_routes.py::test_no_route_answers_5xx_to_hostile_input": 50,
    "tests/browser/test_every_input.py::test_every_value_typed": 25,
    "tests/maintenance/test_server_crash.py": 15,
    "tests/browser/": 8,
    "tests/test_worker.py": 8,
    "tests/documents/test_packets.py": 4,
    "tests/documents/test_packet_views.py": 3,
    "tests/documents/test_certificates.py": 1,
    "tests/test_migrations.py": 1,
}
ONE_WORKER_MODULES = (
    "tests/documents/test_packets.py",  # documents rendered once for the module
    "tests/test_translations.py",  # the marked strings extracted once for the module
)


def _seconds(nodeid: str) -> float:
    for prefix, seconds in SECONDS_PER_TEST.items():
        if nodeid.startswith(prefix):
            return seconds
    return 0


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests (and groups of tests) first; the rest keep their order."""
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        if STORAGE_KIND != "local" and item.get_closest_marker("local_storage"):
            item.add_marker(pytest.mark.skip(reason="about the instance folder's own files"))
        module = item.nodeid.split("::")[0]
        if module in ONE_WORKER_MODULES:
            item.add_marker(pytest.mark.xdist_group(module))
            units.setdefault(module, []).append(item)
        else:
            units[item.nodeid] = [item]
    ordered = sorted(units.values(), key=lambda unit: -sum(_seconds(i.nodeid) for i in unit))
    items[:] = [item for unit in ordered for item in unit]


@pytest.fixture(scope="session")
def password_hash() -> str:
    """PASSWORD hashed as test apps hash it (Argon2id at its cheapest)."""
    return PasswordHasher.from_parameters(profiles.CHEAPEST).hash(PASSWORD)


def _create_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` if it does not exist yet."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    engine = create_engine(database_uri(maintenance), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _postgres_schema() -> Iterator[None]:
    """On PostgreSQL the schema is built once; each test then empties the tables."""
    if POSTGRES_URL is None:
        yield
        return
    _create_database(POSTGRES_URL)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": POSTGRES_URL})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()
        db.engine.dispose()
    yield


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """On SQLite, an empty database with the whole schema, built once and copied per test."""
    if POSTGRES_URL is not None:
        return None
    folder = tmp_path_factory.mktemp("schema")
    template = folder / "template.sqlite3"
    with pytest.MonkeyPatch.context() as patch:
        isolate_environment(patch, folder / "instance")
        application = make_app(folder, DATABASE_URL=f"sqlite:///{template}")
    with application.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()
    return template


class RequestIsolatedClient(FlaskClient):
    """Runs each request in its own app context, as in production.

    Tests keep an app context open for their own queries; without this, requests would share
    its ``g`` (and the signed-in user cached there) and its database session.
    """

    def open(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        with self.application.app_context():
            return super().open(*args, **kwargs)


class SharedTemplateCode(BytecodeCache):
    """Compiled templates kept in memory for every app of the session.

    Each test builds its own app, whose Jinja environment would compile every template it
    renders again. Entries are keyed by template name and checked against the source's checksum,
    so an edited template is compiled afresh; all test apps configure Jinja the same way.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CODE = SharedTemplateCode()


def make_app(tmp_path, **overrides) -> Flask:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "DATABASE_URL": POSTGRES_URL or f"sqlite:///{tmp_path / 'test.sqlite3'}",
        "PUBLIC_BASE_URL": "http://localhost",
        "MAIL_DELIVERY": "off",  # tests that send mail opt in to "queue" (run at once in tests)
        "RECOVER_FILES_ON_START": False,  # tests of crash recovery opt in
        "PASSWORD_HASH_FAST_FOR_TESTS": True,
        **storage_settings(),
    }
    config.update(overrides)
    application = create_app(config)
    application.test_client_class = RequestIsolatedClient
    application.jinja_env.bytecode_cache = TEMPLATE_CODE
    return application


def replace_database_file(target: Path, template: Path) -> None:
    """Make ``target`` a new copy of ``template``, with no write-ahead log beside it.

    A connection the previous test left open (in a thread it started, or a process it killed)
    keeps that test's last writes in ``-wal``; a copy over the same file would replay them and
    bring its rows back. A new file has a new inode, so such a connection keeps the old one.
    """
    for path in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        path.unlink(missing_ok=True)
    shutil.copyfile(template, target)


def empty_database() -> None:
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@dataclass(frozen=True)
class WorkerApp:
    """The app every test of this process shares, with what each test starts from."""

    application: Flask
    database_file: Path
    config: dict


@pytest.fixture(scope="session")
def _worker_app(tmp_path_factory, _postgres_schema, _sqlite_template) -> Iterator[WorkerApp]:
    """One app per test process: building one costs about 50 ms (werkzeug compiles every route).

    Each test still gets a database of its own (a fresh copy of the schema on SQLite, emptied
    tables on PostgreSQL), an instance folder of its own and the settings as built, restored
    after any change the test made.
    """
    folder = tmp_path_factory.mktemp("worker-app")
    with pytest.MonkeyPatch.context() as patch:
        isolate_environment(patch, folder / "instance")
        application = make_app(folder)
    yield WorkerApp(application, folder / "test.sqlite3", dict(application.config))
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def app(tmp_path, monkeypatch, _worker_app, _sqlite_template) -> Iterator[Flask]:
    isolate_environment(monkeypatch, tmp_path / "instance")
    if _sqlite_template is not None:
        replace_database_file(_worker_app.database_file, _sqlite_template)
    application = _worker_app.application
    application.config.clear()
    application.config.update(_worker_app.config)
    application.instance_path = str(tmp_path / "instance")
    application.config.update(storage_settings())
    Path(application.instance_path).mkdir()
    jobs.init_app(application)  # a test's own app may have taken the process's queue
    with application.app_context():
        yield application
        db.session.remove()
        empty_database()
        db.engine.dispose()


@pytest.fixture
def held_queue(app: Flask) -> Iterator[None]:
    """Queued tasks wait until the test runs them (tests/queue_helpers.py), as for a worker."""
    queue_helpers.hold(app)
    yield
    queue_helpers.release(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


# --- reference data -------------------------------------------------------------------------


def make_town(name: str, fips: str) -> Municipality:
    town = Municipality(
        name=name,
        slug=name.lower().replace(" ", "-"),
        county="Windham",
        planning_region="Northeastern Connecticut Planning Region",
        council_of_governments="Northeastern Connecticut COG (NECCOG)",
        fips=fips,
    )
    db.session.add(town)
    db.session.commit()
    return town


@pytest.fixture
def town(app) -> Municipality:
    return make_town("Windham", "901588050")


@pytest.fixture
def other_town(app) -> Municipality:
    return make_town("Mansfield", "901344910")


# A small 2024 catalog: category 1 (1.1-1.3), 3 and 5 with a few actions each.
CATALOG_CATEGORIES = {
    1: "Inclusive and Equitable Community Impacts",
    3: "Well-Stewarded Land and Natural Resources",
    5: "Dynamic and Resilient Planning",
}
CATALOG_ACTIONS = (
    ("1.1", "Optimize for Equity", "bronze,silver,gold"),
    ("1.2", "Participate in Equity Training", "gold"),
    ("1.3", "Develop and Adopt a Statement on Equity", "gold"),
    ("3.4", "Develop an Open Space Plan", ""),
    ("3.12", "Enhance Pollinator Pathways", ""),
    ("5.4", "Assess Climate Vulnerability", ""),
    ("5.7", "Plan for Long-Term Recovery", ""),
)


def add_catalog() -> dict[str, Action]:
    """The small catalog above, by action number."""
    categories = {
        number: Category(number=number, name=name) for number, name in CATALOG_CATEGORIES.items()
    }
    actions = {
        number: Action(
            catalog_year=2024,
            number=number,
            title=title,
            category=categories[int(number.split(".")[0])],
            required_for=required,
        )
        for number, title, required in CATALOG_ACTIONS
    }
    db.session.add_all(actions.values())
    db.session.commit()
    return actions


def add_cycle() -> Cycle:
    """The current cycle: 2026 Fall, on the 2024 catalog, with the default tier rules."""
    current = Cycle(
        name="2026 Fall",
        opens_on=date(2026, 7, 1),
        submission_deadline=date(2026, 12, 31),
        lookback_start=date(2023, 7, 1),
        catalog_year=2024,
        tier_rules_data=DEFAULT_TIER_RULES,
    )
    db.session.add(current)
    db.session.commit()
    return current


@pytest.fixture
def catalog(app) -> dict[str, Action]:
    return add_catalog()


@pytest.fixture
def cycle(app) -> Cycle:
    return add_cycle()


# --- users ------------------------------------------------------------------------------------


def make_user(role: str, email: str, password_hash: str, municipality=None, **extra) -> User:
    user = User(
        email=email,
        name=email.split("@")[0].replace(".", " ").title(),
        role=role,
        municipality=municipality,
        password_hash=password_hash,
        **extra,
    )
    db.session.add(user)
    db.session.commit()
    return user


@pytest.fixture
def staff_user(town, password_hash) -> User:
    return make_user("staff", "dana.staff@windham.test", password_hash, town)


@pytest.fixture
def other_staff_user(other_town, password_hash) -> User:
    return make_user("staff", "morgan.staff@mansfield.test", password_hash, other_town)


@pytest.fixture
def reviewer_user(app, password_hash) -> User:
    return make_user("reviewer", "riley.reviewer@sct.test", password_hash)


@pytest.fixture
def second_reviewer_user(app, password_hash) -> User:
    return make_user("reviewer", "sam.reviewer@sct.test", password_hash)


@pytest.fixture
def coach_user(town, password_hash) -> User:
    coach = make_user("coach", "casey.coach@sct.test", password_hash)
    db.session.add(CoachAssignment(coach_id=coach.id, municipality_id=town.id))
    db.session.commit()
    return coach


@pytest.fixture
def admin_user(app, password_hash) -> User:
    return make_user("admin", "alex.admin@sct.test", password_hash)


def sign_in(client: FlaskClient, user: User, password: str = PASSWORD):
    return client.post("/sign-in", data={"email": user.email, "password": password})


@pytest.fixture
def as_user(client):
    """Sign the test client in as a user: ``as_user(staff_user)``."""

    def _sign_in(user: User) -> FlaskClient:
        response = sign_in(client, user)
        assert response.status_code == 303, response.get_data(as_text=True)
        return client

    return _sign_in
