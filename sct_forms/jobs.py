"""The job queue: everything that runs after a response (sending email, building packets).

One Huey queue per process, :data:`queue`. Modules declare their tasks on it at import time with
:func:`task` and :func:`periodic_task`, which run each task in an app context of its own (so a
task never commits or expires its caller's database session). :func:`init_app` then points the
queue at the storage the settings name:

- ``QUEUE_URL`` unset: SQLite in the instance folder (``instance/queue.sqlite3``), enough for
  one server; ``sqlite:///path`` for another file (written as in DATABASE_URL);
  ``redis://host:6379/0`` when several servers share the work; ``memory://`` keeps tasks in
  this process only (for tests that play the worker).
- ``QUEUE_IMMEDIATE`` (on when TESTING, unless set): a task runs at once, in the caller's
  thread, where it is queued.

``flask worker`` (:mod:`sct_forms.worker`) runs the queue's consumer, which runs the tasks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, has_app_context
from huey import Huey
from huey.api import TaskWrapper
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

QUEUE_NAME = "sct-forms"
QUEUE_FILE = "queue.sqlite3"


class AppQueue(Huey):
    """A Huey queue whose storage the app's settings choose, after the tasks are declared."""

    def __init__(self) -> None:
        # Results are not kept: tasks record what they did in the database, where pages read it.
        # Until init_app, immediate mode keeps everything in memory.
        super().__init__(QUEUE_NAME, results=False, immediate=True)
        self.app: Flask | None = None

    def init_app(self, app: Flask) -> None:
        """Use the storage and mode ``app``'s settings name; the app is the one tasks run in."""
        immediate = app.config.get("QUEUE_IMMEDIATE")
        if immediate is None:
            immediate = app.testing
        storage_class, storage_options = storage_for(queue_url(app))
        self.close()
        self.storage_class = storage_class
        self.storage_kwargs = storage_options
        self._immediate = bool(immediate)
        self.storage = self.create_storage()
        self.app = app
        app.extensions["jobs"] = self

    def close(self) -> None:
        """Close the storage's connection, if it holds one (SQLite does)."""
        close = getattr(self.storage, "close", None)
        if close is not None:
            close()


queue = AppQueue()


def init_app(app: Flask) -> None:
    queue.init_app(app)


def queue_url(app: Flask) -> str:
    """QUEUE_URL, or the SQLite file in the instance folder."""
    url = app.config.get("QUEUE_URL")
    if url:
        return url
    return f"sqlite:///{Path(app.instance_path) / QUEUE_FILE}"


def shown_url(url: str) -> str:
    """The queue URL without its password, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def storage_for(url: str) -> tuple[type, dict[str, Any]]:
    """The Huey storage class and its options for a queue URL."""
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite":
        if not rest.startswith("/"):
            raise ValueError(f"QUEUE_URL {url!r}: a SQLite queue needs a file, sqlite:///path")
        # As in DATABASE_URL: sqlite:///relative/path, sqlite:////absolute/path.
        return SqliteStorage, {"filename": rest[1:]}
    if scheme in ("redis", "rediss", "unix"):
        return RedisStorage, {"url": url}
    if scheme == "memory":
        return MemoryStorage, {}
    raise ValueError(
        f"QUEUE_URL {url!r}: expected sqlite:///path, redis://host:port/db or memory://"
    )


def _app_for_task() -> Flask:
    # Immediate mode runs a task in the caller's thread, under the caller's app; the worker's
    # threads have no app context and use the app the queue was set up with.
    if has_app_context():
        return current_app._get_current_object()  # noqa: SLF001 - the app, not its proxy
    if queue.app is None:
        raise RuntimeError("the job queue has no app: create_app() sets it up")
    return queue.app


def _in_app_context(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        # A context of its own, even inside a caller's: its own database session.
        with _app_for_task().app_context():
            return function(*args, **kwargs)

    return run


def task(**options: Any) -> Callable[[Callable[..., Any]], TaskWrapper]:
    """Declare a task: calling it queues it (``f(...)``); the worker runs it in an app context."""

    def declare(function: Callable[..., Any]) -> TaskWrapper:
        return queue.task(**options)(_in_app_context(function))

    return declare


def periodic_task(schedule: Callable[..., bool], **options: Any) -> Callable[..., TaskWrapper]:
    """Declare a task the worker queues itself on ``schedule`` (a ``huey.crontab``)."""

    def declare(function: Callable[..., Any]) -> TaskWrapper:
        return queue.periodic_task(schedule, **options)(_in_app_context(function))

    return declare
