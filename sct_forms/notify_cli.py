"""The deliver-outbox command: send the queued emails once (cron) or keep sending (a worker)."""

from __future__ import annotations

import time

import click
from flask import Flask, current_app

from sct_forms.extensions import db
from sct_forms.notify import deliver_pending

BATCH = 50


def register(app: Flask) -> None:
    """Add ``flask deliver-outbox`` to the app's command line."""
    app.cli.add_command(deliver_outbox_command)


@click.command("deliver-outbox")
@click.option(
    "--loop",
    "interval",
    type=click.FloatRange(min=1),
    default=None,
    metavar="SECONDS",
    help="Keep going: deliver every SECONDS seconds until interrupted (Ctrl+C).",
)
def deliver_outbox_command(interval: float | None) -> None:
    """Send the queued emails that are due; failed ones are retried later."""
    if not current_app.config.get("MAIL_SERVER"):
        click.echo("MAIL_SERVER is not set: emails stay in the outbox.", err=True)
    if interval is None:
        click.echo(_summary(deliver_all_due()))
        return
    click.echo(f"Delivering the outbox every {interval:g} s (Ctrl+C stops).")
    try:
        while True:
            try:
                totals = deliver_all_due()
            except Exception as error:  # noqa: BLE001 - a database outage must not end the worker
                click.echo(f"Delivery pass failed, trying again later: {error}", err=True)
            else:
                if totals["sent"] or totals["failed"]:
                    click.echo(_summary(totals))
            finally:
                # Hold no database connection (or failed transaction) while sleeping.
                db.session.remove()
            time.sleep(interval)
    except KeyboardInterrupt:
        click.echo("Stopped.")


def deliver_all_due() -> dict[str, int]:
    """Deliver in batches until a batch is not full, so one run empties a long queue."""
    totals = {"sent": 0, "failed": 0, "skipped": 0}
    while True:
        counts = deliver_pending(BATCH)
        for key in totals:
            totals[key] += counts[key]
        # Each tried message is sent or pushed into the future, so full batches cannot repeat
        # forever; a short batch means nothing else is due (or the server is unreachable).
        if counts["sent"] + counts["failed"] < BATCH:
            return totals


def _summary(counts: dict[str, int]) -> str:
    return f"{counts['sent']} sent, {counts['failed']} failed, {counts['skipped']} skipped."
