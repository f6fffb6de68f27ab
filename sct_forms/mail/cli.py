"""The deliver-outbox command: send the queued emails by hand, or from cron instead of a worker."""

from __future__ import annotations

import time

import click
from flask import Flask, current_app

from sct_forms.extensions import db
from sct_forms.mail.delivery import deliver_all_due


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
            except Exception as error:  # noqa: BLE001 - a database outage must not end the loop
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


def _summary(counts: dict[str, int]) -> str:
    return f"{counts['sent']} sent, {counts['failed']} failed, {counts['skipped']} skipped."
