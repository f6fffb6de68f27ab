"""The audit log for administrators: events filtered by town, person, object, kind and dates,
a page at a time, or all of them as CSV.

Administrators only; everyone else is refused here (AuditLogRefusedError), whatever page asks.
Dates are days of the program's time zone (BABEL_DEFAULT_TIMEZONE), as the pages show times.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from sct_forms.admin.paging import Page, paginate
from sct_forms.domain.roles import Role
from sct_forms.exports.csv_file import csv_chunks
from sct_forms.extensions import db
from sct_forms.i18n import lazy_gettext as _l
from sct_forms.inputs import bounded_int
from sct_forms.models import AuditEvent, Municipality, User

# Rows the CSV reads from the database at once.
CSV_BATCH = 500
OBJECT_ID_MAX = 40  # AuditEvent.object_id
KIND_MAX = 60  # AuditEvent.action


class AuditLogRefusedError(Exception):
    """Only administrators read the audit log."""

    status = 403


def may_read_audit_log(user: User) -> bool:
    return user.is_authenticated and user.role == Role.ADMIN


def _require(user: User) -> None:
    if not may_read_audit_log(user):
        raise AuditLogRefusedError(user.role if user.is_authenticated else "anonymous")


@dataclass(frozen=True)
class LogFilters:
    """What the log is narrowed to; None is "any"."""

    town_id: int | None = None
    person_id: int | None = None
    object_type: str | None = None
    object_id: str | None = None
    kind: str | None = None
    since: date | None = None
    until: date | None = None

    def as_args(self) -> dict[str, str]:
        """The filters as the query string writes them (for the CSV link and the pages)."""
        values = {
            "town": self.town_id,
            "person": self.person_id,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "kind": self.kind,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        return {name: str(value) for name, value in values.items() if value is not None}


def _number(args: Mapping[str, str], name: str) -> int | None:
    try:
        return bounded_int(args.get(name, ""))
    except ValueError:
        return None


def _text(args: Mapping[str, str], name: str, limit: int) -> str | None:
    value = (args.get(name) or "").strip()
    return value[:limit] or None


def _day(args: Mapping[str, str], name: str) -> date | None:
    try:
        return date.fromisoformat((args.get(name) or "").strip())
    except ValueError:
        return None


def parse_filters(args: Mapping[str, str]) -> LogFilters:
    """Filters from a query string; a value that is not one (a bad date, a word for an id)
    is left out rather than refused, as the review queue's filters are."""
    return LogFilters(
        town_id=_number(args, "town"),
        person_id=_number(args, "person"),
        object_type=_text(args, "object_type", OBJECT_ID_MAX),
        object_id=_text(args, "object_id", OBJECT_ID_MAX),
        kind=_text(args, "kind", KIND_MAX),
        since=_day(args, "since"),
        until=_day(args, "until"),
    )


def _start_of(day: date) -> datetime:
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _query(filters: LogFilters) -> Select:
    query = select(AuditEvent)
    if filters.town_id is not None:
        query = query.where(AuditEvent.municipality_id == filters.town_id)
    if filters.person_id is not None:
        query = query.where(AuditEvent.actor_id == filters.person_id)
    if filters.object_type:
        query = query.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id:
        query = query.where(AuditEvent.object_id == filters.object_id)
    if filters.kind:
        query = query.where(AuditEvent.action == filters.kind)
    try:
        if filters.since:
            query = query.where(AuditEvent.at >= _start_of(filters.since))
        if filters.until and filters.until < date.max:
            query = query.where(AuditEvent.at < _start_of(filters.until + timedelta(days=1)))
    except OverflowError:
        pass  # a day at the very end of the calendar: no event is that old or that new
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).options(
        joinedload(AuditEvent.actor)
    )


def events(user: User, filters: LogFilters, page: int | None = None) -> Page:
    """A page of the events that match ``filters``, newest first."""
    _require(user)
    return paginate(_query(filters), page)


@dataclass(frozen=True)
class Choices:
    """What the filters offer: towns, people, and the object types and kinds on record."""

    towns: list[Municipality]
    people: list[User]
    object_types: list[str]
    kinds: list[str]


def choices(user: User) -> Choices:
    _require(user)
    return Choices(
        towns=list(db.session.scalars(select(Municipality).order_by(Municipality.name))),
        people=list(db.session.scalars(select(User).order_by(User.name, User.email))),
        object_types=list(
            db.session.scalars(select(AuditEvent.object_type).distinct().order_by("object_type"))
        ),
        kinds=list(db.session.scalars(select(AuditEvent.action).distinct().order_by("action"))),
    )


CSV_HEADER = (
    _l("When (UTC)"),
    _l("Kind"),
    _l("Person"),
    _l("Email"),
    _l("Town"),
    _l("Object type"),
    _l("Object id"),
    _l("Details"),
)


def csv_download(user: User, filters: LogFilters) -> Iterator[str]:
    """Every event that matches ``filters``, newest first, as CSV text in chunks."""
    _require(user)
    towns = {
        row.id: row.name for row in db.session.execute(select(Municipality.id, Municipality.name))
    }
    rows = db.session.scalars(_query(filters).execution_options(yield_per=CSV_BATCH))

    def values() -> Iterator[list]:
        for event in rows:
            yield [
                event.at,
                event.action,
                event.actor.name if event.actor else None,
                event.actor.email if event.actor else None,
                towns.get(event.municipality_id),
                event.object_type,
                event.object_id,
                json.dumps(event.details or {}, ensure_ascii=False, sort_keys=True, default=str),
            ]

    return csv_chunks([str(label) for label in CSV_HEADER], values())
