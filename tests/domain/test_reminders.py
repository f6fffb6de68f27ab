"""The reminder rules: which reminders are due on a day, and their keys (no app, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from sct_forms.domain import reminders
from sct_forms.domain.reminders import Kind
from sct_forms.domain.roles import Role
from sct_forms.domain.workflow import State

DEADLINE = date(2026, 12, 31)


def days_before(n: int) -> date:
    return DEADLINE - timedelta(days=n)


def test_a_reminder_goes_out_30_7_and_1_days_before_the_deadline_and_on_no_other_day():
    reminded = {n: reminders.deadline_threshold(days_before(n), DEADLINE) for n in range(-3, 45)}
    # Every day of a daily schedule: the first day a threshold is due is its own.
    first_days = {}
    for n in sorted(reminded, reverse=True):
        if reminded[n] is not None:
            first_days.setdefault(reminded[n], n)
    assert first_days == {30: 30, 7: 7, 1: 1}


@pytest.mark.parametrize("n", [2, 3, 4, 8, 20, 27, 31, 0, -1])
def test_no_reminder_is_due_between_the_thresholds_nor_on_or_after_the_deadline(n):
    assert reminders.deadline_threshold(days_before(n), DEADLINE) is None


@pytest.mark.parametrize(("n", "threshold"), [(29, 30), (28, 30), (6, 7), (5, 7)])
def test_a_missed_run_is_made_up_within_two_days(n, threshold):
    assert reminders.deadline_threshold(days_before(n), DEADLINE) == threshold


def test_the_deadline_reminder_names_cycle_town_and_threshold():
    due = reminders.deadline_reminder(days_before(7), DEADLINE, 3, 12, ["approved", "draft"])
    assert due == reminders.Due(Kind.DEADLINE, "cycle:3:town:12:deadline-7")


@pytest.mark.parametrize(
    "states",
    [
        [],
        ["submitted", "in_review", "approved"],
        ["changes_requested"],  # reminded on its own: not counted as unsubmitted
        ["withdrawn", "not_approved"],
    ],
)
def test_a_town_without_drafts_gets_no_deadline_reminder(states):
    assert reminders.deadline_reminder(days_before(7), DEADLINE, 3, 12, states) is None


def test_only_drafts_count_as_unsubmitted():
    assert [s for s in State if reminders.is_unsubmitted(s)] == [State.DRAFT]
    assert reminders.UNSUBMITTED_STATES == (State.DRAFT,)


def test_changes_waiting_14_days_after_the_decision_are_reminded_once_per_decision():
    decided = date(2026, 10, 1)
    due = reminders.changes_waiting_reminder(
        decided + timedelta(days=14), 12, "changes_requested", 2, decided, None
    )
    assert due == reminders.Due(Kind.CHANGES_WAITING, "toolkit:12:changes-r2")
    assert (
        reminders.changes_waiting_reminder(
            decided + timedelta(days=13), 12, "changes_requested", 2, decided, None
        )
        is None
    )


def test_work_by_the_town_after_the_decision_starts_the_14_days_again():
    decided = date(2026, 10, 1)
    worked = date(2026, 10, 10)
    today = decided + timedelta(days=20)
    assert reminders.quiet_since(decided, worked) == worked
    assert (
        reminders.changes_waiting_reminder(today, 12, "changes_requested", 2, decided, worked)
        is None
    )
    assert reminders.changes_waiting_reminder(
        worked + timedelta(days=14), 12, "changes_requested", 2, decided, worked
    )
    # Work from before the decision does not count.
    assert reminders.quiet_since(decided, date(2026, 9, 1)) == decided


@pytest.mark.parametrize("state", [s for s in State if s != State.CHANGES_REQUESTED])
def test_only_records_with_changes_requested_get_the_waiting_reminder(state):
    decided = date(2026, 10, 1)
    assert (
        reminders.changes_waiting_reminder(
            decided + timedelta(days=30), 12, state, 2, decided, None
        )
        is None
    )


def test_the_digest_is_once_a_week_and_only_when_something_waits():
    monday = date(2026, 11, 23)
    assert reminders.review_digest(monday, 3) == reminders.Due(Kind.REVIEW_DIGEST, "queue:2026-W48")
    assert reminders.digest_key(monday + timedelta(days=6)) == "queue:2026-W48"
    assert reminders.digest_key(monday + timedelta(days=7)) == "queue:2026-W49"
    assert reminders.review_digest(monday, 0) is None


def test_each_role_knows_its_reminders():
    assert reminders.kinds_for_role(Role.STAFF) == (Kind.DEADLINE, Kind.CHANGES_WAITING)
    assert reminders.kinds_for_role(Role.REVIEWER) == (Kind.REVIEW_DIGEST,)
    assert reminders.kinds_for_role(Role.COACH) == ()
    assert reminders.kinds_for_role(Role.ADMIN) == ()


def test_the_program_day_is_its_own_time_zones():
    # 02:00 UTC on 1 December is still 30 November in Connecticut.
    late = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert reminders.local_date(late, "America/New_York") == date(2026, 11, 30)
    assert reminders.local_date(late.replace(tzinfo=None), "America/New_York") == date(2026, 11, 30)
    assert reminders.local_time(late, "America/New_York") == datetime(2026, 11, 30, 21, 0)
