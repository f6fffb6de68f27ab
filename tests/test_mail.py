"""The email outbox: queueing, delivery to a real local SMTP server with retries, the emails,
and the job-queue tasks that deliver them."""

from __future__ import annotations

import email
import socket
import threading
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from flask import render_template
from sqlalchemy import select, update

# Registers the outbox table in the shared metadata before the app fixture creates the tables.
import sct_forms.models.outbox  # noqa: F401
from sct_forms import jobs
from sct_forms.extensions import db
from sct_forms.mail import cli as mail_cli
from sct_forms.mail import delivery, smtp, tasks
from sct_forms.mail import outbox as mail_outbox
from sct_forms.models.outbox import OutboxMessage
from sct_forms.models.types import utcnow
from tests import queue_helpers
from tests.conftest import make_user
from tests.toolkit_helpers import make_toolkit

SUBMITTED = "Windham submitted the Equity Toolkit for 3.4 Develop an Open Space Plan"
LINK = "http://localhost/towns/windham/toolkits/1"


# --- a real SMTP server -------------------------------------------------------------------------


class Collector:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list = []
        self.sessions: list = []
        self.refuse = refuse or set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.envelopes.append(envelope)
        self.sessions.append(session)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    @property
    def subjects(self) -> list[str]:
        return [subject_of(message) for message in self.messages]


def subject_of(message: EmailMessage) -> str:
    # A long Subject may be folded right after "Subject:"; Python's parser then keeps the
    # space of the fold, where mail clients drop it.
    return message["Subject"].strip()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def smtp_server(smtp_port):
    """``smtp_server()`` starts a server on ``smtp_port`` and returns its collector."""
    controllers: list[Controller] = []

    def start(collector: Collector | None = None, **options) -> Collector:  # noqa: ANN003
        collector = collector or Collector()
        controller = Controller(collector, hostname="127.0.0.1", port=smtp_port, **options)
        controller.start()
        controllers.append(controller)
        return collector

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def mail_app(app, smtp_port):
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_port,
        MAIL_DEFAULT_SENDER="Sustainable CT Forms <forms@sct.test>",
        MAIL_TIMEOUT=5,
        # These tests deliver by hand; the job-queue tests below switch delivery on.
        MAIL_DELIVERY="off",
    )
    return app


# --- helpers ------------------------------------------------------------------------------------


def queue(n: int = 1, **overrides) -> list[OutboxMessage]:  # noqa: ANN003
    messages = []
    for i in range(n):
        fields = {
            "kind": "test.message",
            "to_address": f"person{i}@windham.test",
            "to_name": f"Person {i}",
            "subject": f"Message {i}",
            "body_text": f"Hello {i}.\nOpen {LINK}\n",
            "body_html": f'<p>Hello {i}. <a href="{LINK}">Open the toolkit</a></p>',
        }
        fields.update(overrides)
        messages.append(mail_outbox.queue_email(**fields))
    db.session.commit()
    return messages


def fresh(message: OutboxMessage) -> OutboxMessage:
    """The row as the database has it now (delivery updates rows behind the session's back)."""
    db.session.expire_all()
    return db.session.get(OutboxMessage, message.id)


