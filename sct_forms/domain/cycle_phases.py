"""Where a certification cycle stands on a given day, and which of its settings may change.

A cycle is *future* before its opening date, *running* from its opening date through its
submission deadline (the deadline day included: towns submit until its end), and *past* after
the deadline. Every page and service asks ``cycle_phase``; ``sct_forms.cycles.current_cycle``
calls a cycle open when its phase is no longer future.

What may change in each phase:

* future: everything, without a confirmation;
* running: everything but the catalog year (towns' records use its actions), and only after an
  explicit confirmation, since towns' levels may change; the opening date cannot move after
  today (towns already work in it);
* past: nothing. A past cycle keeps the rules it was judged by.

No change may leave a cycle past (a deadline before today), and a new cycle opens after today.
Problems are returned as (field, code) so the pages say them in the reader's language.
"""

from __future__ import annotations

import enum
from datetime import date


class Phase(enum.StrEnum):
    FUTURE = "future"
    RUNNING = "running"
    PAST = "past"


def cycle_phase(opens_on: date, submission_deadline: date, today: date) -> Phase:
    """The phase of a cycle with these dates on ``today``."""
    if today < opens_on:
        return Phase.FUTURE
    if today <= submission_deadline:
        return Phase.RUNNING
    return Phase.PAST


def schedule_problems(
    *,
    opens_on: date,
    submission_deadline: date,
    lookback_start: date,
    release_on: date | None,
) -> dict[str, str]:
    """What is wrong with a cycle's dates, as {field: code}; empty when they fit together."""
    problems: dict[str, str] = {}
    if submission_deadline <= opens_on:
        problems["submission_deadline"] = "deadline_not_after_opening"
    if lookback_start > opens_on:
        problems["lookback_start"] = "lookback_after_opening"
    if release_on is not None and release_on < submission_deadline:
        problems["release_on"] = "release_before_deadline"
    return problems


def change_problems(
    before: Phase | None, after: Phase, *, catalog_changed: bool = False
) -> dict[str, str]:
    """Why a cycle in phase ``before`` (None: a new cycle) may not end up in phase ``after``.

    A past cycle is refused as a whole before this is asked (see ``may_change``).
    """
    problems: dict[str, str] = {}
    if before is None and after is not Phase.FUTURE:
        problems["opens_on"] = "new_cycle_not_future"
    elif after is Phase.PAST:
        problems["submission_deadline"] = "deadline_passed"
    if before is Phase.RUNNING:
        if after is Phase.FUTURE:
            problems["opens_on"] = "running_cannot_reopen_later"
        if catalog_changed:
            problems["catalog_year"] = "running_catalog_fixed"
    return problems


def may_change(phase: Phase) -> bool:
    """Whether a cycle in ``phase`` may be changed at all."""
    return phase is not Phase.PAST


def needs_confirmation(before: Phase | None, after: Phase) -> bool:
    """A change touches a running cycle (or starts one now): towns' levels may change."""
    return Phase.RUNNING in (before, after)
