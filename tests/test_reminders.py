"""Reminder emails on a frozen clock: the right people get the right reminder, once.

The cycle of the fixtures (2026 Fall) has its submission deadline on 31 December 2026.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from sct_forms import jobs
from sct_forms.extensions import db
from sct_forms.models import AuditEvent, ChangeRequest, OutboxMessage, ReminderSent, Toolkit, User
from sct_forms.reminders import queries, services, tasks
from sct_forms.review import services as review
from tests.account_helpers import audit_events, reload, second_browser
from tests.conftest import make_user
from tests.frozen_clock import FrozenClock
from tests.toolkit_helpers import fill_completely, make_toolkit

DEADLINE = date(2026, 12, 31)
# Noon in Connecticut, so that the program's day is the calendar day named.
NOON_UTC = 17


def at_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, NOON_UTC, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch) -> FrozenClock:
    """The reminders' clock, frozen 40 days before the deadline."""
    frozen = FrozenClock(at_noon(DEADLINE - timedelta(days=40)))
    monkeypatch.setattr("sct_forms.reminders.services.now", frozen)
    return frozen


def set_day(clock: FrozenClock, day: date) -> None:
    clock.current = at_noon(day)


def reminders_of(kind: str, to: User | None = None) -> list[OutboxMessage]:
    db.session.expire_all()
    query = select(OutboxMessage).where(OutboxMessage.kind == f"reminder.{kind}")
    if to is not None:
        query = query.where(OutboxMessage.to_address == to.email)
    return list(db.session.scalars(query.order_by(OutboxMessage.id)))


def submitted(toolkit: Toolkit, staff: User, on: date) -> Toolkit:
    fill_completely(toolkit, staff)
    review.submit(toolkit, staff, "draft")
    toolkit.submitted_at = at_noon(on)
    db.session.commit()
    return toolkit


# --- deadline reminders ---------------------------------------------------------------------


def test_staff_with_drafts_are_reminded_30_7_and_1_days_before_the_deadline_once_each(
    clock, town, cycle, catalog, staff_user
):
    make_toolkit(town, cycle, catalog["3.4"], staff_user)
    days_sent = []
    day = DEADLINE - timedelta(days=40)
    while day <= DEADLINE + timedelta(days=2):
        set_day(clock, day)
        before = len(reminders_of("deadline"))
        tasks.send_daily_reminders()
        if len(reminders_of("deadline")) > before:
            days_sent.append((DEADLINE - day).days)
        day += timedelta(days=1)
    assert days_sent == [30, 7, 1]  # and on no other day: not on day 2, not on the deadline
    keys = db.session.scalars(select(ReminderSent.subject_key).order_by(ReminderSent.id)).all()
    assert keys == [f"cycle:{cycle.id}:town:{town.id}:deadline-{n}" for n in (30, 7, 1)]


def test_running_the_day_twice_sends_nothing_more(clock, town, cycle, catalog, staff_user):
    make_toolkit(town, cycle, catalog["3.4"], staff_user)
    set_day(clock, DEADLINE - timedelta(days=7))
    first = services.send_daily_reminders(services.program_today())
    second = services.send_daily_reminders(services.program_today())
    tasks.send_daily_reminders()
    assert first.counts["deadline"] == 1
    assert second.total == 0
    [message] = reminders_of("deadline")
    [sent] = db.session.scalars(select(ReminderSent)).all()
    assert (sent.kind, sent.user_id, sent.outbox_message_id) == (
        "deadline",
        staff_user.id,
        message.id,
    )


def test_two_runs_at_once_send_one_reminder(monkeypatch, clock, town, cycle, catalog, staff_user):
    make_toolkit(town, cycle, catalog["3.4"], staff_user)
    set_day(clock, DEADLINE - timedelta(days=7))
    services.send_daily_reminders(services.program_today())
    # A second worker that looked before the first committed: it finds nothing sent yet.
    monkeypatch.setattr(queries, "already_sent", lambda *args: False)
    again = services.send_daily_reminders(services.program_today())
    assert again.total == 0
    assert len(reminders_of("deadline")) == 1
    assert db.session.query(ReminderSent).count() == 1