def make_due(message: OutboxMessage) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(send_after=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


def text_and_html(message: EmailMessage) -> tuple[str, str]:
    """The decoded text and HTML parts, with the wire's CRLF line ends made plain newlines."""
    return tuple(
        message.get_body((subtype,)).get_content().replace("\r\n", "\n")
        for subtype in ("plain", "html")
    )


# --- delivery -----------------------------------------------------------------------------------


def test_a_queued_message_is_delivered_with_text_and_html(mail_app, smtp_server):
    collector = smtp_server()
    [message] = queue()

    assert delivery.deliver_pending() == {"sent": 1, "failed": 0, "skipped": 0}

    [received] = collector.messages
    assert received["To"] == "Person 0 <person0@windham.test>"
    assert received["From"] == "Sustainable CT Forms <forms@sct.test>"
    assert subject_of(received) == "Message 0"
    assert received.get_content_type() == "multipart/alternative"
    assert received["Message-ID"].startswith(f"<outbox-{message.id}.")
    assert received["Auto-Submitted"] == "auto-generated"
    assert collector.envelopes[0].rcpt_tos == ["person0@windham.test"]
    assert collector.envelopes[0].mail_from == "forms@sct.test"
    text, html = text_and_html(received)
    assert text == f"Hello 0.\nOpen {LINK}\n"
    assert f'<a href="{LINK}">Open the toolkit</a>' in html
    row = fresh(message)
    assert row.sent_at is not None
    assert row.attempts == 1
    assert row.last_error is None


def test_a_text_only_message_is_sent_as_plain_text(mail_app, smtp_server):
    collector = smtp_server()
    queue(body_html=None)
    delivery.deliver_pending()
    [received] = collector.messages
    assert received.get_content_type() == "text/plain"
    assert LINK in received.get_content()
    assert received.is_multipart() is False


def test_smtp_down_is_recorded_and_retried_later_then_delivered_once(
    mail_app, smtp_server, smtp_port
):
    [message] = queue()

    before = utcnow()
    assert delivery.deliver_pending() == {"sent": 0, "failed": 1, "skipped": 0}  # nothing raised
    row = fresh(message)
    assert row.attempts == 1
    assert row.sent_at is None
    assert f"could not connect to 127.0.0.1:{smtp_port}" in row.last_error
    assert "ConnectionRefusedError" in row.last_error
    assert row.send_after >= before + timedelta(minutes=1)
    assert row.status(10) == "waiting"

    # Not due yet: the server being back does not matter until the backoff has passed.
    collector = smtp_server()
    assert delivery.deliver_pending() == {"sent": 0, "failed": 0, "skipped": 0}
    assert collector.messages == []

    make_due(message)
    assert delivery.deliver_pending() == {"sent": 1, "failed": 0, "skipped": 0}
    assert delivery.deliver_pending() == {"sent": 0, "failed": 0, "skipped": 0}
    assert collector.subjects == ["Message 0"]
    row = fresh(message)
    assert row.sent_at is not None
    assert row.attempts == 2
    assert row.status(10) == "sent"


def test_an_unreachable_server_ends_the_pass_after_one_try(mail_app):
    messages = queue(3)
    # One connection failure says enough; the others are not charged an attempt.
    assert delivery.deliver_pending() == {"sent": 0, "failed": 1, "skipped": 2}
    assert [fresh(m).attempts for m in messages] == [1, 0, 0]


def test_two_passes_do_not_send_a_message_twice(mail_app, smtp_server):
    collector = smtp_server()
    queue(3)
    assert delivery.deliver_pending() == {"sent": 3, "failed": 0, "skipped": 0}
    assert delivery.deliver_pending() == {"sent": 0, "failed": 0, "skipped": 0}
    assert sorted(collector.subjects) == ["Message 0", "Message 1", "Message 2"]


def test_a_claimed_message_is_not_claimed_again(mail_app):
    [message] = queue()
    assert delivery._claim(message.id, 10) is not None  # noqa: SLF001
    # A second worker's claim finds the message no longer due.
    assert delivery._claim(message.id, 10) is None  # noqa: SLF001
    assert fresh(message).send_after > utcnow() + timedelta(minutes=4)


def test_concurrent_workers_send_each_message_exactly_once(mail_app, smtp_server):
    collector = smtp_server()
    queue(12)
    results: list[dict[str, int]] = []

    def worker() -> None:
        with mail_app.app_context():
            results.append(delivery.deliver_pending())

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(collector.subjects) == sorted(f"Message {i}" for i in range(12))
    assert sum(result["sent"] for result in results) == 12
    assert sum(result["failed"] for result in results) == 0


def test_backoff_grows_and_delivery_gives_up_after_max_attempts(mail_app, smtp_server):
    [message] = queue()
    expected = [1, 5, 15, 60, 360, 360, 360, 360, 360, 360]  # minutes
    for attempt, minutes in enumerate(expected, start=1):
        make_due(message)
        before = utcnow()
        assert delivery.deliver_pending()["failed"] == 1
        row = fresh(message)
        assert row.attempts == attempt
        wait = row.send_after - before
        assert timedelta(minutes=minutes) <= wait < timedelta(minutes=minutes, seconds=30)
    assert fresh(message).status(10) == "gave_up"

    # Given up: even with the server back and the time passed, it is not tried again.
    collector = smtp_server()
    make_due(message)
    assert delivery.deliver_pending() == {"sent": 0, "failed": 0, "skipped": 0}
    assert collector.messages == []
    row = fresh(message)
    assert row.attempts == 10
    assert row.sent_at is None
    assert row.last_error


def test_max_attempts_comes_from_the_configuration(mail_app):
    mail_app.config["MAIL_MAX_ATTEMPTS"] = 2
    [message] = queue()
    for _ in range(3):
        make_due(message)
        delivery.deliver_pending()
    assert fresh(message).attempts == 2


def test_without_a_mail_server_messages_stay_queued(app, smtp_server, smtp_port):
    collector = smtp_server()
    app.config.update(MAIL_SERVER=None, MAIL_PORT=smtp_port)
    messages = queue(2)

    assert delivery.deliver_pending() == {"sent": 0, "failed": 0, "skipped": 2}
    assert collector.messages == []
    for message in messages:
        row = fresh(message)
        assert (row.attempts, row.sent_at, row.last_error) == (0, None, None)


def test_a_refused_recipient_fails_alone(mail_app, smtp_server):
    collector = smtp_server(Collector(refuse={"person1@windham.test"}))
    messages = queue(3)

    assert delivery.deliver_pending() == {"sent": 2, "failed": 1, "skipped": 0}
    assert sorted(collector.subjects) == ["Message 0", "Message 2"]
    refused = fresh(messages[1])
    assert refused.attempts == 1
    assert "SMTPRecipientsRefused" in refused.last_error


def test_the_last_error_is_cut_to_500_characters(mail_app, monkeypatch):
    def fail(self, message):  # noqa: ANN001, ANN202
        raise RuntimeError("x" * 2000)

    monkeypatch.setattr(smtp.Mailer, "send", fail)  # noqa: SLF001
    [message] = queue()
    assert delivery.deliver_pending()["failed"] == 1
    assert len(fresh(message).last_error) == 500


def test_signs_in_when_a_username_is_configured(mail_app, smtp_server):
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
        logins.append((auth_data.login, auth_data.password))
        if auth_data.password == b"right":
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False, message="535 5.7.8 Invalid credentials")

    collector = smtp_server(authenticator=authenticator, auth_require_tls=False)
    mail_app.config.update(MAIL_USERNAME="forms", MAIL_PASSWORD="wrong")
    [message] = queue()

    assert delivery.deliver_pending()["failed"] == 1
    assert "could not sign in to" in fresh(message).last_error
    assert "wrong" not in fresh(message).last_error

    mail_app.config["MAIL_PASSWORD"] = "right"
    make_due(message)
    assert delivery.deliver_pending()["sent"] == 1
    assert collector.sessions[0].authenticated
    assert logins[0] == (b"forms", b"wrong")
    assert logins[-1] == (b"forms", b"right")


