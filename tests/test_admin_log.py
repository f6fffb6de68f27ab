"""The administrators' email outbox (status, filter, retry) and audit log (filters, pages, CSV).

Administrators only: staff, coaches and reviewers are refused by the pages and the services.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from sct_forms import audit
from sct_forms.admin import audit_log, outbox
from sct_forms.extensions import db
from sct_forms.models import AuditEvent, OutboxMessage
from sct_forms.models.types import utcnow
from tests import queue_helpers

REFUSED = ["staff_user", "coach_user", "reviewer_user"]


def _message(**values) -> OutboxMessage:  # noqa: ANN003
    fields = {
        "kind": "toolkit.submitted",
        "to_address": "riley.reviewer@sct.test",
        "to_name": "Riley",
        "subject": "Windham submitted a toolkit",
        "body_text": "Hello.",
        "send_after": utcnow(),
    }
    fields.update(values)
    message = OutboxMessage(**fields)
    db.session.add(message)
    db.session.commit()
    return message


def _retry_form(message: OutboxMessage) -> dict[str, str]:
    return {"attempts": str(message.attempts), "send_after": message.send_after.isoformat()}


def _events(action: str) -> list[AuditEvent]:
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
    db.session.commit()
    return events


@pytest.fixture
def gave_up(app) -> OutboxMessage:
    return _message(
        attempts=10,
        last_error="could not connect to mail:25: timed out",
        send_after=utcnow() + timedelta(hours=6),
    )


# --- the outbox --------------------------------------------------------------------------------


def test_retry_makes_a_message_delivery_gave_up_on_due_now_and_is_audited(
    as_user, admin_user, gave_up
):
    client = as_user(admin_user)
    page = client.get("/admin/outbox/").get_data(as_text=True)
    assert "Gave up after 10 attempts" in page
    assert f'action="/admin/outbox/{gave_up.id}/retry' in page

    response = client.post(f"/admin/outbox/{gave_up.id}/retry", data=_retry_form(gave_up))
    assert response.status_code == 303
    db.session.expire_all()
    message = db.session.get(OutboxMessage, gave_up.id)
    assert message.send_after <= utcnow()
    # A new series of tries; the error stays shown until the next try replaces it.
    assert message.attempts == 0 and message.sent_at is None
    assert message.last_error == "could not connect to mail:25: timed out"
    [event] = _events("outbox.retried")
    assert event.actor_id == admin_user.id
    assert (event.object_type, event.object_id) == ("outbox_message", str(gave_up.id))
    assert event.details["status_before"] == "gave_up"
    assert event.details["attempts_before"] == 10
    assert event.details["last_error"] == "could not connect to mail:25: timed out"
    assert "is due now" in client.get(response.location).get_data(as_text=True)


def test_retry_of_a_failing_message_keeps_its_count_of_attempts(as_user, admin_user):
    failing = _message(attempts=3, last_error="421 busy", send_after=utcnow() + timedelta(hours=1))
    response = as_user(admin_user).post(
        f"/admin/outbox/{failing.id}/retry", data=_retry_form(failing)
    )
    assert response.status_code == 303
    db.session.expire_all()
    message = db.session.get(OutboxMessage, failing.id)
    assert message.send_after <= utcnow() and message.attempts == 3


def test_a_second_click_changes_nothing_and_is_not_audited_twice(as_user, admin_user, gave_up):
    client = as_user(admin_user)
    form = _retry_form(gave_up)
    assert client.post(f"/admin/outbox/{gave_up.id}/retry", data=form).status_code == 303
    db.session.expire_all()
    due = db.session.get(OutboxMessage, gave_up.id).send_after
    db.session.commit()
    again = client.post(f"/admin/outbox/{gave_up.id}/retry", data=form)
    assert again.status_code == 409
    assert "changed since the page was shown" in again.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(OutboxMessage, gave_up.id).send_after == due
    assert len(_events("outbox.retried")) == 1


def test_a_sent_message_is_not_retried(as_user, admin_user):
    sent = _message(attempts=1, sent_at=utcnow())
    client = as_user(admin_user)
    assert f"/admin/outbox/{sent.id}/retry" not in client.get("/admin/outbox/").get_data(
        as_text=True
    )
    response = client.post(f"/admin/outbox/{sent.id}/retry", data=_retry_form(sent))
    assert response.status_code == 409
    assert _events("outbox.retried") == []


def test_a_message_perhaps_being_sent_now_is_left_alone(as_user, admin_user):
    # Delivery claims a message by moving its next try a few minutes ahead.
    claimed = _message(attempts=0, send_after=utcnow() + timedelta(minutes=4))
    client = as_user(admin_user)
    assert f"/admin/outbox/{claimed.id}/retry" not in client.get("/admin/outbox/").get_data(
        as_text=True
    )
    response = client.post(f"/admin/outbox/{claimed.id}/retry", data=_retry_form(claimed))
    assert response.status_code == 409
    assert "being sent" in response.get_data(as_text=True)
    assert _events("outbox.retried") == []


def test_a_retry_without_the_message_as_seen_is_refused(as_user, admin_user, gave_up):
    client = as_user(admin_user)
    for form in ({}, {"attempts": "10", "send_after": "yesterday"}, {"attempts": "x"}):
        response = client.post(f"/admin/outbox/{gave_up.id}/retry", data=form)
        assert response.status_code == 422, form
    assert client.post("/admin/outbox/999/retry", data=_retry_form(gave_up)).status_code == 404
    assert _events("outbox.retried") == []


def test_a_retry_queues_delivery_when_the_app_sends_mail(as_user, admin_user, gave_up, app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_DELIVERY="queue")
    queue_helpers.hold(app)
    try:
        response = as_user(admin_user).post(
            f"/admin/outbox/{gave_up.id}/retry", data=_retry_form(gave_up)
        )
        assert response.status_code == 303
        assert queue_helpers.pending() == ["deliver_outbox"]
    finally:
        queue_helpers.release(app)


def test_the_outbox_filters_by_status(as_user, admin_user, gave_up):
    _message(subject="Never tried")
    _message(subject="Tried twice", attempts=2, send_after=utcnow() + timedelta(minutes=30))
    _message(subject="Delivered", attempts=1, sent_at=utcnow())
    client = as_user(admin_user)
    expected = {
        "waiting": "Never tried",
        "failing": "Tried twice",
        "gave_up": gave_up.subject,
        "sent": "Delivered",
    }
    for status, subject in expected.items():
        html = client.get(f"/admin/outbox/?status={status}").get_data(as_text=True)
        assert "1 email." in html, status
        assert subject in html, status
    assert "4 emails." in client.get("/admin/outbox/?status=nonsense").get_data(as_text=True)


@pytest.mark.parametrize("role", REFUSED)
def test_others_are_refused_the_outbox_and_its_retry(request, as_user, gave_up, role):
    user = request.getfixturevalue(role)
    client = as_user(user)
    assert client.get("/admin/outbox/").status_code == 403
    response = client.post(f"/admin/outbox/{gave_up.id}/retry", data=_retry_form(gave_up))
    assert response.status_code == 403
    with pytest.raises(outbox.OutboxRefusedError):
        outbox.retry(
            gave_up.id, user, seen_attempts=gave_up.attempts, seen_send_after=gave_up.send_after
        )
    with pytest.raises(outbox.OutboxRefusedError):
        outbox.messages(user)
    db.session.expire_all()
    assert db.session.get(OutboxMessage, gave_up.id).attempts == 10
    assert _events("outbox.retried") == []


# --- the audit log -----------------------------------------------------------------------------


@pytest.fixture
def logged(town, other_town, staff_user, other_staff_user, admin_user):
    """Events of two towns by two people, on two days."""
    audit.record(
        "toolkit.approved",
        actor=admin_user,
        object_type="toolkit",
        object_id=7,
        municipality_id=town.id,
        reason="=1+1",
    )
    audit.record(
        "toolkit.submitted",
        actor=staff_user,
        object_type="toolkit",
        object_id=7,
        municipality_id=town.id,
    )
    audit.record(
        "toolkit.submitted",
        actor=other_staff_user,
        object_type="toolkit",
        object_id=8,
        municipality_id=other_town.id,
    )
    old = audit.record("user.created", actor=admin_user, object_type="user", object_id=3)
    old.at = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
    db.session.commit()


def _log(client, query: str = "") -> list[tuple[str, str]]:  # noqa: ANN001
    html = client.get(f"/admin/log/?{query}").get_data(as_text=True)
    table = html.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in html else ""
    return [
        (row.split("<td>")[1].split("</td>")[0], row.split("<td>")[3].split("</td>")[0])
        for row in table.split("<tr>")[1:]
    ]


def test_the_audit_log_filters_by_town_person_object_kind_and_dates(
    as_user, admin_user, staff_user, town, logged
):
    client = as_user(admin_user)
    everything = len(_log(client))  # signing in is on record too
    assert everything >= 4
    assert _log(client, f"town={town.id}") == [
        ("toolkit.submitted", "toolkit 7"),
        ("toolkit.approved", "toolkit 7"),
    ]
    assert _log(client, f"person={staff_user.id}") == [("toolkit.submitted", "toolkit 7")]
    assert _log(client, "object_type=toolkit&object_id=8") == [("toolkit.submitted", "toolkit 8")]
    assert _log(client, "kind=toolkit.approved") == [("toolkit.approved", "toolkit 7")]
    assert _log(client, "since=2025-03-10&until=2025-03-10") == [("user.created", "user 3")]
    assert _log(client, "until=2025-03-09") == []
    assert len(_log(client, "since=2025-03-11")) == everything - 1
    # Values that are not one are left out, not refused.
    assert len(_log(client, "town=x&since=tomorrow&person=99999999999")) == everything


def test_the_audit_log_is_paged_fifty_at_a_time(as_user, admin_user):
    for number in range(120):
        audit.record("test.event", actor=None, object_type="thing", object_id=number)
    db.session.commit()
    client = as_user(admin_user)
    first = client.get("/admin/log/?kind=test.event").get_data(as_text=True)
    assert "120 events match." in first and "Page 1 of 3" in first
    assert first.count("<td>test.event</td>") == 50
    assert "thing 119" in first and "thing 69" not in first
    last = client.get("/admin/log/?kind=test.event&page=3").get_data(as_text=True)
    assert last.count("<td>test.event</td>") == 20 and "thing 0<" in last
    past = client.get("/admin/log/?kind=test.event&page=999").get_data(as_text=True)
    assert "Page 3 of 3" in past


def test_the_csv_has_every_event_the_filters_match(app, as_user, admin_user, town, logged):
    client = as_user(admin_user)
    page = client.get(f"/admin/log/?town={town.id}").get_data(as_text=True)
    assert f'href="/admin/log/events.csv?town={town.id}"' in page
    response = client.get(f"/admin/log/events.csv?town={town.id}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    data = response.get_data()
    assert data.startswith("\ufeff".encode())
    header, *rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    with app.test_request_context():
        assert header == [str(label) for label in audit_log.CSV_HEADER]
    assert [(r[1], r[4], r[5], r[6]) for r in rows] == [
        ("toolkit.submitted", "Windham", "toolkit", "7"),
        ("toolkit.approved", "Windham", "toolkit", "7"),
    ]
    assert rows[1][2] == "Alex Admin" and rows[1][3] == "alex.admin@sct.test"
    assert rows[1][7] == '{"reason": "=1+1"}'
    assert rows[0][0].endswith("Z") and rows[0][0][:4].isdigit()


def test_a_formula_in_a_csv_cell_of_the_log_is_neutralised(as_user, admin_user):
    audit.record("=HYPERLINK(1)", actor=None, object_type="-x", object_id="+1")
    db.session.commit()
    response = as_user(admin_user).get("/admin/log/events.csv?object_type=-x")
    header, row = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert (row[1], row[5], row[6]) == ("'=HYPERLINK(1)", "'-x", "'+1")


@pytest.mark.parametrize("role", REFUSED)
def test_others_are_refused_the_audit_log_and_its_csv(request, as_user, logged, role):
    user = request.getfixturevalue(role)
    client = as_user(user)
    assert client.get("/admin/log/").status_code == 403
    assert client.get("/admin/log/events.csv").status_code == 403
    for read in (
        lambda: audit_log.events(user, audit_log.LogFilters()),
        lambda: audit_log.csv_download(user, audit_log.LogFilters()),
        lambda: audit_log.choices(user),
    ):
        with pytest.raises(audit_log.AuditLogRefusedError):
            read()


def test_the_administration_page_links_to_the_outbox_and_the_log(as_user, admin_user):
    html = as_user(admin_user).get("/admin/").get_data(as_text=True)
    assert 'href="/admin/outbox/"' in html and 'href="/admin/log/"' in html