def test_the_deadline_reminder_lists_the_towns_unsubmitted_records_with_links(
    clock, town, cycle, catalog, staff_user
):
    first = make_toolkit(town, cycle, catalog["3.4"], staff_user)
    second = make_toolkit(town, cycle, catalog["5.4"], staff_user)
    sent_already = submitted(
        make_toolkit(town, cycle, catalog["3.12"], staff_user), staff_user, date(2026, 11, 1)
    )
    set_day(clock, DEADLINE - timedelta(days=7))
    tasks.send_daily_reminders()
    [message] = reminders_of("deadline", staff_user)
    text, html = message.body_text, message.body_html
    assert message.subject == "Reminder: submit by December 31, 2026 (2026 Fall cycle)"
    assert "in 7 days" in text
    assert "Windham has 2 records it has not submitted yet:" in text
    for record in (first, second):
        link = f"http://localhost/toolkits/{record.id}"
        assert link in text and f'href="{link}"' in html
    assert "Equity Toolkit for 3.4 Develop an Open Space Plan" in text
    assert "Equity Toolkit for 5.4 Assess Climate Vulnerability" in html
    assert f"/toolkits/{sent_already.id}" not in text
    assert "3.12" not in text
    # Why the person receives it, and how to turn reminders off.
    assert "because you are town staff for Windham" in text
    assert "http://localhost/account/reminders" in text
    assert 'href="http://localhost/account/reminders"' in html
    assert "Turn reminder emails off" in html


def test_towns_with_everything_submitted_get_no_deadline_reminder(
    clock, town, other_town, cycle, catalog, staff_user, other_staff_user
):
    make_toolkit(town, cycle, catalog["3.4"], staff_user)
    submitted(
        make_toolkit(other_town, cycle, catalog["3.4"], other_staff_user),
        other_staff_user,
        date(2026, 11, 1),
    )
    set_day(clock, DEADLINE - timedelta(days=30))
    tasks.send_daily_reminders()
    assert [m.to_address for m in reminders_of("deadline")] == [staff_user.email]


def test_deactivated_people_and_people_who_turned_reminders_off_get_none(
    clock, town, cycle, catalog, staff_user, password_hash
):
    make_toolkit(town, cycle, catalog["3.4"], staff_user)
    make_user("staff", "gone@windham.test", password_hash, town, active=False)
    make_user("staff", "quiet@windham.test", password_hash, town, reminders_enabled=False)
    colleague = make_user("staff", "lee@windham.test", password_hash, town)
    set_day(clock, DEADLINE - timedelta(days=30))
    tasks.send_daily_reminders()
    assert sorted(m.to_address for m in reminders_of("deadline")) == sorted(
        [staff_user.email, colleague.email]
    )


def test_each_person_gets_the_reminder_in_their_language(
    app, clock, town, cycle, catalog, staff_user, password_hash
):
    assert "es" in app.config["LANGUAGES"]
    ana = make_user("staff", "ana@windham.test", password_hash, town, preferred_language="es")
    make_toolkit(town, cycle, catalog["3.4"], staff_user)
    set_day(clock, DEADLINE - timedelta(days=1))
    tasks.send_daily_reminders()
    english = reminders_of("deadline", staff_user)[0]
    spanish = reminders_of("deadline", ana)[0]
    assert '<html lang="en">' in english.body_html
    assert '<html lang="es">' in spanish.body_html
    assert "in 1 day." in english.body_text


def test_no_cycle_means_no_reminders(clock, town, staff_user):
    set_day(clock, DEADLINE - timedelta(days=7))
    assert services.send_daily_reminders(services.program_today()).total == 0
    assert services.send_review_digest(services.program_today()).total == 0


# --- changes left waiting ---------------------------------------------------------------------


def sent_back(town, cycle, action, staff: User, reviewer: User, on: date) -> Toolkit:
    """A record the reviewer sent back with changes requested, the decision dated ``on``."""
    toolkit = make_toolkit(town, cycle, action, staff)
    fill_completely(toolkit, staff)
    review.submit(toolkit, staff, "draft")
    review.start_review(toolkit, reviewer, "submitted")
    review.add_change_request(toolkit, "context", "team", "Name each role.", reviewer)
    review.decide(toolkit, "request_changes", reviewer, "in_review")
    _date_everything(toolkit, at_noon(on))
    return toolkit


def _date_everything(toolkit: Toolkit, moment: datetime) -> None:
    db.session.execute(
        update(AuditEvent)
        .where(AuditEvent.object_type == "toolkit", AuditEvent.object_id == str(toolkit.id))
        .values(at=moment)
    )
    db.session.execute(update(Toolkit).where(Toolkit.id == toolkit.id).values(updated_at=moment))
    db.session.commit()


