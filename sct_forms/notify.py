"""Email notifications through an outbox: queued with the change they report, sent after."""

# A message is queued in the same transaction as the change it reports, so a rolled-back change
# never sends mail and a committed change never loses its mail. Delivery happens afterwards: in
# a background thread after the request (deliver_soon) or from `flask deliver-outbox`. Failed
# sends are retried with backoff and stay visible to admins.

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from flask import Flask, current_app
from flask_babel import force_locale
from sqlalchemy import select, update

from sct_forms.domain import workflow
from sct_forms.extensions import db
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
DEFAULT_TIMEOUT = 10
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


def _supported_language(language: str | None) -> str:
    # An email must not claim (in its lang attribute) a language its text is not written in:
    # until a catalog for the language exists, write in the default language.
    if language and language in (current_app.config.get("LANGUAGES") or ()):
        return language
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


def _one_line(value: str) -> str:
    # Header values may not contain line breaks; templates end with one.
    return " ".join(value.split())


# --- the three notifications --------------------------------------------------------------------


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
            action=toolkit.paired_action.label,
            cycle=toolkit.cycle.name,
            link=link,
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


# --- delivery -----------------------------------------------------------------------------------


def max_attempts() -> int:
    """How many failed sends make delivery give up on a message."""
    return int(current_app.config.get("MAIL_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


def retry_delay(attempts: int) -> timedelta:
    """How long to wait before the next try, after ``attempts`` failed tries."""
    if attempts <= len(RETRY_DELAYS):
        return RETRY_DELAYS[max(attempts, 1) - 1]
    return RETRY_LAST


def recent_messages(limit: int = 50) -> list[OutboxMessage]:
    """The most recent outbox messages, newest first, for the admin page."""
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
            .limit(limit)
        )
    )


def deliver_pending(limit: int = 50) -> dict[str, int]:
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
    mailer = _Mailer(
        host=config["MAIL_SERVER"],
        port=int(config.get("MAIL_PORT") or 25),
        timeout=float(config.get("MAIL_TIMEOUT") or DEFAULT_TIMEOUT),
        use_tls=bool(config.get("MAIL_USE_TLS")),
        username=config.get("MAIL_USERNAME"),
        password=config.get("MAIL_PASSWORD"),
    )
    try:
        for position, message_id in enumerate(due_ids):
            outgoing = _claim(message_id, give_up_at)
            if outgoing is None:
                counts["skipped"] += 1
                continue
            try:
                mailer.send(_build(outgoing, sender))
            except _MailServerError as error:
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


@dataclass(frozen=True)
class _Outgoing:
    """What delivery needs of a claimed message, read before its transaction ends."""

    id: int
    to_address: str
    to_name: str
    subject: str
    body_text: str
    body_html: str | None
    created_at: datetime
    attempts: int


def _claim(message_id: int, give_up_at: int) -> _Outgoing | None:
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
    outgoing = _Outgoing(
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


def _record_sent(outgoing: _Outgoing) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outgoing.id)
        .values(sent_at=utcnow(), attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _record_failure(outgoing: _Outgoing, error: Exception) -> None:
    attempts = outgoing.attempts + 1
    description = _describe(error)
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


def _describe(error: Exception) -> str:
    if isinstance(error, _MailServerError):
        cause = error.__cause__ or error
        return f"could not {error.step} {error.where}: {type(cause).__name__}: {cause}"
    return f"{type(error).__name__}: {error}"


def _build(outgoing: _Outgoing, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = outgoing.subject
    message["From"] = sender
    message["To"] = Address(display_name=outgoing.to_name, addr_spec=outgoing.to_address)
    message["Date"] = format_datetime(utcnow())
    # The same Message-ID on every try lets mail clients drop a duplicate when a send
    # succeeded but could not be recorded.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    stamp = int(outgoing.created_at.timestamp())
    message["Message-ID"] = f"<outbox-{outgoing.id}.{stamp}@{domain}>"
    # RFC 3834: asks out-of-office responders not to answer.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(outgoing.body_text)
    if outgoing.body_html:
        message.add_alternative(outgoing.body_html, subtype="html")
    return message


class _MailServerError(Exception):
    """Connecting, STARTTLS or logging in to the mail server failed."""

    def __init__(self, step: str, where: str) -> None:
        super().__init__(f"could not {step} {where}")
        self.step = step
        self.where = where


@dataclass
class _Mailer:
    """One SMTP connection per pass, opened for the first message and again after an error."""

    host: str
    port: int
    timeout: float
    use_tls: bool
    username: str | None
    password: str | None
    _smtp: smtplib.SMTP | None = field(default=None, repr=False)

    def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(message)
        except Exception:
            # The session's state is unknown after an error; the next message starts afresh.
            self.close()
            raise

    def _connect(self) -> smtplib.SMTP:
        where = f"{self.host}:{self.port}"
        step = "connect to"
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except OSError as error:  # smtplib.SMTPException is an OSError too
            raise _MailServerError(step, where) from error
        try:
            if self.use_tls:
                step = "start TLS with"
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                step = "sign in to"
                smtp.login(self.username, self.password or "")
        except OSError as error:
            smtp.close()
            raise _MailServerError(step, where) from error
        return smtp

    def close(self) -> None:
        if self._smtp is None:
            return
        smtp, self._smtp = self._smtp, None
        try:
            smtp.quit()
        except OSError:
            smtp.close()


# --- after a request ----------------------------------------------------------------------------


@dataclass
class _BackgroundState:
    """Per app: at most one delivery thread, told to go again when new mail arrived meanwhile."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    running: bool = False
    again: bool = False


def deliver_soon(app: Flask) -> None:
    """Start delivering what a request just committed, as MAIL_DELIVERY says; never raises."""
    try:
        mode = app.config.get("MAIL_DELIVERY", "background")
        # Without a server nothing can be sent; not starting a thread keeps requests cheap.
        if mode == "off" or not app.config.get("MAIL_SERVER"):
            return  # a cron job or `flask deliver-outbox --loop` delivers
        if mode == "inline":
            _deliver_in_new_context(app)
            return
        _start_background(app)
    except Exception:  # noqa: BLE001 - the request's change is committed; mail can wait
        log.exception("could not start email delivery; the outbox keeps the messages")


def _deliver_in_new_context(app: Flask) -> None:
    # A fresh app context has its own database session, so delivery neither commits nor
    # expires anything in the caller's session.
    try:
        with app.app_context():
            deliver_pending()
    except Exception:  # noqa: BLE001 - e.g. the database went away; the next pass retries
        log.exception("email delivery pass failed; the outbox keeps the messages")


def _start_background(app: Flask) -> None:
    state: _BackgroundState = app.extensions.setdefault("sct_outbox", _BackgroundState())
    with state.lock:
        if state.running:
            # The running thread may have listed due messages before this request's commit.
            state.again = True
            return
        state.running = True
        state.again = False
    try:
        threading.Thread(
            target=_background_worker, args=(app, state), name="sct-forms-outbox", daemon=True
        ).start()
    except BaseException:
        with state.lock:
            state.running = False
        raise


def _background_worker(app: Flask, state: _BackgroundState) -> None:
    released = False
    try:
        while True:
            _deliver_in_new_context(app)
            with state.lock:
                if not state.again:
                    state.running = False
                    released = True
                    return
                state.again = False
    finally:
        # Should the thread die some other way, later requests must still be able to start one.
        if not released:
            with state.lock:
                state.running = False
