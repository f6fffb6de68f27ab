"""Recertification: starting a toolkit from one of the town's toolkits of an earlier cycle.

The answers are copied as a draft of the current cycle, read with the current definition (what it
no longer asks is dropped and named); the earlier toolkit's evidence is offered to attach again,
one file at a time, each as a copy of the stored file. Only the town's own staff do either, and
only from their own town's earlier toolkits.

On recertification the equity process must be applied to new actions (the program's rule): an
action the town was certified for with an approved toolkit of an earlier cycle is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from sct_forms import audit
from sct_forms.domain.forms import Form
from sct_forms.domain.recertification import (
    Dropped,
    FlaggedDate,
    carry_over,
    flagged_dates,
)
from sct_forms.domain.roles import is_town_staff
from sct_forms.domain.toolkit_definition import CURRENT_VERSIONS, load_definition
from sct_forms.domain.workflow import State
from sct_forms.evidence import storage
from sct_forms.extensions import db
from sct_forms.models import Action, Cycle, Evidence, Municipality, StepAnswers, Toolkit, User
from sct_forms.models.types import utcnow
from sct_forms.storage import PendingWrites
from sct_forms.toolkits.services import (
    EQUITY_ACTION_NUMBER,
    StartRefusedError,
    definition_for,
    may_edit,
    record_of,
)


class CopyRefusedError(StartRefusedError):
    """A copy or an attachment refused; ``code`` names the reason for the page to explain."""


class NotCopyableError(LookupError):
    """No earlier toolkit of this town by that id (or no such file): the page is a 404."""


# --- the earlier toolkits -------------------------------------------------------------------


def earlier_toolkits(town: Municipality, cycle: Cycle) -> list[Toolkit]:
    """The town's Equity Toolkits of cycles before ``cycle``, approved ones first, then the
    latest cycle first. Withdrawn toolkits are left out: the town itself set them aside."""
    rows = db.session.scalars(
        select(Toolkit)
        .join(Cycle, Toolkit.cycle_id == Cycle.id)
        .where(
            Toolkit.municipality_id == town.id,
            Toolkit.form == Form.TOOLKIT,
            Toolkit.state != State.WITHDRAWN,
            Cycle.opens_on < cycle.opens_on,
        )
    ).all()
    return sorted(
        rows,
        key=lambda t: (
            t.state != State.APPROVED,
            -t.cycle.opens_on.toordinal(),
            t.paired_action.sort_key,
        ),
    )


def certified_actions(town: Municipality, cycle: Cycle) -> dict[str, Toolkit]:
    """Action numbers the town was certified for by an approved toolkit of an earlier cycle."""
    return {
        toolkit.paired_action.number: toolkit
        for toolkit in earlier_toolkits(town, cycle)
        if toolkit.state == State.APPROVED
    }


def source_toolkit(town: Municipality, cycle: Cycle, toolkit_id: int | None) -> Toolkit:
    """One of ``earlier_toolkits``; any other id (another town's, this cycle's) is not found."""
    found = next((t for t in earlier_toolkits(town, cycle) if t.id == toolkit_id), None)
    if found is None:
        raise NotCopyableError(toolkit_id)
    return found


def default_action(town: Municipality, cycle: Cycle, source: Toolkit) -> Action | None:
    """The same action in this cycle's catalog, if the town may still pair it; else none."""
    action = _catalog_action(cycle, source.paired_action.number)
    if action is None or _refusal(town, cycle, action) is not None:
        return None
    return action


def _catalog_action(cycle: Cycle, number: str) -> Action | None:
    return db.session.scalar(
        select(Action).where(
            Action.catalog_year == cycle.catalog_year,
            Action.number == number,
            Action.retired_at.is_(None),
        )
    )


def _refusal(town: Municipality, cycle: Cycle, action: Action) -> CopyRefusedError | None:
    """Why ``action`` may not be paired in a copy, or None."""
    if action.number == EQUITY_ACTION_NUMBER:
        return CopyRefusedError("is_equity_action")
    if action.catalog_year != cycle.catalog_year or action.retired_at is not None:
        return CopyRefusedError("not_in_catalog", action=action.label, year=cycle.catalog_year)
    certified = certified_actions(town, cycle).get(action.number)
    if certified is not None:
        return CopyRefusedError("certified_before", action=action.label, cycle=certified.cycle.name)
    already = record_of(town, cycle, Form.TOOLKIT, action)
    if already is not None:
        return CopyRefusedError("already_paired", action=action.label, toolkit_id=already.id)
    return None