def test_starttls_is_required_when_configured(mail_app, smtp_server):
    # This server offers no STARTTLS: the message must not go out in the clear.
    collector = smtp_server()
    mail_app.config["MAIL_USE_TLS"] = True
    [message] = queue()

    assert delivery.deliver_pending()["failed"] == 1
    assert collector.messages == []
    assert "could not start TLS with" in fresh(message).last_error


# --- delivery on the job queue -----------------------------------------------------------------


@pytest.fixture
def queued_delivery(mail_app):
    mail_app.config["MAIL_DELIVERY"] = "queue"
    return mail_app


def test_committed_mail_is_sent_by_the_task_its_commit_queues(queued_delivery, smtp_server):
    collector = smtp_server()
    [message] = queue()  # test apps run a task at once where it is queued
    assert collector.subjects == ["Message 0"]
    assert fresh(message).sent_at is not None


def test_the_delivery_waits_in_the_queue_until_a_worker_runs_it(
    queued_delivery, smtp_server, held_queue
):
    collector = smtp_server()
    [message] = queue()
    assert queue_helpers.pending() == ["deliver_outbox"]
    assert collector.messages == []
    assert fresh(message).sent_at is None

    assert queue_helpers.run_queued() == 1
    assert collector.subjects == ["Message 0"]
    assert fresh(message).sent_at is not None


