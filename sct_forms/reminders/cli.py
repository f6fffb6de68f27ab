"""``flask send-reminders``: the day's reminders from the command line, for operators."""

from __future__ import annotations

from datetime import date, datetime

import click
from flask import Flask

from sct_forms.reminders import services


def register(app: Flask) -> None:
    app.cli.add_command(send_reminders_command)


@click.command("send-reminders")
@click.option(
    "--today",
    "today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day to send for, YYYY-MM-DD (default: today in the program's time zone).",
)
@click.option(
    "--digest",
    is_flag=True,
    help="Also send the reviewers' weekly digest of that day's week.",
)
def send_reminders_command(today: datetime | None, digest: bool) -> None:
    """Queue the reminders due on a day (deadlines, changes left waiting).

    Each reminder reaches each person once: running it again, or beside the worker's daily
    run, sends nothing more. The emails wait in the outbox for delivery.
    """
    day: date = today.date() if today is not None else services.program_today()
    sent = services.send_daily_reminders(day)
    if digest:
        digest_sent = services.send_review_digest(day)
        for kind, count in digest_sent.counts.items():
            sent.counts[kind] += count
    click.echo(
        f"Reminders for {day.isoformat()}: "
        + ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in sent.counts.items())
        + "."
    )
