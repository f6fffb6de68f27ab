"""Delivery on the job queue: a task queued when mail commits, and a sweep every minute.

Adding a message marks its session (:func:`deliver_after_commit`); when that session commits,
a delivery task is queued. The queue lives outside the database, so the task cannot be part of
the transaction: it is queued only once the messages it sends are committed, and should that
fail (the queue's storage unreachable), or a send fail and wait for its retry, the sweep sends
them within a minute of being due. Messages are the truth; tasks only say "look now".
"""

from __future__ import annotations

import logging

from flask import current_app, has_app_context
from huey import crontab
from sqlalchemy import event
from sqlalchemy.orm import Session

from sct_forms import jobs
from sct_forms.mail.delivery import deliver_all_due, sends_automatically

log = logging.getLogger(__name__)

MAIL_ADDED = "sct_forms.mail_added"


def deliver_after_commit(session: Session) -> None:
    """Queue a delivery task once ``session`` commits (the caller just added mail to it)."""
    session.info[MAIL_ADDED] = True


@event.listens_for(Session, "after_commit")
def _queue_delivery(session: Session) -> None:
    if not session.info.pop(MAIL_ADDED, False) or not has_app_context():
        return
    # Without a mail server nothing can be sent, and with MAIL_DELIVERY off only
    # `flask deliver-outbox` sends: no task, and the messages wait in the outbox.
    if not sends_automatically(current_app.config):
        return
    try:
        deliver_outbox()
    except Exception:  # noqa: BLE001 - the change is committed; the sweep sends its mail
        log.exception("could not queue email delivery; the outbox keeps the messages")


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_mail(session: Session) -> None:
    session.info.pop(MAIL_ADDED, None)


@jobs.task()
def deliver_outbox() -> None:
    """Send every message that is due (this commit's, and any others waiting)."""
    _deliver()


@jobs.periodic_task(crontab(minute="*"))
def sweep_outbox() -> None:
    """Send what is due: retries whose wait is over, and mail whose task was lost."""
    if sends_automatically(current_app.config):
        _deliver()


def _deliver() -> None:
    counts = deliver_all_due()
    if counts["sent"] or counts["failed"]:
        log.info("outbox: %(sent)s sent, %(failed)s failed, %(skipped)s skipped", counts)