def test_committing_mail_queues_no_task_without_a_mail_server(app, held_queue):
    app.config.update(MAIL_SERVER=None, MAIL_DELIVERY="queue")
    [message] = queue()
    # Only the guard keeps the queue empty here: nothing in between swallows an error.
    assert queue_helpers.pending() == []
    assert fresh(message).sent_at is None

    app.config["MAIL_SERVER"] = "127.0.0.1"
    queue()
    assert queue_helpers.pending() == ["deliver_outbox"]


def test_mail_delivery_off_leaves_the_outbox_to_the_cli(queued_delivery, smtp_server, held_queue):
    collector = smtp_server()
    queued_delivery.config["MAIL_DELIVERY"] = "off"
    [message] = queue()
    assert queue_helpers.pending() == []

    tasks.sweep_outbox()  # nor does the minute's sweep send
    queue_helpers.run_queued()
    assert collector.messages == []
    assert fresh(message).sent_at is None


def test_a_rolled_back_change_queues_no_delivery(queued_delivery, held_queue):
    mail_outbox.queue_email(
        kind="test.message", to_address="a@windham.test", to_name="A", subject="S", body_text="B"
    )
    db.session.rollback()
    db.session.commit()
    assert queue_helpers.pending() == []
    assert db.session.scalar(select(OutboxMessage.id)) is None


def test_each_commit_with_mail_queues_a_delivery_and_each_message_goes_once(
    queued_delivery, smtp_server, held_queue
):
    # Mail committed while an earlier delivery runs has a task of its own to look again.
    collector = smtp_server()
    queue(subject="First")
    queue(subject="Second")
    assert queue_helpers.pending() == ["deliver_outbox", "deliver_outbox"]

    assert queue_helpers.run_queued() == 2
    assert sorted(collector.subjects) == ["First", "Second"]


def test_the_sweep_sends_mail_whose_task_was_lost_and_retries_when_due(
    queued_delivery, smtp_server, held_queue
):
    [retried] = queue(subject="Retried")
    queue_helpers.run_queued()  # the server is down: a failed try, to be retried in a minute
    assert fresh(retried).attempts == 1
    [lost] = queue(subject="Lost task")
    jobs.queue.flush()  # e.g. the queue's storage was wiped before a worker came to it
    assert queue_helpers.pending() == []

    collector = smtp_server()
    make_due(retried)
    tasks.sweep_outbox()
    queue_helpers.run_queued()
    assert sorted(collector.subjects) == ["Lost task", "Retried"]
    assert fresh(lost).sent_at is not None


def test_the_worker_sweeps_the_outbox_every_minute():
    minutes = [datetime(2026, 5, 1, 9, 0), datetime(2026, 5, 1, 9, 1), datetime(2026, 5, 1, 23, 59)]
    for minute in minutes:
        assert "sweep_outbox" in [t.name for t in jobs.queue.read_periodic(minute)]


def test_a_failing_delivery_task_leaves_the_messages_in_the_outbox(queued_delivery):
    queued_delivery.config["MAIL_PORT"] = "not a port"
    [message] = queue()  # the task fails; the change and its message are committed
    assert fresh(message).sent_at is None
    assert fresh(message).attempts == 0


def test_a_queue_that_refuses_the_task_does_not_fail_the_change(
    queued_delivery, held_queue, monkeypatch, caplog
):
    def storage_down(data, priority=None):  # noqa: ANN001, ANN202
        raise ConnectionError("the queue's storage is unreachable")

    monkeypatch.setattr(jobs.queue.storage, "enqueue", storage_down)
    [message] = queue()
    assert fresh(message).sent_at is None
    assert queue_helpers.pending() == []
    assert "could not queue email delivery" in caplog.text


# --- the notification emails ------------------------------------------------------------------