# --- copying --------------------------------------------------------------------------------


def copy_toolkit(
    town: Municipality,
    cycle: Cycle,
    source_id: int | None,
    action_id: int | None,
    confirmed: bool,
    user: User,
) -> Toolkit:
    """A new draft toolkit of ``cycle`` with the answers of the town's earlier toolkit.

    Only the town's own staff copy (PermissionError otherwise); another town's toolkit, or one
    that is not of an earlier cycle, is not found (NotCopyableError). A second press of the
    button, once the copy exists, opens that copy instead of refusing.
    """
    if not is_town_staff(user, town.id):
        raise PermissionError("only the town's own staff start its toolkits")
    source = source_toolkit(town, cycle, source_id)
    action = db.session.get(Action, action_id) if action_id else None
    if action is None:
        raise CopyRefusedError("no_action")
    refused = _refusal(town, cycle, action)
    if refused is not None:
        existing = record_of(town, cycle, Form.TOOLKIT, action)
        if existing is not None and existing.copied_from_id == source.id:
            return existing
        raise refused
    if not confirmed:
        raise CopyRefusedError("not_confirmed")
    try:
        return _create_copy(town, cycle, source, action, user)
    except IntegrityError:
        # Someone started a toolkit on this action a moment earlier.
        db.session.rollback()
        existing = record_of(town, cycle, Form.TOOLKIT, action)
        if existing is not None and existing.copied_from_id == source.id:
            return existing
        raise CopyRefusedError("already_paired", action=action.label) from None


def _create_copy(
    town: Municipality, cycle: Cycle, source: Toolkit, action: Action, user: User
) -> Toolkit:
    definition = load_definition(CURRENT_VERSIONS[Form.TOOLKIT], Form.TOOLKIT)
    carried = carry_over(definition_for(source), definition, source.answers_by_step())
    toolkit = Toolkit(
        municipality=town,
        cycle=cycle,
        form=Form.TOOLKIT,
        paired_action=action,
        definition_version=definition.version,
        state=State.DRAFT,
        confirmed_in_submission=True,
        copied_from=source,
        created_by_id=user.id,
        updated_by_id=user.id,
    )
    # Version 1: the copied answers are a save, so a page opened on the blank version conflicts.
    toolkit.steps = [
        StepAnswers(
            step_key=step.key, data=carried.answers[step.key], version=1, updated_by_id=user.id
        )
        for step in definition.steps
    ]
    db.session.add(toolkit)
    db.session.flush()
    audit.record_toolkit_event(
        "toolkit.started",
        toolkit,
        user,
        form=Form.TOOLKIT.value,
        paired_action=action.number,
        cycle=cycle.name,
        definition_version=definition.version,
        copied_from=source.id,
        copied_from_cycle=source.cycle.name,
        copied_from_definition=source.definition_version,
        dropped=[f"{d.step_key}.{d.question_key}:{d.reason}" for d in carried.dropped],
    )
    db.session.commit()
    return toolkit


# --- what the copy must renew ---------------------------------------------------------------


def dropped_answers(toolkit: Toolkit) -> tuple[Dropped, ...]:
    """The earlier answers the copy's definition had no place for (read again, never stored)."""
    source = toolkit.copied_from
    if source is None:
        return ()
    return carry_over(
        definition_for(source), definition_for(toolkit), source.answers_by_step()
    ).dropped


def dates_to_renew(toolkit: Toolkit, step_key: str | None = None) -> list[FlaggedDate]:
    """Copied dates before the cycle's lookback start, of one step or of every step."""
    source = toolkit.copied_from
    if source is None:
        return []
    earlier = source.answers_by_step()
    lookback = toolkit.cycle.lookback_start
    found: list[FlaggedDate] = []
    for step in definition_for(toolkit).steps:
        if step_key is None or step.key == step_key:
            row = toolkit.step_answers(step.key)
            answers = (row.data if row else None) or {}
            found += flagged_dates(step, answers, earlier.get(step.key) or {}, lookback)
    return found


# --- evidence, attached again one file at a time --------------------------------------------


