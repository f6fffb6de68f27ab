"""A reminder becomes one outbox email and one ``ReminderSent`` row, committed together.

The row's unique key (kind, person, subject key) makes each reminder reach each person once:
a second run finds it and skips, and of two runs at once the second one's commit fails on the
key and is rolled back, email included.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.exc import IntegrityError

from sct_forms.domain.reminders import Due
from sct_forms.extensions import db
from sct_forms.mail.outbox import public_url, queue_email, render_email
from sct_forms.models import ReminderSent, User, utcnow
from sct_forms.reminders import queries

#: The outbox's kind of each reminder email, after its reminder kind.
OUTBOX_KIND = "reminder.{kind}"


def send_once(due: Due, person: User, template: str, **context: Any) -> bool:
    """Queue ``template`` to ``person`` unless this reminder already reached them; commits.

    Returns whether the email was queued by this call.
    """
    if queries.already_sent(due.kind, person.id, due.subject_key):
        return False
    subject, text, html = render_email(
        template,
        language=person.preferred_language or current_app.config["BABEL_DEFAULT_LOCALE"],
        recipient_name=(person.name or "").strip(),
        settings_link=public_url("reminders.settings"),
        **context,
    )
    # Read before the commit, which expires them, and a rollback, which may have nothing to read.
    person_id, toolkit_id = person.id, context.get("toolkit_id")
    try:
        message = queue_email(
            kind=OUTBOX_KIND.format(kind=due.kind),
            to_address=person.email,
            to_name=person.name or "",
            subject=subject,
            body_text=text,
            body_html=html,
            toolkit_id=toolkit_id,
        )
        db.session.flush()
        db.session.add(
            ReminderSent(
                kind=due.kind,
                user_id=person_id,
                subject_key=due.subject_key,
                sent_at=utcnow(),
                outbox_message_id=message.id,
            )
        )
        db.session.commit()
    except IntegrityError:
        # Another run queued this reminder first; theirs is the one the person receives.
        db.session.rollback()
        return False
    return True
