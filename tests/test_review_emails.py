"""Workflow emails reach a real SMTP server, and a failed send never blocks a decision."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from sct_forms.extensions import db
from sct_forms.mail import delivery
from sct_forms.models import OutboxMessage, Toolkit
from tests.toolkit_helpers import fill_completely, make_toolkit


class Collector:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(app):
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=controller.port,
        MAIL_DELIVERY="queue",
        PUBLIC_BASE_URL="http://sct.example",
    )
    yield collector
    controller.stop()


def body_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_path(text: str) -> str:
    url = next(word for word in text.split() if word.startswith("http://sct.example/"))
    return url.removeprefix("http://sct.example").rstrip(".,)")


def test_submission_change_request_and_approval_emails_arrive_with_working_links(
    smtp, as_user, staff_user, reviewer_user, cycle, catalog
):
    toolkit = make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)
    fill_completely(toolkit, staff_user)
    staff = as_user(staff_user)
    staff.post(f"/toolkits/{toolkit.id}/submit", data={"expected_state": "draft"})
    staff.post("/sign-out")
    submitted = smtp.messages[-1]
    assert submitted["To"].addresses[0].addr_spec == reviewer_user.email
    assert "Windham" in submitted["Subject"] and "3.4" in submitted["Subject"]
    reviewer = as_user(reviewer_user)
    assert reviewer.get(link_path(body_of(submitted))).status_code == 200

    reviewer.post(f"/review/toolkits/{toolkit.id}/claim", data={"expected_state": "submitted"})
    reviewer.post(
        f"/review/toolkits/{toolkit.id}/requests",
        data={"step_key": "context", "target": "team", "body": "Add roles."},
    )
    reviewer.post(
        f"/review/toolkits/{toolkit.id}/decision",
        data={"decision": "request_changes", "expected_state": "in_review"},
    )
    changes = smtp.messages[-1]
    assert changes["To"].addresses[0].addr_spec == staff_user.email
    assert "Changes requested" in changes["Subject"]
    reviewer.post("/sign-out")
    staff = as_user(staff_user)
    assert staff.get(link_path(body_of(changes))).status_code == 200
    staff.post("/sign-out")

    db.session.expire_all()
    toolkit = db.session.get(Toolkit, toolkit.id)
    toolkit.state = "in_review"  # the resubmission loop is covered elsewhere
    db.session.commit()
    reviewer = as_user(reviewer_user)
    reviewer.post(
        f"/review/toolkits/{toolkit.id}/decision",
        data={"decision": "approve", "expected_state": "in_review"},
    )
    # The approval made Bronze pass: the program's certificate email follows the decision's.
    approved, certificate = smtp.messages[-2:]
    assert approved["Subject"].startswith("Approved")
    assert certificate["Subject"] == "Windham reached Bronze: your certificate is ready"
    assert len(smtp.messages) == 4


def test_with_smtp_down_the_decision_is_recorded_and_the_mail_retried(
    app, as_user, staff_user, reviewer_user, cycle, catalog
):
    port = free_port()  # nothing listens here
    app.config.update(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_DELIVERY="queue", MAIL_TIMEOUT=2
    )
    toolkit = make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)
    fill_completely(toolkit, staff_user)
    staff = as_user(staff_user)
    assert (
        staff.post(f"/toolkits/{toolkit.id}/submit", data={"expected_state": "draft"}).status_code
        == 303
    )
    db.session.expire_all()
    assert db.session.get(Toolkit, toolkit.id).state == "submitted"
    message = db.session.query(OutboxMessage).one()
    assert message.sent_at is None and message.attempts == 1 and message.last_error

    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        message.send_after = message.created_at  # the retry is due now
        db.session.commit()
        result = delivery.deliver_pending()
    finally:
        controller.stop()
    assert result["sent"] == 1
    assert len(collector.messages) == 1
    db.session.expire_all()
    assert db.session.query(OutboxMessage).one().sent_at is not None