def test_changes_untouched_for_14_days_are_reminded_once(
    clock, town, cycle, catalog, staff_user, reviewer_user
):
    decided = date(2026, 10, 1)
    toolkit = sent_back(town, cycle, catalog["3.4"], staff_user, reviewer_user, decided)
    days_sent = []
    for offset in range(0, 40):
        set_day(clock, decided + timedelta(days=offset))
        before = len(reminders_of("changes_waiting"))
        tasks.send_daily_reminders()
        if len(reminders_of("changes_waiting")) > before:
            days_sent.append(offset)
    assert days_sent == [14]
    [message] = reminders_of("changes_waiting")
    assert message.to_address == staff_user.email
    assert message.toolkit_id == toolkit.id
    assert message.subject == (
        "Reminder: changes requested on Equity Toolkit for 3.4 Develop an Open Space Plan"
    )
    assert "On October 1, 2026 a reviewer asked Windham for changes" in message.body_text
    assert "Nobody has worked on it for 14 days." in message.body_text
    assert f"http://localhost/toolkits/{toolkit.id}" in message.body_text
    assert "http://localhost/account/reminders" in message.body_text
    [sent] = db.session.scalars(select(ReminderSent)).all()
    assert sent.subject_key == f"toolkit:{toolkit.id}:changes-r1"
    # The deadline reminders do not count a record with changes requested as unsubmitted.
    assert reminders_of("deadline") == []


def test_a_save_by_the_town_starts_the_14_days_again(
    clock, town, cycle, catalog, staff_user, reviewer_user
):
    decided = date(2026, 10, 1)
    toolkit = sent_back(town, cycle, catalog["3.4"], staff_user, reviewer_user, decided)
    saved = decided + timedelta(days=10)
    db.session.execute(
        update(Toolkit).where(Toolkit.id == toolkit.id).values(updated_at=at_noon(saved))
    )
    db.session.commit()
    set_day(clock, decided + timedelta(days=14))
    tasks.send_daily_reminders()
    assert reminders_of("changes_waiting") == []
    set_day(clock, saved + timedelta(days=14))
    tasks.send_daily_reminders()
    assert len(reminders_of("changes_waiting")) == 1


def test_an_answer_to_a_request_counts_as_work_on_the_record(
    clock, town, cycle, catalog, staff_user, reviewer_user
):
    decided = date(2026, 10, 1)
    toolkit = sent_back(town, cycle, catalog["3.4"], staff_user, reviewer_user, decided)
    db.session.add(
        AuditEvent(
            action="change_request.answered",
            actor_id=staff_user.id,
            object_type="toolkit",
            object_id=str(toolkit.id),
            municipality_id=town.id,
            at=at_noon(decided + timedelta(days=5)),
            details={},
        )
    )
    db.session.commit()
    set_day(clock, decided + timedelta(days=14))
    tasks.send_daily_reminders()
    assert reminders_of("changes_waiting") == []


def test_a_later_decision_is_reminded_again(clock, town, cycle, catalog, staff_user, reviewer_user):
    decided = date(2026, 10, 1)
    toolkit = sent_back(town, cycle, catalog["3.4"], staff_user, reviewer_user, decided)
    set_day(clock, decided + timedelta(days=14))
    tasks.send_daily_reminders()
    # The town resubmits; the reviewer asks for changes once more.
    db.session.refresh(toolkit)
    for change in db.session.scalars(select(ChangeRequest)):
        change.status, change.town_response = "addressed", "Named each role."
    db.session.commit()
    review.submit(toolkit, staff_user, "changes_requested")
    review.start_review(toolkit, reviewer_user, "submitted")
    review.add_change_request(toolkit, "context", "team", "And their roles.", reviewer_user)
    review.decide(toolkit, "request_changes", reviewer_user, "in_review")
    again = decided + timedelta(days=20)
    db.session.execute(
        update(AuditEvent)
        .where(AuditEvent.object_id == str(toolkit.id), AuditEvent.at > at_noon(decided))
        .values(at=at_noon(again))
    )
    db.session.execute(
        update(Toolkit).where(Toolkit.id == toolkit.id).values(updated_at=at_noon(again))
    )
    db.session.commit()
    set_day(clock, again + timedelta(days=14))
    tasks.send_daily_reminders()
    keys = db.session.scalars(select(ReminderSent.subject_key).order_by(ReminderSent.id)).all()
    assert keys == [f"toolkit:{toolkit.id}:changes-r1", f"toolkit:{toolkit.id}:changes-r2"]


