"""Sending the reminders that are due, and each person's choice to receive them.

Which reminders are due is ``domain.reminders``; this module finds the people and records
(``queries``) and queues each email once (``notifications.send_once``). Every function takes
the program's calendar day, so the command line can run any day and tests freeze the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app

from sct_forms import audit
from sct_forms.cycles import current_cycle
from sct_forms.domain import reminders
from sct_forms.domain.reminders import Kind
from sct_forms.domain.workflow import State
from sct_forms.mail.outbox import public_url
from sct_forms.models import User, utcnow
from sct_forms.reminders import notifications, queries


def now() -> datetime:
    """The current time, aware and in UTC (tests freeze it here)."""
    return utcnow()


def program_zone() -> str:
    return current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC"


def program_today() -> date:
    """Today on the program's calendar (BABEL_DEFAULT_TIMEZONE), not the server's."""
    return reminders.local_date(now(), program_zone())


def _local_day(moment: datetime | None) -> date | None:
    return reminders.local_date(moment, program_zone()) if moment is not None else None


@dataclass
class Sent:
    """How many reminder emails of each kind one run queued."""

    counts: dict[str, int] = field(default_factory=lambda: {kind.value: 0 for kind in Kind})

    def add(self, kind: Kind, queued: bool) -> None:
        if queued:
            self.counts[kind.value] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def send_daily_reminders(today: date) -> Sent:
    """The deadline and waiting-changes reminders due on ``today``."""
    sent = Sent()
    cycle = current_cycle(today)
    if cycle is None:
        return sent
    _send_deadline_reminders(today, cycle, sent)
    _send_changes_waiting_reminders(today, cycle, sent)
    return sent


def _send_deadline_reminders(today: date, cycle, sent: Sent) -> None:  # noqa: ANN001
    records = queries.records_by_town(cycle)
    due_by_town = {
        town_id: due
        for town_id, town_records in records.items()
        if (
            due := reminders.deadline_reminder(
                today,
                cycle.submission_deadline,
                cycle.id,
                town_id,
                [record.state for record in town_records],
            )
        )
    }
    staff = queries.staff_receiving_reminders(due_by_town)
    for town_id, due in due_by_town.items():
        unsubmitted = [r for r in records[town_id] if reminders.is_unsubmitted(r.state)]
        town = unsubmitted[0].municipality
        for person in staff.get(town_id, []):
            sent.add(
                due.kind,
                notifications.send_once(
                    due,
                    person,
                    "reminder_deadline",
                    town=town.name,
                    cycle=cycle.name,
                    deadline=cycle.submission_deadline,
                    days_left=reminders.days_left(today, cycle.submission_deadline),
                    records=[
                        (r, public_url("toolkits.review", toolkit_id=r.id)) for r in unsubmitted
                    ],
                    link=public_url("towns.show", slug=town.slug),
                ),
            )


def _send_changes_waiting_reminders(today: date, cycle, sent: Sent) -> None:  # noqa: ANN001
    waiting = queries.waiting_on_changes(cycle)
    due_records = [
        (item, due)
        for item in waiting
        if (
            due := reminders.changes_waiting_reminder(
                today,
                item.toolkit.id,
                item.toolkit.state,
                item.toolkit.revision_count,
                _local_day(item.decided_at),
                _local_day(item.town_worked_at),
            )
        )
    ]
    staff = queries.staff_receiving_reminders(
        item.toolkit.municipality_id for item, _ in due_records
    )
    for item, due in due_records:
        toolkit = item.toolkit
        decided_on = _local_day(item.decided_at)
        quiet_since = reminders.quiet_since(decided_on, _local_day(item.town_worked_at))
        for person in staff.get(toolkit.municipality_id, []):
            sent.add(
                due.kind,
                notifications.send_once(
                    due,
                    person,
                    "reminder_changes_waiting",
                    toolkit=toolkit,
                    toolkit_id=toolkit.id,
                    town=toolkit.municipality.name,
                    cycle=cycle.name,
                    decided_on=decided_on,
                    days_waiting=(today - quiet_since).days,
                    deadline=cycle.submission_deadline,
                    link=public_url("toolkits.review", toolkit_id=toolkit.id),
                ),
            )


def send_review_digest(today: date) -> Sent:
    """The reviewers' weekly digest for ``today``'s week: the queue's size and oldest item."""
    sent = Sent()
    cycle = current_cycle(today)
    if cycle is None:
        return sent
    waiting = queries.waiting_for_review(cycle)
    due = reminders.review_digest(today, len(waiting))
    if due is None:
        return sent
    submitted_on = [_local_day(t.submitted_at) for t in waiting if t.submitted_at is not None]
    oldest_on = min(submitted_on, default=today)
    in_review = len([t for t in waiting if t.state == State.IN_REVIEW])
    for person in queries.people_receiving_reminders(reminders.RECIPIENTS[due.kind]):
        sent.add(
            due.kind,
            notifications.send_once(
                due,
                person,
                "reminder_review_digest",
                cycle=cycle.name,
                waiting=len(waiting),
                not_started=len(waiting) - in_review,
                in_review=in_review,
                oldest_on=oldest_on,
                oldest_days=(today - oldest_on).days,
                link=public_url("review.queue"),
            ),
        )
    return sent


# --- each person's choice -------------------------------------------------------------------


def set_reminders(person: User, enabled: bool) -> bool:
    """Turn ``person``'s reminder emails on or off, audited; the caller commits.

    Only the person chooses for themself (the page is theirs; nothing here takes another
    person). Returns whether anything changed: choosing what is already set records nothing.
    """
    if person.reminders_enabled == enabled:
        return False
    person.reminders_enabled = enabled
    audit.record(
        "user.reminders_turned_on" if enabled else "user.reminders_turned_off",
        actor=person,
        object_type="user",
        object_id=person.id,
        municipality_id=person.municipality_id,
    )
    return True


def reminders_for_role(role: str) -> tuple[Kind, ...]:
    """The kinds of reminder a person of ``role`` may receive, for the settings page."""
    return reminders.kinds_for_role(role)
