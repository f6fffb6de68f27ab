"""Emails about a person's own account: reset links, invitations, "your password was changed"."""

from __future__ import annotations

from typing import Any

from sct_forms.mail import outbox
from sct_forms.models import User


def queue_account_email(user: User, template_base: str, *, kind: str, **context: Any) -> None:
    """Queue templates/emails/<template_base>.* for ``user``; the caller commits."""
    subject, text, html = outbox.render_email(
        template_base,
        language=user.preferred_language or "en",
        recipient_name=(user.name or "").strip(),
        **context,
    )
    outbox.queue_email(
        kind=kind,
        to_address=user.email,
        to_name=user.name or "",
        subject=subject,
        body_text=text,
        body_html=html,
    )


def render_only(template_base: str, **context: Any) -> None:
    """Render an email and drop it: the same work as queueing one, without sending anything.

    A reset request for an unknown address takes this path, so it takes about as long to answer
    as one that sends a link.
    """
    outbox.render_email(template_base, language="en", recipient_name="", **context)