@pytest.fixture
def toolkit(town, cycle, catalog, staff_user):
    return make_toolkit(town, cycle, catalog["3.4"], staff_user)


def outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_reviewers_each_get_an_email_about_a_submission(
    toolkit, reviewer_user, second_reviewer_user, password_hash
):
    second_reviewer_user.preferred_language = "es"
    retired = make_user("reviewer", "former@sct.test", password_hash, active=False)
    db.session.commit()

    mail_outbox.notify_reviewers_of_submission(
        toolkit, [reviewer_user, second_reviewer_user, retired, reviewer_user], link=LINK
    )
    db.session.commit()

    messages = outbox()
    assert [m.to_address for m in messages] == [reviewer_user.email, second_reviewer_user.email]
    for message, user in zip(messages, [reviewer_user, second_reviewer_user], strict=True):
        assert message.kind == "toolkit.submitted"
        assert message.toolkit_id == toolkit.id
        assert message.to_name == user.name
        assert "2026 Fall" in message.body_text
        assert LINK in message.body_text
        assert f'href="{LINK}"' in message.body_html
        assert "click here" not in message.body_html.lower()
    english, spanish = messages
    assert english.subject == SUBMITTED
    assert f"Hello {reviewer_user.name}," in english.body_text
    assert ">Review the Windham Equity Toolkit for 3.4 Develop an Open Space Plan</a>" in (
        english.body_html
    )
    # Each reader gets the email in their own language.
    assert spanish.subject == "Windham envió el Kit de Equidad para 3.4 Develop an Open Space Plan"
    assert '<html lang="es">' in spanish.body_html


@pytest.mark.parametrize(
    ("decision", "subject", "next_step"),
    [
        (
            "changes_requested",
            "Changes requested: Equity Toolkit for 3.4 Develop an Open Space Plan",
            "answer each request, and submit it again",
        ),
        (
            "approved",
            "Approved: Equity Toolkit for 3.4 Develop an Open Space Plan",
            "nothing more is needed for this toolkit",
        ),
        (
            "not_approved",
            "Not approved: Equity Toolkit for 3.4 Develop an Open Space Plan",
            "read the reviewer's notes",
        ),
    ],
)
def test_town_staff_each_get_an_email_about_the_decision(
    toolkit, staff_user, password_hash, town, decision, subject, next_step
):
    colleague = make_user("staff", "jo.planner@windham.test", password_hash, town)
    reason = "Please add the sign-in sheet <b>and</b> photos."

    mail_outbox.notify_town_of_decision(
        toolkit, [staff_user, colleague], decision, LINK, open_requests=2, reason=reason
    )
    db.session.commit()

    messages = outbox()
    assert [m.to_address for m in messages] == [staff_user.email, colleague.email]
    for message in messages:
        assert message.kind == f"toolkit.{decision}"
        assert message.subject == subject
        assert message.toolkit_id == toolkit.id
        assert next_step in message.body_text
        assert LINK in message.body_text
        assert f'href="{LINK}"' in message.body_html
        assert reason in message.body_text
        # The reviewer's words are text, not markup, in the HTML email.
        assert "sign-in sheet &lt;b&gt;and&lt;/b&gt; photos" in message.body_html
        assert "You receive this email because you are town staff for Windham" in (
            message.body_text
        )
    if decision == "changes_requested":
        assert "There are 2 open requests." in messages[0].body_text


def test_one_open_request_is_singular_and_no_reason_is_fine(toolkit, staff_user):
    mail_outbox.notify_town_of_decision(toolkit, [staff_user], "changes_requested", LINK, 1)
    db.session.commit()
    [message] = outbox()
    assert "There is 1 open request." in message.body_text
    assert "The reviewer wrote" not in message.body_text


def test_a_path_becomes_an_absolute_link_and_unknown_decisions_are_refused(toolkit, staff_user):
    path = "/towns/windham/toolkits/1"
    mail_outbox.notify_town_of_decision(toolkit, [staff_user], "approved", path)
    db.session.commit()
    assert "http://localhost/towns/windham/toolkits/1" in outbox()[0].body_text
    with pytest.raises(ValueError, match="unknown decision"):
        mail_outbox.notify_town_of_decision(toolkit, [staff_user], "maybe", LINK)


