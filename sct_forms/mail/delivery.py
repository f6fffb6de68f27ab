"""Sending what the outbox holds: due messages are claimed, sent, and recorded as sent or failed.

Whoever delivers (the worker's tasks, ``flask deliver-outbox``) calls :func:`deliver_all_due`.
Several may run at once, on one server or several: a message is claimed before it is sent, so
none is sent twice. A failed send is retried later with growing waits, and given up after
MAIL_MAX_ATTEMPTS tries; admins see each message's state.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from sct_forms.extensions import db
from sct_forms.mail.smtp import Mailer, MailServerError, Outgoing, build_message, describe
from sct_forms.models.outbox import LAST_ERROR_MAX, OutboxMessage
from sct_forms.models.types import utcnow

log = logging.getLogger(__name__)

# Waits after the 1st, 2nd, 3rd and 4th failure; every later failure waits RETRY_LAST.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=60),
)
RETRY_LAST = timedelta(hours=6)
# A claimed message is hidden from other workers this long; a worker that dies mid-send
# therefore delays the message by this much instead of losing it.
CLAIM_FOR = timedelta(minutes=5)
DEFAULT_MAX_ATTEMPTS = 10
# Messages one pass lists and tries; deliver_all_due runs passes until one is not full.
BATCH = 50


def sends_automatically(config: Any) -> bool:
    """Whether the job queue sends mail: there is a mail server, and MAIL_DELIVERY is not off."""
    return bool(config.get("MAIL_SERVER")) and config.get("MAIL_DELIVERY", "queue") != "off"


def max_attempts() -> int:
    """How many failed sends make delivery give up on a message."""
    return int(current_app.config.get("MAIL_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


def retry_delay(attempts: int) -> timedelta:
    """How long to wait before the next try, after ``attempts`` failed tries."""
    if attempts <= len(RETRY_DELAYS):
        return RETRY_DELAYS[max(attempts, 1) - 1]
    return RETRY_LAST


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


def deliver_pending(limit: int = BATCH) -> dict[str, int]:
    """Send up to ``limit`` due messages, recording failures on them; commits the session."""
    # Counts: "sent"; "failed" (tried, to be retried or given up); "skipped" (due but not tried
    # in this pass: no MAIL_SERVER, another worker claimed it, or the server was unreachable so
    # the pass stopped early).
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    config = current_app.config
    give_up_at = max_attempts()
    due_ids = list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(*_due(utcnow(), give_up_at))
            .order_by(OutboxMessage.send_after, OutboxMessage.id)
            .limit(limit)
        )
    )
    db.session.commit()
    if not config.get("MAIL_SERVER"):
        counts["skipped"] = len(due_ids)
        return counts

    sender = config["MAIL_DEFAULT_SENDER"]
    mailer = Mailer.from_config(config)
    try:
        for position, message_id in enumerate(due_ids):
            outgoing = _claim(message_id, give_up_at)
            if outgoing is None:
                counts["skipped"] += 1
                continue
            try:
                mailer.send(build_message(outgoing, sender))
            except MailServerError as error:
                # Every other message would fail the same way (and wait out the timeout).
                _record_failure(outgoing, error)
                counts["failed"] += 1
                counts["skipped"] += len(due_ids) - position - 1
                break
            except Exception as error:  # noqa: BLE001 - one bad message must not stop the rest
                _record_failure(outgoing, error)
                counts["failed"] += 1
            else:
                _record_sent(outgoing)
                counts["sent"] += 1
    finally:
        mailer.close()
    return counts


def _due(now: datetime, give_up_at: int) -> tuple:
    return (
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.send_after <= now,
        OutboxMessage.attempts < give_up_at,
    )


def _claim(message_id: int, give_up_at: int) -> Outgoing | None:
    # Moving send_after forward is the claim: of several workers, only the one whose UPDATE
    # still finds the message due gets rowcount 1. The claim is committed before sending so
    # no transaction stays open while talking to the mail server.
    now = utcnow()
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, *_due(now, give_up_at))
        .values(send_after=now + CLAIM_FOR)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return None
    row = db.session.get(OutboxMessage, message_id, populate_existing=True)
    assert row is not None  # claimed just now in this transaction
    outgoing = Outgoing(
        id=row.id,
        to_address=row.to_address,
        to_name=row.to_name,
        subject=row.subject,
        body_text=row.body_text,
        body_html=row.body_html,
        created_at=row.created_at,
        attempts=row.attempts,
    )
    db.session.commit()
    return outgoing


def _record_sent(outgoing: Outgoing) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outgoing.id)
        .values(sent_at=utcnow(), attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _record_failure(outgoing: Outgoing, error: Exception) -> None:
    attempts = outgoing.attempts + 1
    description = describe(error)
    log.warning("email %s to %s failed: %s", outgoing.id, outgoing.to_address, description)
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outgoing.id)
        .values(
            attempts=OutboxMessage.attempts + 1,
            last_error=description[:LAST_ERROR_MAX],
            send_after=utcnow() + retry_delay(attempts),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
