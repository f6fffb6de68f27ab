"""The tables program staff download for a cycle, and their columns, defined once.

Three tables: the Equity Toolkits, the records of actions 1.2 and 1.3, and the certificates.
Each is a list of columns (a header and how to read the value from a row) and a source of
rows; the CSV and XLSX files (csv_file, xlsx_file) write the same values. Rows are read in
batches, so an export of all 169 towns holds one batch at a time, not the whole cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from sct_forms.certificates.document import verification_url
from sct_forms.domain import workflow
from sct_forms.domain.forms import ACTION_FORMS, Form
from sct_forms.extensions import db
from sct_forms.i18n import get_locale_language
from sct_forms.i18n import gettext as _
from sct_forms.i18n import lazy_gettext as _l
from sct_forms.models import Action, AuditEvent, Cycle, Municipality, Toolkit
from sct_forms.models.certificates import Certificate
from sct_forms.templating import certificate_status_label
from sct_forms.toolkits.labels import internal_label
from sct_forms.toolkits.services import toolkit_completeness

# Rows read from the database at once.
BATCH = 100

#: The audit actions of a reviewer's decision, as review.services records them.
DECISION_ACTIONS = tuple(f"toolkit.{state}" for state in workflow.DECISION_STATES)


@dataclass(frozen=True)
class Column:
    """One column: its header, and the value of one row (a date, a number, a text or None)."""

    label: Any  # a lazy string: the header is in the language of the person downloading
    value: Callable[[Any], Any]


@dataclass(frozen=True)
class Table:
    """One table of a cycle: a CSV file, or a sheet of the workbook."""

    key: str  # in the file's name: "toolkits", "records", "certificates"
    title: Any
    columns: tuple[Column, ...]
    source: Callable[[Cycle], Iterator[Any]]

    def header(self) -> list[str]:
        return [str(column.label) for column in self.columns]

    def rows(self, cycle: Cycle) -> Iterator[list[Any]]:
        for item in self.source(cycle):
            yield [column.value(item) for column in self.columns]


def _in_batches(model: Any, ids: list[int], *options: Any) -> Iterator[tuple[list[int], list]]:
    """The rows of ``model`` with ``ids``, BATCH at a time and in the order of ``ids``, with
    ``options`` loaded. The session keeps loaded rows only while something refers to them, so
    a batch that has been written is let go."""
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        found = {
            row.id: row
            for row in db.session.scalars(
                select(model).where(model.id.in_(batch)).options(*options)
            ).unique()
        }
        yield batch, [found[i] for i in batch]


# --- records: Equity Toolkits and the records of actions 1.2 and 1.3 --------------------------


@dataclass(frozen=True)
class RecordRow:
    """A toolkit or record with what its columns need beyond the row itself."""

    toolkit: Toolkit
    decision: AuditEvent | None
    percent: int


def _records(cycle: Cycle, forms: Sequence[str]) -> Iterator[RecordRow]:
    ids = list(
        db.session.scalars(
            select(Toolkit.id)
            .join(Municipality, Municipality.id == Toolkit.municipality_id)
            .join(Action, Action.id == Toolkit.paired_action_id)
            .where(Toolkit.cycle_id == cycle.id, Toolkit.form.in_(forms))
            .order_by(Municipality.name, Toolkit.form, Action.number, Toolkit.id)
        )
    )
    for batch, toolkits in _in_batches(
        Toolkit,
        ids,
        joinedload(Toolkit.municipality),
        joinedload(Toolkit.paired_action),
        joinedload(Toolkit.assigned_reviewer),
        selectinload(Toolkit.steps),
        selectinload(Toolkit.evidence),
    ):
        decisions = _last_decisions(batch)
        for toolkit in toolkits:
            toolkit_id = toolkit.id
            yield RecordRow(
                toolkit=toolkit,
                decision=decisions.get(toolkit_id),
                percent=toolkit_completeness(toolkit).percent,
            )


def _last_decisions(toolkit_ids: list[int]) -> dict[int, AuditEvent]:
    """Each toolkit's latest decision (approved, changes requested, not approved), if any."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.object_type == "toolkit",
            AuditEvent.object_id.in_([str(i) for i in toolkit_ids]),
            AuditEvent.action.in_(DECISION_ACTIONS),
        )
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return {int(event.object_id): event for event in events}


