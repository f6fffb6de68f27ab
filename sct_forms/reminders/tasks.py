"""The reminders on the job queue's schedule, on the program's clock (BABEL_DEFAULT_TIMEZONE).

Huey matches a ``crontab`` against UTC; :func:`on_program_clock` matches it against the
program's local time instead, so "Monday 8:00" stays 8:00 in Connecticut across daylight saving.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime

from huey import crontab

from sct_forms import jobs
from sct_forms.config import DefaultConfig
from sct_forms.domain import reminders
from sct_forms.reminders import services

log = logging.getLogger(__name__)


def _program_zone() -> str:
    # The scheduler asks outside any app context: read the settings of the queue's app.
    app = jobs.queue.app
    zone = app.config.get("BABEL_DEFAULT_TIMEZONE") if app is not None else None
    return zone or DefaultConfig.BABEL_DEFAULT_TIMEZONE


def on_program_clock(schedule: Callable[[datetime], bool]) -> Callable[[datetime], bool]:
    """``schedule`` (a crontab) matched against the program's local time, not UTC."""

    def matches(timestamp: datetime) -> bool:
        return schedule(reminders.local_time(timestamp, _program_zone()))

    return matches


# crontab counts weekdays from Sunday (0); date.weekday() from Monday (0).
DIGEST_CRON_WEEKDAY = str((reminders.DIGEST_WEEKDAY + 1) % 7)


@jobs.periodic_task(on_program_clock(crontab(minute="0", hour=str(reminders.DAILY_HOUR))))
def send_daily_reminders() -> None:
    """Every morning: deadline reminders and reminders of changes left waiting."""
    today = services.program_today()
    sent = services.send_daily_reminders(today)
    _log(today, sent)


@jobs.periodic_task(
    on_program_clock(
        crontab(minute="0", hour=str(reminders.DIGEST_HOUR), day_of_week=DIGEST_CRON_WEEKDAY)
    )
)
def send_review_digest() -> None:
    """Every Monday morning: the reviewers' digest of the review queue."""
    today = services.program_today()
    _log(today, services.send_review_digest(today))


def _log(today: date, sent: services.Sent) -> None:
    if sent.total:
        log.info("reminders for %s: %s", today.isoformat(), sent.counts)
