"""Emails about a person's own account: reset links, invitations, "your password was changed"."""

from __future__ import annotations

from typing import Any

from flask import current_app

from sct_forms import notify
from sct_forms.models import User


def public_url(endpoint: str, **values: Any) -> str:
    """An absolute link for an email; works in a request and from the command line alike."""
    # url_for needs a request (or SERVER_NAME) to build a URL; the map itself does not.
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def queue_account_email(user: User, template_base: str, *, kind: str, **context: Any) -> None:
    """Queue templates/emails/<template_base>.* for ``user``; the caller commits."""
    subject, text, html = notify.render_email(
        template_base,
        language=user.preferred_language or "en",
        recipient_name=(user.name or "").strip(),
        **context,
    )
    notify.queue_email(
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
    notify.render_email(template_base, language="en", recipient_name="", **context)


def deliver_soon() -> None:
    """Start sending what was just committed, as MAIL_DELIVERY says."""
    notify.deliver_soon(current_app._get_current_object())  # noqa: SLF001