def _form_label(form: str) -> str:
    return {
        Form.TOOLKIT: _("Equity Toolkit (1.1)"),
        Form.TRAINING: _("Equity training (1.2)"),
        Form.STATEMENT: _("Statement on equity (1.3)"),
    }.get(form, form)


def _action_title(action: Action) -> str:
    if get_locale_language() == "es" and action.title_es:
        return action.title_es
    return action.title


def _decision_label(event: AuditEvent | None) -> str | None:
    if event is None:
        return None
    return internal_label(event.action.removeprefix("toolkit."))


def _reviewer(row: RecordRow) -> str | None:
    """Who decided; before any decision, who holds the review."""
    person = row.decision.actor if row.decision else row.toolkit.assigned_reviewer
    return person.name if person else None


def _record_columns(action_number: Any, action_title: Any) -> tuple[Column, ...]:
    return (
        Column(_l("Town"), lambda r: r.toolkit.municipality.name),
        Column(_l("Cycle"), lambda r: r.toolkit.cycle.name),
        Column(_l("Form"), lambda r: _form_label(r.toolkit.form)),
        Column(action_number, lambda r: r.toolkit.paired_action.number),
        Column(action_title, lambda r: _action_title(r.toolkit.paired_action)),
        Column(_l("State"), lambda r: internal_label(r.toolkit.state)),
        Column(_l("Revisions submitted"), lambda r: r.toolkit.revision_count),
        Column(_l("Last submitted (UTC)"), lambda r: r.toolkit.submitted_at),
        Column(_l("Last decision"), lambda r: _decision_label(r.decision)),
        Column(_l("Decided (UTC)"), lambda r: r.decision.at if r.decision else None),
        Column(_l("Reviewer"), _reviewer),
        Column(_l("Reason given"), lambda r: r.toolkit.decision_reason),
        Column(_l("Percent complete"), lambda r: r.percent),
    )


TOOLKITS = Table(
    key="toolkits",
    title=_l("Equity Toolkits"),
    columns=_record_columns(_l("Paired action number"), _l("Paired action title")),
    source=lambda cycle: _records(cycle, (Form.TOOLKIT,)),
)

RECORDS = Table(
    key="records",
    title=_l("Actions 1.2 and 1.3"),
    columns=_record_columns(_l("Action number"), _l("Action title")),
    source=lambda cycle: _records(cycle, ACTION_FORMS),
)


# --- certificates -------------------------------------------------------------------------------


def _certificates(cycle: Cycle) -> Iterator[Certificate]:
    ids = list(
        db.session.scalars(
            select(Certificate.id)
            .join(Municipality, Municipality.id == Certificate.municipality_id)
            .where(Certificate.cycle_id == cycle.id)
            .order_by(Municipality.name, Certificate.issued_at, Certificate.id)
        )
    )
    for _batch, certificates in _in_batches(
        Certificate,
        ids,
        joinedload(Certificate.municipality),
        joinedload(Certificate.cycle),
        selectinload(Certificate.documents),
    ):
        yield from certificates


def _tier_label(tier: str) -> str:
    return {"bronze": _("Bronze"), "silver": _("Silver"), "gold": _("Gold")}.get(tier, tier)


def _fingerprints(certificate: Certificate) -> str:
    return "; ".join(f"{d.language}: {d.sha256}" for d in certificate.documents)


CERTIFICATES = Table(
    key="certificates",
    title=_l("Certificates"),
    columns=(
        Column(_l("Town"), lambda c: c.municipality.name),
        Column(_l("Cycle"), lambda c: c.cycle.name),
        Column(_l("Serial number"), lambda c: c.serial),
        Column(_l("Level"), lambda c: _tier_label(c.tier)),
        Column(_l("Status"), lambda c: certificate_status_label(c.public_status(date.today()))),
        Column(_l("Issued (UTC)"), lambda c: c.issued_at),
        Column(_l("Expires"), lambda c: c.expires_on),
        Column(_l("Revoked (UTC)"), lambda c: c.revoked_at),
        Column(_l("Reason for revoking"), lambda c: c.revoke_reason),
        Column(_l("Check page"), lambda c: verification_url(c.serial)),
        Column(_l("PDF fingerprints (SHA-256) by language"), _fingerprints),
    ),
    source=_certificates,
)

#: Every table, in the order of the workbook's sheets.
TABLES: tuple[Table, ...] = (TOOLKITS, RECORDS, CERTIFICATES)
TABLES_BY_KEY = {table.key: table for table in TABLES}
