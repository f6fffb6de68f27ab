"""What /healthz and /readyz ask: the database, the job queue, the stored files, the schema.

Each check answers a :class:`Check`: ``ok`` or ``failing`` with a short detail fit for anyone
to read. Details never hold a path, an address or a password; the log has the error.
"""

from __future__ import annotations

import functools
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from huey.storage import RedisStorage
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from sct_forms import jobs
from sct_forms.extensions import db
from sct_forms.files import host_name
from sct_forms.storage import current_storage

PROBE_AREA = "packets"

OK = "ok"
FAILING = "failing"
# A Redis that does not answer must not hold a health check (and its worker) for long.
REDIS_TIMEOUT_SECONDS = 2


@dataclass(frozen=True)
class Check:
    state: str
    detail: str

    @property
    def ok(self) -> bool:
        return self.state == OK


def _ok(detail: str) -> Check:
    return Check(OK, detail)


def _failing(detail: str, error: BaseException | None = None) -> Check:
    if error is not None:
        current_app.logger.warning("health check failing: %s", detail, exc_info=error)
    return Check(FAILING, detail)


def report(checks: dict[str, Check]) -> dict[str, Any]:
    """The JSON body: an overall status and each check's state and detail."""
    status = OK if all(check.ok for check in checks.values()) else FAILING
    return {"status": status, "checks": {name: asdict(check) for name, check in checks.items()}}


# --- /healthz ---------------------------------------------------------------------------------


def database() -> Check:
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        return _failing("cannot connect", error)
    return _ok("answers")


def queue() -> Check:
    """The job queue's storage answers: Redis to a PING, SQLite (or memory) to a count."""
    storage = jobs.queue.storage
    try:
        if isinstance(storage, RedisStorage):
            _ping_redis(storage)
        else:
            storage.queue_size()
    except Exception as error:  # noqa: BLE001 - any storage error means the queue is unusable
        return _failing("cannot connect", error)
    return _ok("answers")


def _ping_redis(storage: RedisStorage) -> None:
    # The queue's own connections wait for Redis without a limit; ping on a short-lived one.
    pool = storage.pool
    options = dict(pool.connection_kwargs)
    options.update(
        socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )
    client = redis.Redis(
        connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **options)
    )
    try:
        client.ping()
    finally:
        client.close()
        client.connection_pool.disconnect()


def storage() -> Check:
    """The instance folder takes a new file (the local queue and uploads waiting for a check
    live there), and the storage of stored files takes, returns and removes one.

    A missing instance folder is not made (it may be a volume that failed to mount).
    """
    instance = Path(current_app.instance_path)
    if not instance.is_dir():
        return _failing("instance folder missing")
    try:
        _write_and_remove_probe(instance)
    except OSError as error:
        return _failing("instance folder not writable", error)
    stored = current_storage()
    # In the packet cache's area: a cache file, never taken for a lost record by the file check.
    name = f"health-probe-{host_name()}-{os.getpid()}"
    try:
        stored.put(PROBE_AREA, name, b"ok")
        answered = stored.read(PROBE_AREA, name)
        stored.delete(PROBE_AREA, name)
    except Exception as error:  # noqa: BLE001 - any storage error means files cannot be kept
        return _failing("stored files not writable", error)
    if answered != b"ok":
        return _failing("stored files read back wrong")
    return _ok("writable")


def _write_and_remove_probe(folder: Path) -> None:
    # A hidden name that no stored file has; removed when closed.
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".health-", suffix=".probe") as probe:
        probe.write(b"ok")
        probe.flush()


def health() -> dict[str, Check]:
    return {"database": database(), "queue": queue(), "storage": storage()}


# --- /readyz ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _script_heads(directory: str) -> frozenset[str]:
    """The newest revisions among the migration scripts (they do not change while running)."""
    return frozenset(ScriptDirectory(directory).get_heads())


def migrations() -> Check:
    """The database is at the newest migration (``flask db upgrade`` has been run)."""
    heads = _script_heads(current_app.extensions["migrate"].directory)
    try:
        with db.engine.connect() as connection:
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as error:
        return _failing("cannot connect", error)
    if not current:
        return _failing("not migrated: run flask db upgrade")
    if current != heads:
        return _failing("not at the newest migration: run flask db upgrade")
    return _ok("at the newest migration")


def readiness() -> dict[str, Check]:
    """Whether this process can serve; remembered for READINESS_CACHE_SECONDS."""
    app = current_app._get_current_object()  # noqa: SLF001 - the app, not its proxy
    seconds = app.config["READINESS_CACHE_SECONDS"]
    remembered = app.extensions.get("health.readiness")
    now = time.monotonic()
    if remembered is not None and now - remembered[0] < seconds:
        return remembered[1]
    database_check = database()
    checks = {
        "database": database_check,
        "migrations": migrations() if database_check.ok else _failing("cannot connect"),
    }
    app.extensions["health.readiness"] = (now, checks)
    return checks
