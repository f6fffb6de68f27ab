"""Talking to the mail server: one SMTP connection per delivery pass, and the message it sends."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from sct_forms.models.types import utcnow

DEFAULT_TIMEOUT = 10


@dataclass(frozen=True)
class Outgoing:
    """What delivery needs of a claimed message, read before its transaction ends."""

    id: int
    to_address: str
    to_name: str
    subject: str
    body_text: str
    body_html: str | None
    created_at: datetime
    attempts: int


def build_message(outgoing: Outgoing, sender: str) -> EmailMessage:
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


class MailServerError(Exception):
    """Connecting, STARTTLS or logging in to the mail server failed."""

    def __init__(self, step: str, where: str) -> None:
        super().__init__(f"could not {step} {where}")
        self.step = step
        self.where = where


def describe(error: Exception) -> str:
    """One line for the outbox row and the log: what failed, and why."""
    if isinstance(error, MailServerError):
        cause = error.__cause__ or error
        return f"could not {error.step} {error.where}: {type(cause).__name__}: {cause}"
    return f"{type(error).__name__}: {error}"


@dataclass
class Mailer:
    """One SMTP connection per pass, opened for the first message and again after an error."""

    host: str
    port: int
    timeout: float
    use_tls: bool
    username: str | None
    password: str | None
    _smtp: smtplib.SMTP | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, config: Any) -> Mailer:
        return cls(
            host=config["MAIL_SERVER"],
            port=int(config.get("MAIL_PORT") or 25),
            timeout=float(config.get("MAIL_TIMEOUT") or DEFAULT_TIMEOUT),
            use_tls=bool(config.get("MAIL_USE_TLS")),
            username=config.get("MAIL_USERNAME"),
            password=config.get("MAIL_PASSWORD"),
        )

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
            raise MailServerError(step, where) from error
        try:
            if self.use_tls:
                step = "start TLS with"
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                step = "sign in to"
                smtp.login(self.username, self.password or "")
        except OSError as error:
            smtp.close()
            raise MailServerError(step, where) from error
        return smtp

    def close(self) -> None:
        if self._smtp is None:
            return
        smtp, self._smtp = self._smtp, None
        try:
            smtp.quit()
        except OSError:
            smtp.close()
