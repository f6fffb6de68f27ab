"""The job queue held as a worker sees it: tasks wait until the test runs them.

Test apps run each task at once where it is queued (QUEUE_IMMEDIATE follows TESTING). A test
that needs to see a task wait, or a build in progress, holds the queue instead.
"""

from __future__ import annotations

from flask import Flask

from sct_forms import jobs


def hold(app: Flask) -> None:
    """Queued tasks wait, in memory, until :func:`run_queued`."""
    app.config.update(QUEUE_IMMEDIATE=False, QUEUE_URL="memory://")
    jobs.init_app(app)


def release(app: Flask) -> None:
    """Back to running each task where it is queued."""
    app.config.update(QUEUE_IMMEDIATE=None, QUEUE_URL=None)
    jobs.init_app(app)


def pending() -> list[str]:
    """The names of the waiting tasks, oldest first."""
    return [task.name for task in jobs.queue.pending()]


def run_queued() -> int:
    """Run every waiting task in this thread, as the worker would; how many ran."""
    ran = 0
    while (task := jobs.queue.dequeue()) is not None:
        jobs.queue.execute(task)
        ran += 1
    return ran
