"""``flask worker``: the job queue's consumer, which sends email and builds packets.

Run one beside the web server (``make demo`` does); with a Redis queue, one per server or more.
The tasks it knows are those its modules declare, imported here so none is missing.
"""

from __future__ import annotations

import logging

import click
from flask import Flask, current_app

from sct_forms import jobs
from sct_forms.documents import packet_cache
from sct_forms.mail import tasks as mail_tasks
from sct_forms.reminders import tasks as reminder_tasks

# Every module that declares tasks: the worker runs what these declare.
TASK_MODULES = (mail_tasks, packet_cache, reminder_tasks)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def register(app: Flask) -> None:
    """Add ``flask worker`` to the app's command line."""
    app.cli.add_command(worker_command)


@click.command("worker")
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Tasks run at the same time (one packet build can take a minute).",
)
@click.option(
    "--poll",
    "max_poll",
    type=click.FloatRange(min=0.1),
    default=1.0,
    show_default=True,
    help="Longest wait, in seconds, between looks at an idle SQLite queue.",
)
def worker_command(threads: int, max_poll: float) -> None:
    """Run queued tasks (email, packet builds) until stopped.

    Ctrl+C (SIGINT) lets running tasks finish first; SIGTERM stops at once. A task cut short
    is safe: an email claimed but not sent is tried again within minutes, and a packet build
    is queued again when its mark runs out.
    """
    if jobs.queue.immediate:
        raise click.ClickException(
            "QUEUE_IMMEDIATE is on: tasks run where they are queued, there is nothing to consume."
        )
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    where = jobs.shown_url(jobs.queue_url(current_app))
    click.echo(f"Worker on {where} with {threads} threads; Ctrl+C stops it.")
    consumer = jobs.queue.create_consumer(
        workers=threads, worker_type="thread", max_delay=max_poll, periodic=True
    )
    consumer.run()
