"""The email outbox for administrators: messages by status, and retrying one now.

Administrators only; everyone else is refused here (OutboxRefusedError), whatever page asks.

A retry makes an unsent message due at once and queues delivery. Delivery claims a message by
moving its ``send_after`` a few minutes ahead (mail.delivery), so a retry names the message as
the page showed it (attempts and next try): a second click, or a click on a page gone stale,
changes nothing. A message whose next try is within the claim time may be being sent right now,
and is left alone. A message delivery gave up on starts a new series of tries (its count back
to 0); the audit record keeps the count and the last error it had.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, update

from sct_forms import audit
from sct_forms.admin.paging import Page, paginate
from sct_forms.domain.roles import Role
from sct_forms.extensions import db
from sct_forms.mail import tasks
from sct_forms.mail.delivery import CLAIM_FOR, max_attempts
from sct_forms.models import User
from sct_forms.models.outbox import OutboxMessage
from sct_forms.models.types import utcnow

#: The statuses the page filters by: never tried yet, failed and tried again later, failed too
#: often (delivery stopped trying), sent.
STATUSES = ("waiting", "failing", "gave_up", "sent")


class OutboxRefusedError(Exception):
    """A request about the outbox that is refused; ``code`` says why, ``status`` the HTTP code."""

    STATUS = {"forbidden": 403, "not_found": 404, "sent": 409, "changed": 409, "sending": 409}

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code
        self.status = self.STATUS[code]


def may_manage_outbox(user: User) -> bool:
    return user.is_authenticated and user.role == Role.ADMIN


def _require(user: User) -> None:
    if not may_manage_outbox(user):
        raise OutboxRefusedError("forbidden")


def status_of(message: OutboxMessage, give_up_at: int) -> str:
    """One of STATUSES."""
    if message.sent_at is not None:
        return "sent"
    if message.attempts >= give_up_at:
        return "gave_up"
    return "failing" if message.attempts else "waiting"


def _with_status(query: Select, status: str | None, give_up_at: int) -> Select:
    unsent = OutboxMessage.sent_at.is_(None)
    conditions = {
        "sent": (OutboxMessage.sent_at.is_not(None),),
        "waiting": (unsent, OutboxMessage.attempts == 0),
        "failing": (unsent, OutboxMessage.attempts > 0, OutboxMessage.attempts < give_up_at),
        "gave_up": (unsent, OutboxMessage.attempts >= give_up_at),
    }
    return query.where(*conditions[status]) if status in conditions else query


def messages(user: User, status: str | None = None, page: int | None = None) -> Page:
    """A page of messages, newest first, with ``status`` one of STATUSES or None for all."""
    _require(user)
    query = select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    return paginate(_with_status(query, status, max_attempts()), page)


def may_retry(message: OutboxMessage, now: datetime | None = None) -> bool:
    """Whether a retry button makes sense: unsent, and not perhaps being sent right now."""
    if message.sent_at is not None:
        return False
    now = now or utcnow()
    return not (now < message.send_after <= now + CLAIM_FOR)


@dataclass(frozen=True)
class Retried:
    message: OutboxMessage
    status_before: str


def retry(message_id: int, user: User, *, seen_attempts: int, seen_send_after: datetime) -> Retried:
    """Make an unsent message due now and queue its delivery; audited.

    ``seen_attempts`` and ``seen_send_after`` are the message as the page showed it.
    """
    _require(user)
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        raise OutboxRefusedError("not_found")
    if message.sent_at is not None:
        raise OutboxRefusedError("sent")
    if message.attempts != seen_attempts or message.send_after != seen_send_after:
        raise OutboxRefusedError("changed")
    now = utcnow()
    if not may_retry(message, now):
        raise OutboxRefusedError("sending")
    give_up_at = max_attempts()
    status_before = status_of(message, give_up_at)
    attempts_before, last_error = message.attempts, message.last_error
    # Only if still as seen: of two clicks (or a click and a worker's claim) one wins.
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.attempts == seen_attempts,
            OutboxMessage.send_after == seen_send_after,
        )
        .values(
            send_after=now,
            attempts=0 if status_before == "gave_up" else OutboxMessage.attempts,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise OutboxRefusedError("changed")
    audit.record(
        "outbox.retried",
        actor=user,
        object_type="outbox_message",
        object_id=message_id,
        kind=message.kind,
        status_before=status_before,
        attempts_before=attempts_before,
        last_error=last_error,
    )
    # When this commits, a delivery task is queued (when the app sends mail by itself).
    tasks.deliver_after_commit(db.session())
    db.session.commit()
    db.session.refresh(message)
    return Retried(message, status_before)
