"""The phase of a cycle and what may change in each, without the app."""

from __future__ import annotations

from datetime import date

import pytest

from sct_forms.domain.cycle_phases import (
    Phase,
    change_problems,
    cycle_phase,
    may_change,
    needs_confirmation,
    schedule_problems,
)

OPENS, DEADLINE = date(2027, 1, 1), date(2027, 6, 30)


@pytest.mark.parametrize(
    ("today", "phase"),
    [
        (date(2026, 12, 31), Phase.FUTURE),
        (OPENS, Phase.RUNNING),
        (DEADLINE, Phase.RUNNING),  # towns submit until the end of the deadline day
        (date(2027, 7, 1), Phase.PAST),
    ],
)
def test_the_phase_follows_the_opening_date_and_the_deadline(today, phase):
    assert cycle_phase(OPENS, DEADLINE, today) is phase


def test_dates_that_fit_together_have_no_problem():
    assert (
        schedule_problems(
            opens_on=OPENS, submission_deadline=DEADLINE, lookback_start=OPENS, release_on=DEADLINE
        )
        == {}
    )


def test_each_date_out_of_order_is_named():
    problems = schedule_problems(
        opens_on=OPENS,
        submission_deadline=OPENS,
        lookback_start=date(2027, 1, 2),
        release_on=date(2026, 12, 31),
    )
    assert problems == {
        "submission_deadline": "deadline_not_after_opening",
        "lookback_start": "lookback_after_opening",
        "release_on": "release_before_deadline",
    }


def test_what_may_change_in_each_phase():
    assert change_problems(None, Phase.FUTURE) == {}
    assert change_problems(None, Phase.RUNNING) == {"opens_on": "new_cycle_not_future"}
    assert change_problems(Phase.FUTURE, Phase.RUNNING) == {}
    assert change_problems(Phase.FUTURE, Phase.PAST) == {"submission_deadline": "deadline_passed"}
    assert change_problems(Phase.RUNNING, Phase.FUTURE, catalog_changed=True) == {
        "opens_on": "running_cannot_reopen_later",
        "catalog_year": "running_catalog_fixed",
    }
    assert [may_change(phase) for phase in Phase] == [True, True, False]


def test_a_change_touching_a_running_cycle_needs_a_confirmation():
    assert needs_confirmation(Phase.RUNNING, Phase.RUNNING)
    assert needs_confirmation(Phase.FUTURE, Phase.RUNNING)
    assert not needs_confirmation(Phase.FUTURE, Phase.FUTURE)
    assert not needs_confirmation(None, Phase.FUTURE)
