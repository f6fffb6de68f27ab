"""Read-side queries of the statewide view: a fixed number of statements, whatever the number of
towns, records or reviewers (each question below is one SELECT)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import String, cast, or_, select

from sct_forms.domain import workflow
from sct_forms.domain.certificates import CertificateStatus
from sct_forms.domain.roles import Role
from sct_forms.extensions import db
from sct_forms.models import (
    Action,
    AuditEvent,
    Category,
    Certificate,
    Cycle,
    Municipality,
    Toolkit,
    User,
)

__all__ = [
    "SUBMISSION_EVENTS",
    "DECISION_EVENTS",
    "CertifiedTown",
    "RecordRow",
    "ReviewEvent",
    "all_cycles",
    "certified_towns",
    "cycle_records",
    "review_events",
    "reviewers",
]

# The audit verbs of review.services: a town's (re)submission and a reviewer's decision.
SUBMISSION_EVENTS = ("toolkit.submitted", "toolkit.resubmitted")
DECISION_EVENTS = tuple(f"toolkit.{state}" for state in workflow.DECISION_STATES)


@dataclass(frozen=True)
class RecordRow:
    """A town, and one of its records of the cycle (all None for a town with no record)."""

    town_id: int
    record_id: int | None
    form: str | None
    action_number: str | None
    state: str | None
    category_number: int | None
    category_name: str | None
    submitted_at: datetime | None
    reviewer_id: int | None


@dataclass(frozen=True)
class ReviewEvent:
    """A submission or a decision of a record of the cycle."""

    record_id: int
    action: str
    at: datetime
    actor_id: int | None


def all_cycles() -> list[Cycle]:
    """Every cycle, newest first."""
    return list(db.session.scalars(select(Cycle).order_by(Cycle.opens_on.desc(), Cycle.id.desc())))


def cycle_records(cycle: Cycle) -> list[RecordRow]:
    """Every town with each of its records of ``cycle``, in one statement: a town without a
    record comes once, with None for the record's columns."""
    rows = db.session.execute(
        select(
            Municipality.id,
            Toolkit.id,
            Toolkit.form,
            Action.number,
            Toolkit.state,
            Category.number,
            Category.name,
            Toolkit.submitted_at,
            Toolkit.assigned_reviewer_id,
        )
        .select_from(Municipality)
        .outerjoin(
            Toolkit,
            (Toolkit.municipality_id == Municipality.id) & (Toolkit.cycle_id == cycle.id),
        )
        .outerjoin(Action, Toolkit.paired_action_id == Action.id)
        .outerjoin(Category, Action.category_id == Category.id)
        .order_by(Municipality.id, Toolkit.id)
    )
    return [RecordRow(*row) for row in rows]


def review_events(cycle: Cycle) -> list[ReviewEvent]:
    """The submissions and decisions of the records of ``cycle``, oldest first."""
    records_of_cycle = select(cast(Toolkit.id, String)).where(Toolkit.cycle_id == cycle.id)
    rows = db.session.execute(
        select(AuditEvent.object_id, AuditEvent.action, AuditEvent.at, AuditEvent.actor_id)
        .where(
            AuditEvent.object_type == "toolkit",
            AuditEvent.action.in_(SUBMISSION_EVENTS + DECISION_EVENTS),
            AuditEvent.object_id.in_(records_of_cycle),
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return [ReviewEvent(int(object_id), action, at, actor) for object_id, action, at, actor in rows]


def reviewers(also: Iterable[int]) -> list[User]:
    """Active reviewers, and the accounts ``also`` names (who held or decided something, even if
    their account has since been closed or their role changed), by name."""
    return list(
        db.session.scalars(
            select(User)
            .where(or_((User.role == Role.REVIEWER) & User.active, User.id.in_(list(also))))
            .order_by(User.name, User.id)
        )
    )


@dataclass(frozen=True)
class CertifiedTown:
    """A valid certificate as the public list shows it."""

    cycle_id: int
    cycle_name: str
    town_name: str
    tier: str
    serial: str
    expires_on: date


def certified_towns() -> list[CertifiedTown]:
    """Every valid certificate (not superseded, not revoked), newest cycle first, then by town."""
    rows = db.session.execute(
        select(
            Cycle.id,
            Cycle.name,
            Municipality.name,
            Certificate.tier,
            Certificate.serial,
            Certificate.expires_on,
        )
        .join(Cycle, Certificate.cycle_id == Cycle.id)
        .join(Municipality, Certificate.municipality_id == Municipality.id)
        .where(Certificate.status == CertificateStatus.VALID)
        .order_by(Cycle.opens_on.desc(), Cycle.id.desc(), Municipality.name)
    )
    return [CertifiedTown(*row) for row in rows]