@dataclass(frozen=True)
class EarlierFile:
    """A file of the earlier toolkit, and its copy in this toolkit once attached."""

    evidence: Evidence
    attached: Evidence | None
    step_exists: bool


def earlier_evidence(toolkit: Toolkit, step_key: str | None = None) -> list[EarlierFile]:
    """The earlier toolkit's files (of one step, or all), each with its copy here if any."""
    source = toolkit.copied_from
    if source is None:
        return []
    step_keys = {step.key for step in definition_for(toolkit).steps}
    here = {(e.step_key, e.sha256): e for e in toolkit.evidence}
    return [
        EarlierFile(item, here.get((item.step_key, item.sha256)), item.step_key in step_keys)
        for item in source.evidence
        if step_key is None or item.step_key == step_key
    ]


def attach_evidence(toolkit: Toolkit, evidence_id: int | None, user: User) -> tuple[Evidence, bool]:
    """Attach a file of the earlier toolkit to ``toolkit``, as a copy of the stored file.

    Returns the evidence and whether it was attached now (False: it already was, say after a
    double click). The copy is written under a pending name and moved into place only after
    its row is committed (sct_forms.files), so files and rows agree after any crash; a copy,
    not the same file, since deleting either toolkit's evidence removes its file.
    """
    if not is_town_staff(user, toolkit.municipality_id):
        raise PermissionError("only the town's own staff attach its evidence")
    source = db.session.get(Evidence, evidence_id) if evidence_id else None
    if source is None or toolkit.copied_from_id is None:
        raise NotCopyableError(evidence_id)
    if source.toolkit_id != toolkit.copied_from_id:
        raise NotCopyableError(evidence_id)
    if not may_edit(user, toolkit):
        raise CopyRefusedError("locked")
    if source.step_key not in {step.key for step in definition_for(toolkit).steps}:
        raise CopyRefusedError("step_gone")
    data = _stored_bytes(source.storage_name, source.sha256)
    if data is None:
        raise CopyRefusedError("file_missing", title=source.title)
    print_data = _stored_bytes(source.print_storage_name) if source.print_storage_name else None
    toolkit_id, source_id = toolkit.id, source.id
    # End the read begun by loading the page's objects, then take the toolkit's row first thing
    # in a new transaction: a second click waits here and then finds the first click's file.
    db.session.commit()
    now = utcnow()
    db.session.execute(
        update(Toolkit)
        .where(Toolkit.id == toolkit_id)
        .values(updated_at=now, updated_by_id=user.id)
    )
    source = db.session.get(Evidence, source_id)
    toolkit = db.session.get(Toolkit, toolkit_id)
    existing = db.session.scalar(
        select(Evidence).where(
            Evidence.toolkit_id == toolkit_id,
            Evidence.step_key == source.step_key,
            Evidence.sha256 == source.sha256,
        )
    )
    if existing is not None:
        db.session.rollback()
        return existing, False
    pending = PendingWrites()
    try:
        evidence = Evidence(
            toolkit=toolkit,
            municipality_id=toolkit.municipality_id,
            step_key=source.step_key,
            title=source.title,
            alt_text=source.alt_text,
            people_consented=source.people_consented,
            kind=source.kind,
            mime_type=source.mime_type,
            display_name=source.display_name,
            size=source.size,
            sha256=source.sha256,
            storage_name=storage.write_pending(pending, data),
            print_storage_name=storage.write_pending(pending, print_data) if print_data else None,
            width=source.width,
            height=source.height,
            uploaded_by_id=user.id,
            uploaded_at=now,
        )
        db.session.add(evidence)
        db.session.flush()
        audit.record_toolkit_event(
            "evidence.added",
            toolkit,
            user,
            step=evidence.step_key,
            evidence_id=evidence.id,
            title=evidence.title,
            sha256=evidence.sha256,
            size=evidence.size,
            copied_from_evidence=source.id,
            copied_from_toolkit=source.toolkit_id,
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        pending.discard()
        raise
    pending.place()
    return evidence, True


def _stored_bytes(storage_name: str, sha256: str | None = None) -> bytes | None:
    """A stored file's bytes, or None if it is missing or (given ``sha256``) not the same."""
    try:
        data = storage.read(storage_name)
    except (OSError, ValueError):  # missing (StoredFileMissing is an OSError) or not our name
        return None
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        return None
    return data
