"""The outbox: emails rendered from templates and added to the session of the change they report.

A message is added in the same transaction as the change it reports, so a rolled-back change
never sends mail and a committed change never loses its mail. When that transaction commits,
a delivery task is queued (:mod:`sct_forms.mail.tasks`); the worker sends the message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app
from flask_babel import LazyString, force_locale
from sqlalchemy import select

from sct_forms.domain import workflow
from sct_forms.domain.forms import ACTION_FORMS
from sct_forms.extensions import db
from sct_forms.mail import tasks
from sct_forms.models.outbox import OutboxMessage
from sct_forms.models.types import utcnow

SUBJECT_MAX = 300

DECISIONS = workflow.DECISION_STATES


# --- queueing -----------------------------------------------------------------------------------


def queue_email(
    *,
    kind: str,
    to_address: str,
    to_name: str,
    subject: str,
    body_text: str,
    body_html: str | None = None,
    toolkit_id: int | None = None,
) -> OutboxMessage:
    """Add one email to the session; the caller commits it together with the change it reports."""
    now = utcnow()
    message = OutboxMessage(
        kind=kind,
        to_address=to_address.strip(),
        to_name=to_name.strip(),
        subject=_one_line(subject)[:SUBJECT_MAX],
        body_text=body_text,
        body_html=body_html,
        toolkit_id=toolkit_id,
        created_at=now,
        send_after=now,
        attempts=0,
    )
    db.session.add(message)
    tasks.deliver_after_commit(db.session())
    return message


def render_email(template_base: str, *, language: str, **context: Any) -> tuple[str, str, str]:
    """Render templates/emails/<template_base>.subject.txt, .txt and .html in ``language``."""
    language = _supported_language(language)
    # The app's jinja_env directly, not render_template: the page context processors assume a
    # request (navigation, htmx), and emails are also rendered from the CLI and from tests.
    env = current_app.jinja_env
    with force_locale(language):
        subject = _one_line(
            env.get_template(f"emails/{template_base}.subject.txt").render(lang=language, **context)
        )
        text = env.get_template(f"emails/{template_base}.txt").render(
            lang=language, subject=subject, **context
        )
        html = env.get_template(f"emails/{template_base}.html").render(
            lang=language, subject=subject, **context
        )
    return subject, text.strip() + "\n", html


def public_url(endpoint: str, **values: Any) -> str:
    """An absolute link for an email; works in a request, from the command line and in a task."""
    # url_for needs a request (or SERVER_NAME) to build a URL; the map itself does not.
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def _supported_language(language: str | None) -> str:
    # An email must not claim (in its lang attribute) a language its text is not written in:
    # until a catalog for the language exists, write in the default language.
    if language and language in (current_app.config.get("LANGUAGES") or ()):
        return language
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


def _one_line(value: str) -> str:
    # Header values may not contain line breaks; templates end with one.
    return " ".join(value.split())


# --- the workflow's emails ----------------------------------------------------------------------


def notify_reviewers_of_submission(toolkit: Any, reviewers: list, link: str) -> None:
    """Queue one email per reviewer: a town submitted a toolkit that waits for review."""
    _queue_for_each(
        reviewers,
        "toolkit_submitted",
        kind="toolkit.submitted",
        toolkit=toolkit,
        link=link,
    )


def notify_town_of_decision(
    toolkit: Any,
    staff: list,
    decision: str,
    link: str,
    open_requests: int = 0,
    reason: str | None = None,
) -> None:
    """Queue one email per town staff member: a reviewer requested changes, approved, or not."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}; expected one of {DECISIONS}")
    _queue_for_each(
        staff,
        f"toolkit_{decision}",
        kind=f"toolkit.{decision}",
        toolkit=toolkit,
        link=link,
        open_requests=open_requests,
        reason=(reason or "").strip() or None,
    )


def _queue_for_each(
    recipients: Iterable[Any],
    template_base: str,
    *,
    kind: str,
    toolkit: Any,
    link: str,
    **context: Any,
) -> None:
    link = _absolute(link)
    seen: set[str] = set()
    for user in recipients:
        address = (user.email or "").strip()
        # Deactivated accounts get no mail, and nobody gets the same email twice.
        if not address or not getattr(user, "active", True) or address.lower() in seen:
            continue
        seen.add(address.lower())
        subject, text, html = render_email(
            template_base,
            language=getattr(user, "preferred_language", None) or "en",
            recipient_name=(user.name or "").strip(),
            town=toolkit.municipality.name,
            # Evaluated inside render_email's locale: the catalog title in the reader's language.
            action=LazyString(lambda: toolkit.paired_action.label),
            cycle=toolkit.cycle.name,
            link=link,
            # The record of action 1.2 or 1.3 is named by its own title, which the templates
            # read through the record_title global so that it comes in the recipient's language.
            is_action_record=toolkit.form in ACTION_FORMS,
            toolkit=toolkit,
            **context,
        )
        queue_email(
            kind=kind,
            to_address=address,
            to_name=user.name or "",
            subject=subject,
            body_text=text,
            body_html=html,
            toolkit_id=toolkit.id,
        )


def _absolute(link: str) -> str:
    # Links must work from a mail client; a path alone is joined to the public address.
    if link.startswith("/"):
        return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + link
    return link


# --- for admins ---------------------------------------------------------------------------------


def recent_messages(limit: int = 50) -> list[OutboxMessage]:
    """The most recent outbox messages, newest first, for the admin page."""
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
            .limit(limit)
        )
    )
