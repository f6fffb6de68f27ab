"""What the reminders read: who receives them, which records they are about, what was sent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from sct_forms.domain import reminders, workflow
from sct_forms.domain.roles import Role
from sct_forms.extensions import db
from sct_forms.models import AuditEvent, Cycle, ReminderSent, Toolkit, User

# The audit events that say a reviewer sent a record back, and that the town worked on it.
CHANGES_REQUESTED_EVENT = f"toolkit.{workflow.State.CHANGES_REQUESTED}"
TOWN_WORK_EVENTS = ("toolkit.step_saved", "change_request.answered")


def _receiving(query):  # noqa: ANN001, ANN202 - a select of User
    """People who receive reminders: active, with reminders on and an address."""
    return query.where(User.active, User.reminders_enabled, User.email != "")


def staff_receiving_reminders(town_ids: Iterable[int]) -> dict[int, list[User]]:
    """Each town's staff who receive reminders, by town id."""
    ids = list(set(town_ids))
    if not ids:
        return {}
    people = db.session.scalars(
        _receiving(select(User))
        .where(User.role == Role.STAFF, User.municipality_id.in_(ids))
        .order_by(User.id)
    )
    by_town: dict[int, list[User]] = defaultdict(list)
    for person in people:
        by_town[person.municipality_id].append(person)
    return dict(by_town)


def people_receiving_reminders(role: str) -> list[User]:
    """The people of ``role`` who receive reminders (for reviewers: the digest's readers)."""
    return list(
        db.session.scalars(_receiving(select(User)).where(User.role == role).order_by(User.id))
    )


def records_by_town(cycle: Cycle) -> dict[int, list[Toolkit]]:
    """Every record of ``cycle`` (any state) by town id, in the order they were started."""
    records = db.session.scalars(
        select(Toolkit).where(Toolkit.cycle_id == cycle.id).order_by(Toolkit.id)
    )
    by_town: dict[int, list[Toolkit]] = defaultdict(list)
    for record in records:
        by_town[record.municipality_id].append(record)
    return dict(by_town)


@dataclass(frozen=True)
class WaitingRecord:
    """A record with changes requested: when the reviewer decided, and the town's last work."""

    toolkit: Toolkit
    decided_at: datetime
    town_worked_at: datetime | None


def waiting_on_changes(cycle: Cycle) -> list[WaitingRecord]:
    """The records of ``cycle`` whose changes were requested, with the times that count."""
    states = [s for s in workflow.State if reminders.is_waiting_on_changes(s)]
    records = list(
        db.session.scalars(
            select(Toolkit)
            .where(Toolkit.cycle_id == cycle.id, Toolkit.state.in_(states))
            .order_by(Toolkit.id)
        )
    )
    if not records:
        return []
    ids = [str(record.id) for record in records]
    decided = _latest_event_times(ids, (CHANGES_REQUESTED_EVENT,))
    worked = _latest_event_times(ids, TOWN_WORK_EVENTS)
    waiting = []
    for record in records:
        # A record sent back before the audit trail kept decisions: its last change stands in.
        decided_at = decided.get(str(record.id)) or record.updated_at
        latest_work = max(
            (t for t in (worked.get(str(record.id)), record.updated_at) if t is not None),
            default=None,
        )
        waiting.append(WaitingRecord(record, decided_at, latest_work))
    return waiting


def _latest_event_times(toolkit_ids: list[str], actions: Iterable[str]) -> dict[str, datetime]:
    rows = db.session.execute(
        select(AuditEvent.object_id, func.max(AuditEvent.at))
        .where(
            AuditEvent.object_type == "toolkit",
            AuditEvent.object_id.in_(toolkit_ids),
            AuditEvent.action.in_(list(actions)),
        )
        .group_by(AuditEvent.object_id)
    )
    return {object_id: at for object_id, at in rows}


def waiting_for_review(cycle: Cycle) -> list[Toolkit]:
    """The review queue of ``cycle``: records with reviewers, oldest submission first."""
    return list(
        db.session.scalars(
            select(Toolkit)
            .where(Toolkit.cycle_id == cycle.id, Toolkit.state.in_(workflow.WITH_REVIEWERS))
            .order_by(Toolkit.submitted_at, Toolkit.id)
        )
    )


def already_sent(kind: str, user_id: int, subject_key: str) -> bool:
    return (
        db.session.scalar(
            select(ReminderSent.id).where(
                ReminderSent.kind == kind,
                ReminderSent.user_id == user_id,
                ReminderSent.subject_key == subject_key,
            )
        )
        is not None
    )