def test_changes_waiting_skip_people_who_turned_reminders_off(
    clock, town, cycle, catalog, staff_user, reviewer_user
):
    decided = date(2026, 10, 1)
    sent_back(town, cycle, catalog["3.4"], staff_user, reviewer_user, decided)
    staff_user.reminders_enabled = False
    db.session.commit()
    set_day(clock, decided + timedelta(days=20))
    tasks.send_daily_reminders()
    assert reminders_of("changes_waiting") == []


# --- the reviewers' weekly digest -------------------------------------------------------------

MONDAY = date(2026, 11, 23)


def test_active_reviewers_get_the_weekly_digest_once_a_week(
    clock,
    town,
    cycle,
    catalog,
    staff_user,
    reviewer_user,
    second_reviewer_user,
    admin_user,
    coach_user,
    password_hash,
):
    make_user("reviewer", "former@sct.test", password_hash, active=False)
    make_user("reviewer", "quiet@sct.test", password_hash, reminders_enabled=False)
    oldest = submitted(
        make_toolkit(town, cycle, catalog["3.4"], staff_user), staff_user, MONDAY - timedelta(9)
    )
    submitted(make_toolkit(town, cycle, catalog["5.4"], staff_user), staff_user, MONDAY)
    review.start_review(oldest, reviewer_user, "submitted")
    make_toolkit(town, cycle, catalog["3.12"], staff_user)  # a draft: not in the queue
    set_day(clock, MONDAY)
    tasks.send_review_digest()
    tasks.send_review_digest()
    messages = reminders_of("review_digest")
    assert sorted(m.to_address for m in messages) == sorted(
        [reviewer_user.email, second_reviewer_user.email]
    )
    message = messages[0]
    assert message.subject == "Review queue: 2 records wait"
    assert "2 records of the 2026 Fall cycle wait for review:" in message.body_text
    assert "Submitted, not yet started: 1" in message.body_text
    assert "In review: 1" in message.body_text
    assert "The oldest was submitted on November 14, 2026, 9 days ago." in message.body_text
    assert "http://localhost/review/queue" in message.body_text
    assert "because you are a reviewer" in message.body_text
    assert "http://localhost/account/reminders" in message.body_text
    # Later the same week: nothing more; the next week: the next digest.
    set_day(clock, MONDAY + timedelta(days=3))
    services.send_review_digest(services.program_today())
    assert len(reminders_of("review_digest")) == 2
    set_day(clock, MONDAY + timedelta(days=7))
    tasks.send_review_digest()
    assert len(reminders_of("review_digest")) == 4


def test_no_digest_when_nothing_waits_for_review(
    clock, town, cycle, catalog, staff_user, reviewer_user
):
    make_toolkit(town, cycle, catalog["3.4"], staff_user)
    set_day(clock, MONDAY)
    tasks.send_review_digest()
    assert reminders_of("review_digest") == []


# --- the schedule ---------------------------------------------------------------------------


def due_tasks(utc_time: datetime) -> set[str]:
    """The names of the reminder tasks the worker's scheduler starts at ``utc_time`` (naive)."""
    names = {type(task).__name__ for task in jobs.queue.read_periodic(utc_time)}
    return names & {"send_daily_reminders", "send_review_digest"}


def test_the_digest_runs_on_monday_at_8_and_the_reminders_daily_at_7_program_time(app):
    assert app.config["BABEL_DEFAULT_TIMEZONE"] == "America/New_York"
    # Winter: Connecticut is UTC-5.
    assert due_tasks(datetime(2026, 11, 23, 13, 0)) == {"send_review_digest"}
    assert due_tasks(datetime(2026, 11, 23, 12, 0)) == {"send_daily_reminders"}
    assert due_tasks(datetime(2026, 11, 24, 12, 0)) == {"send_daily_reminders"}
    assert due_tasks(datetime(2026, 11, 24, 13, 0)) == set()
    assert due_tasks(datetime(2026, 11, 23, 8, 0)) == set()
    # Summer: UTC-4, and still 8:00 on the program's clock.
    assert due_tasks(datetime(2026, 7, 6, 12, 0)) == {"send_review_digest"}
    assert due_tasks(datetime(2026, 7, 6, 11, 0)) == {"send_daily_reminders"}


