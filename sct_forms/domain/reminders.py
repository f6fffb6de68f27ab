"""When the program's reminder emails are due: the rules, stated once.

Three kinds of reminder, each sent to a person once (the subject key names what it is about
and when; the database keeps the keys already sent):

- **deadline**: the staff of a town that still has unsubmitted records in the current cycle,
  30, 7 and 1 days before the cycle's submission deadline. "Unsubmitted" means a draft: the
  town's turn before it sent the record at all. A record whose changes were requested is the
  town's turn too, but it has a reminder of its own (next), so it is not counted twice.
- **changes waiting**: the staff of a town whose record came back with changes requested and
  lay untouched for 14 days (counted from the later of the decision and the town's last work on
  it). Once per decision: the reviewer's decision on revision N is reminded at most once, and a
  later decision on a later revision may be reminded again. A record saved again starts the 14
  days afresh, so a town that works on it is not reminded.
- **review digest**: every Monday, each reviewer learns how many records wait for review and
  how long the oldest has waited. Once per week; no digest when nothing waits.

The schedule runs daily; a day it did not run (the server was down) is made up by the next run
within ``CATCH_UP_DAYS`` of the threshold, never by a run closer to the next threshold.
Plain values in, plain answers out: no Flask, no database.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sct_forms.domain.roles import Role
from sct_forms.domain.workflow import State

#: Days before the submission deadline on which town staff are reminded, largest first.
DEADLINE_DAYS: tuple[int, ...] = (30, 7, 1)
#: How many days after a threshold a missed run still sends its reminder.
CATCH_UP_DAYS = 2
#: Days a record may wait, untouched, with changes requested before its town is reminded.
WAITING_DAYS = 14
#: The digest's weekday (``date.weekday()``: Monday is 0) and hours in the program's time zone.
DIGEST_WEEKDAY = 0
DIGEST_HOUR = 8
DAILY_HOUR = 7


class Kind(enum.StrEnum):
    """A reminder's kind; the value is what ``reminder_sent.kind`` stores."""

    DEADLINE = "deadline"
    CHANGES_WAITING = "changes_waiting"
    REVIEW_DIGEST = "review_digest"


#: Who receives each kind: the staff of the town in question, or the program's reviewers.
RECIPIENTS: dict[Kind, Role] = {
    Kind.DEADLINE: Role.STAFF,
    Kind.CHANGES_WAITING: Role.STAFF,
    Kind.REVIEW_DIGEST: Role.REVIEWER,
}


def kinds_for_role(role: str) -> tuple[Kind, ...]:
    """The kinds of reminder a person of ``role`` may receive (none for some roles)."""
    return tuple(kind for kind, receiver in RECIPIENTS.items() if receiver == role)


@dataclass(frozen=True)
class Due:
    """A reminder to send now: its kind and the key that makes it once per person."""

    kind: Kind
    subject_key: str


def is_unsubmitted(state: str) -> bool:
    """Whether a record in ``state`` counts as not yet submitted for the deadline reminder."""
    return state == State.DRAFT


#: The states the deadline reminder lists, for queries.
UNSUBMITTED_STATES: tuple[State, ...] = tuple(s for s in State if is_unsubmitted(s))


def is_waiting_on_changes(state: str) -> bool:
    """Whether a record in ``state`` waits for the town to make the changes a reviewer asked."""
    return state == State.CHANGES_REQUESTED


def days_left(today: date, deadline: date) -> int:
    return (deadline - today).days


def deadline_threshold(today: date, deadline: date) -> int | None:
    """Which of ``DEADLINE_DAYS`` is due on ``today``, or None.

    A threshold is due on its day and, for a missed run, up to ``CATCH_UP_DAYS`` later, but
    never on or after the next threshold's day and never on the deadline itself.
    """
    left = days_left(today, deadline)
    thresholds = sorted(DEADLINE_DAYS, reverse=True)
    for index, threshold in enumerate(thresholds):
        following = thresholds[index + 1] if index + 1 < len(thresholds) else 0
        lowest = max(threshold - CATCH_UP_DAYS, following + 1, 1)
        if lowest <= left <= threshold:
            return threshold
    return None


def deadline_reminder(
    today: date, deadline: date, cycle_id: int, town_id: int, states: Iterable[str]
) -> Due | None:
    """The deadline reminder due today for a town's staff, given its records' states."""
    if not any(is_unsubmitted(state) for state in states):
        return None
    threshold = deadline_threshold(today, deadline)
    if threshold is None:
        return None
    return Due(Kind.DEADLINE, f"cycle:{cycle_id}:town:{town_id}:deadline-{threshold}")


def quiet_since(decided_on: date, *town_work_on: date | None) -> date:
    """Since when a record with changes requested has lain untouched."""
    return max([decided_on, *(day for day in town_work_on if day is not None)])


def changes_waiting_reminder(
    today: date,
    toolkit_id: int,
    state: str,
    revision: int,
    decided_on: date,
    *town_work_on: date | None,
) -> Due | None:
    """The reminder due today about a record whose changes were requested, if it lay untouched
    for ``WAITING_DAYS``; once per decision (the decided revision is in its key)."""
    if not is_waiting_on_changes(state):
        return None
    if (today - quiet_since(decided_on, *town_work_on)).days < WAITING_DAYS:
        return None
    return Due(Kind.CHANGES_WAITING, f"toolkit:{toolkit_id}:changes-r{revision}")


def digest_key(today: date) -> str:
    """The week a digest is about, as its subject key: "queue:2026-W48"."""
    year, week, _ = today.isocalendar()
    return f"queue:{year}-W{week:02d}"


def review_digest(today: date, waiting: int) -> Due | None:
    """The reviewers' digest for ``today``'s week; None when nothing waits for review."""
    if waiting <= 0:
        return None
    return Due(Kind.REVIEW_DIGEST, digest_key(today))


def local_date(moment: datetime, zone: str) -> date:
    """The program's calendar day at ``moment`` (aware, or naive UTC) in time zone ``zone``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(zone)).date()


def local_time(moment: datetime, zone: str) -> datetime:
    """``moment`` (aware, or naive UTC) as a naive time on the program's clock in ``zone``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
