"""Helpers for the account tests: emailed links, the outbox, a second browser."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from sct_forms.extensions import db
from sct_forms.models import AuditEvent, OutboxMessage, User
from tests.conftest import PASSWORD, sign_in

STRONG = "marble kettle orbit canyon"
STRONGER = "velvet anchor prairie lumen"


def outbox(kind: str | None = None, to: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    if to is not None:
        query = query.where(OutboxMessage.to_address == to)
    return list(db.session.scalars(query))


def link_path(message: OutboxMessage, route: str) -> str:
    """The path of the first link to ``route`` (such as "/password/reset/") in the email."""
    match = re.search(rf"http://localhost({re.escape(route)}[A-Za-z0-9_-]+)", message.body_text)
    assert match, message.body_text
    assert match.group(0) in (message.body_html or "")
    return match.group(1)


def audit_actions(user: User | None = None) -> list[str]:
    query = select(AuditEvent.action).order_by(AuditEvent.id)
    if user is not None:
        query = query.where(AuditEvent.object_type == "user", AuditEvent.object_id == str(user.id))
    return list(db.session.scalars(query))


def audit_events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def second_browser(app: Flask, user: User, password: str = PASSWORD) -> FlaskClient:
    browser = app.test_client()
    assert sign_in(browser, user, password).status_code == 303
    return browser


def is_signed_in(browser: FlaskClient) -> bool:
    """Whether ``browser`` still opens a signed-in page (the start page sends it somewhere)."""
    response = browser.get("/account/password")
    return response.status_code == 200


def reload(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)