def test_notifications_arrive_by_smtp(mail_app, smtp_server, toolkit, staff_user, reviewer_user):
    collector = smtp_server()
    mail_outbox.notify_reviewers_of_submission(toolkit, [reviewer_user], LINK)
    mail_outbox.notify_town_of_decision(toolkit, [staff_user], "changes_requested", LINK, 3)
    db.session.commit()

    assert delivery.deliver_pending() == {"sent": 2, "failed": 0, "skipped": 0}
    by_recipient = {m["To"].addresses[0].addr_spec: m for m in collector.messages}
    to_reviewer = by_recipient[reviewer_user.email]
    to_staff = by_recipient[staff_user.email]
    assert subject_of(to_reviewer) == SUBMITTED
    assert subject_of(to_staff) == (
        "Changes requested: Equity Toolkit for 3.4 Develop an Open Space Plan"
    )
    for received in (to_reviewer, to_staff):
        text, html = text_and_html(received)
        assert LINK in text
        assert f'href="{LINK}"' in html


# --- the command and the admin table -----------------------------------------------------------


def test_the_command_delivers_once(mail_app, smtp_server):
    collector = smtp_server()
    mail_cli.register(mail_app)
    queue(2)
    result = mail_app.test_cli_runner().invoke(args=["deliver-outbox"])
    assert result.exit_code == 0, result.output
    assert "2 sent, 0 failed, 0 skipped." in result.output
    assert len(collector.messages) == 2


def test_the_command_empties_a_queue_longer_than_a_batch(mail_app, smtp_server, monkeypatch):
    collector = smtp_server()
    monkeypatch.setattr(delivery, "BATCH", 2)
    mail_cli.register(mail_app)
    queue(5)
    result = mail_app.test_cli_runner().invoke(args=["deliver-outbox"])
    assert "5 sent, 0 failed, 0 skipped." in result.output
    assert len(collector.messages) == 5


def test_the_command_loops_until_interrupted(mail_app, smtp_server, monkeypatch):
    collector = smtp_server()
    mail_cli.register(mail_app)
    queue()
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(mail_cli.time, "sleep", sleep)
    result = mail_app.test_cli_runner().invoke(args=["deliver-outbox", "--loop", "30"])
    assert result.exit_code == 0, result.output
    assert naps == [30, 30]
    assert "1 sent, 0 failed, 0 skipped." in result.output
    assert "Stopped." in result.output
    assert len(collector.messages) == 1


def test_the_command_warns_without_a_mail_server(app):
    mail_cli.register(app)
    queue()
    result = app.test_cli_runner().invoke(args=["deliver-outbox"])
    assert result.exit_code == 0
    assert "MAIL_SERVER is not set" in result.output
    assert "0 sent, 0 failed, 1 skipped." in result.output


def test_the_admin_table_shows_each_status(mail_app, smtp_server):
    sent, waiting, given_up, fresh_one = queue(4)
    smtp_server()
    delivery.deliver_pending(limit=1)  # sends the oldest
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == waiting.id)
        .values(attempts=2, last_error="could not connect to mail:25: timed out")
    )
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == given_up.id)
        .values(attempts=10, last_error="SMTPRecipientsRefused: no such mailbox")
    )
    db.session.commit()

    with mail_app.test_request_context():
        html = render_template("admin/_outbox.html", outbox_messages=mail_outbox.recent_messages())

    assert html.index("Message 3") < html.index("Message 0")  # newest first
    assert "Sent" in html
    assert "2 failed attempts" in html
    assert "could not connect to mail:25: timed out" in html
    assert "Gave up after 10 attempts" in html
    assert "person0@windham.test" in html
    assert fresh(sent).status(10) == "sent"
    assert fresh(fresh_one).status(10) == "waiting"


def test_the_admin_table_says_when_there_are_no_emails(app):
    with app.test_request_context():
        html = render_template("admin/_outbox.html", outbox_messages=[])
    assert "No emails yet." in html
    assert "No mail server is set up" in html