# --- the command line -----------------------------------------------------------------------


def test_operators_send_a_days_reminders_from_the_command_line(
    runner, town, cycle, catalog, staff_user, reviewer_user
):
    make_toolkit(town, cycle, catalog["3.4"], staff_user)
    submitted(make_toolkit(town, cycle, catalog["5.4"], staff_user), staff_user, MONDAY)
    result = runner.invoke(args=["send-reminders", "--today", "2026-12-24"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Reminders for 2026-12-24: 1 deadline, 0 changes waiting, 0 review digest.\n"
    )
    again = runner.invoke(args=["send-reminders", "--today", "2026-12-24", "--digest"])
    assert again.output == (
        "Reminders for 2026-12-24: 0 deadline, 0 changes waiting, 1 review digest.\n"
    )
    assert len(reminders_of("deadline")) == 1
    assert [m.to_address for m in reminders_of("review_digest")] == [reviewer_user.email]


def test_the_command_refuses_a_day_that_is_not_a_date(runner):
    result = runner.invoke(args=["send-reminders", "--today", "24/12/2026"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output or "%Y-%m-%d" in result.output


# --- each person's choice -------------------------------------------------------------------


def test_the_password_page_links_to_the_reminder_setting(as_user, staff_user):
    html = as_user(staff_user).get("/account/password").get_data(as_text=True)
    assert 'href="/account/reminders"' in html


@pytest.mark.parametrize("who", ["staff_user", "reviewer_user", "coach_user", "admin_user"])
def test_each_person_turns_their_own_reminders_off_and_on_audited(request, as_user, who):
    person = request.getfixturevalue(who)
    client = as_user(person)
    page = client.get("/account/reminders")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="reminders-on" name="reminders" value="on" checked' in html
    assert "Now: reminder emails are on." in html

    off = client.post("/account/reminders", data={"reminders": "off"})
    assert off.status_code == 303 and off.location.endswith("/account/reminders")
    assert reload(person).reminders_enabled is False
    html = client.get("/account/reminders").get_data(as_text=True)
    assert "Reminder emails are off. We will not send you reminders." in html
    assert 'value="off" checked' in html

    client.post("/account/reminders", data={"reminders": "off"})  # already off: nothing new
    client.post("/account/reminders", data={"reminders": "on"})
    assert reload(person).reminders_enabled is True
    events = audit_events("user.reminders_turned_off") + audit_events("user.reminders_turned_on")
    assert [(e.action, e.actor_id, e.object_id) for e in events] == [
        ("user.reminders_turned_off", person.id, str(person.id)),
        ("user.reminders_turned_on", person.id, str(person.id)),
    ]


def test_the_page_says_which_reminders_the_role_receives(app, staff_user, coach_user):
    staff_html = second_browser(app, staff_user).get("/account/reminders").get_data(as_text=True)
    assert "30, 7 and 1 days before the submission deadline" in staff_html
    assert "every Monday" not in staff_html
    coach_html = second_browser(app, coach_user).get("/account/reminders").get_data(as_text=True)
    assert "We send no reminders to people in your role at the moment." in coach_html


@pytest.mark.parametrize("value", ["", "maybe", "ON"])
def test_a_choice_that_is_not_offered_is_refused_and_changes_nothing(as_user, staff_user, value):
    response = as_user(staff_user).post("/account/reminders", data={"reminders": value})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<title>Error: Reminder emails" in html
    assert '<a href="#reminders-on">Choose whether we send you reminder emails.</a>' in html
    assert reload(staff_user).reminders_enabled is True
    assert audit_events("user.reminders_turned_off") == []


def test_signed_out_people_cannot_change_a_setting(client, staff_user):
    response = client.post("/account/reminders", data={"reminders": "off"})
    assert response.status_code in (302, 303, 401)
    assert "/sign-in" in response.location if response.status_code != 401 else True
    assert reload(staff_user).reminders_enabled is True
    assert client.get("/account/reminders").status_code in (302, 303)


def test_someone_who_turned_reminders_off_gets_no_reminder_after(
    as_user, clock, town, cycle, catalog, staff_user
):
    make_toolkit(town, cycle, catalog["3.4"], staff_user)
    as_user(staff_user).post("/account/reminders", data={"reminders": "off"})
    set_day(clock, DEADLINE - timedelta(days=30))
    tasks.send_daily_reminders()
    assert reminders_of("deadline") == []
