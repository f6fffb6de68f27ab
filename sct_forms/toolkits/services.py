"""Starting toolkits and saving their answers, without ever silently overwriting anyone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from sct_forms import audit
from sct_forms.domain import workflow
from sct_forms.domain.action_rules import training_gaps
from sct_forms.domain.answers import Problem, ValidationContext, refusing_problems
from sct_forms.domain.changes import changed_fields
from sct_forms.domain.completeness import (
    EvidenceSummary,
    Missing,
    StepCompleteness,
    ToolkitCompleteness,
    completeness,
    step_completeness,
)
from sct_forms.domain.forms import ACTION_FORMS, OWN_ACTION, Form
from sct_forms.domain.roles import is_town_staff
from sct_forms.domain.toolkit_definition import (
    CURRENT_VERSIONS,
    ToolkitDefinition,
    load_definition,
)
from sct_forms.domain.workflow import State
from sct_forms.extensions import db
from sct_forms.models import (
    Action,
    AuditEvent,
    Category,
    ChangeRequest,
    Cycle,
    Evidence,
    Municipality,
    StepAnswers,
    Toolkit,
    User,
)
from sct_forms.models.types import utcnow

EQUITY_ACTION_NUMBER = "1.1"
# The longest answer to a change request; longer ones are refused, never cut.
REQUEST_RESPONSE_MAX_LENGTH = 5000
# How much of each changed value the audit log keeps: enough to recognise the change, never an
# unbounded copy of what was typed.
AUDIT_EXCERPT_LENGTH = 200
STEP_SAVED_EVENT = "toolkit.step_saved"
# Autosaves come every few seconds while someone types. The audit log keeps one record per
# person, step and stretch of typing: the record of the first autosave is brought up to date by
# the next ones (the latest version and time, each changed field from its value before the
# stretch to its latest, how many saves), while nothing else happened to the toolkit in between
# and the stretch is shorter than this. Every other save and every other event is its own record.
AUTOSAVE_RECORD_SPAN = timedelta(minutes=15)
# How many of the toolkit's latest audit records an autosave looks through for the record to
# bring up to date (other steps' autosave records in between are passed over).
AUTOSAVE_RECORD_LOOKBACK = 10
# What a save of a step reads of its toolkit, loaded with it in one query: the cycle (the
# lookback window, the training rule) and every step's answers (the version check, the meter).
SAVE_LOADS = (joinedload(Toolkit.cycle), joinedload(Toolkit.steps))
# What a list of toolkits with their completeness and "last edited" reads of each: loaded for
# the whole list in a few queries, rather than a few queries per toolkit.
LISTED_LOADS = (
    selectinload(Toolkit.steps),
    selectinload(Toolkit.evidence),
    joinedload(Toolkit.paired_action),
    joinedload(Toolkit.updated_by),
)


# The statements of a save, built once: SQLAlchemy then reuses their cache key and compiled
# form, where a statement built in each request is constructed and keyed again every time.
_steps = StepAnswers.__table__
_toolkits = Toolkit.__table__
_events = AuditEvent.__table__
_SAVE_STEP = (
    _steps.update()
    .where(_steps.c.id == bindparam("row_id"), _steps.c.version == bindparam("base_version"))
    .values(
        data=bindparam("new_data", type_=_steps.c.data.type),
        version=bindparam("new_version", type_=_steps.c.version.type),
        updated_by_id=bindparam("by_id", type_=_steps.c.updated_by_id.type),
        updated_at=bindparam("at", type_=_steps.c.updated_at.type),
    )
)
_TOUCH_TOOLKIT = (
    _toolkits.update()
    .where(_toolkits.c.id == bindparam("toolkit_id"))
    .values(
        updated_at=bindparam("at", type_=_toolkits.c.updated_at.type),
        updated_by_id=bindparam("by_id", type_=_toolkits.c.updated_by_id.type),
    )
)
_RECENT_TOOLKIT_EVENTS = (
    select(AuditEvent.id, AuditEvent.action, AuditEvent.actor_id, AuditEvent.details)
    .where(
        AuditEvent.object_type == "toolkit",
        AuditEvent.object_id == bindparam("object_id", type_=AuditEvent.object_id.type),
    )
    .order_by(AuditEvent.id.desc())
    .limit(bindparam("lookback"))
)
_EXTEND_EVENT = (
    _events.update()
    .where(_events.c.id == bindparam("event_id"))
    .values(
        at=bindparam("at", type_=_events.c.at.type),
        details=bindparam("new_details", type_=_events.c.details.type),
    )
)
# The town's id picks the files by its index (evidence has none on the toolkit's id).
_STEP_EVIDENCE_KINDS = select(Evidence.kind).where(
    Evidence.municipality_id == bindparam("municipality_id"),
    Evidence.toolkit_id == bindparam("toolkit_id"),
    Evidence.step_key == bindparam("step_key", type_=Evidence.step_key.type),
)


def definition_for(toolkit: Toolkit) -> ToolkitDefinition:
    return load_definition(toolkit.definition_version, toolkit.form)


def validation_context(toolkit: Toolkit, today: date | None = None) -> ValidationContext:
    return ValidationContext(
        lookback_start=toolkit.cycle.lookback_start, today=today or date.today()
    )


def evidence_by_step(toolkit: Toolkit) -> dict[str, list[EvidenceSummary]]:
    found: dict[str, list[EvidenceSummary]] = {}
    for item in toolkit.evidence:
        found.setdefault(item.step_key, []).append(EvidenceSummary(kind=item.kind))
    return found


def rule_gaps(toolkit: Toolkit, definition: ToolkitDefinition) -> dict[str, list[Missing]]:
    """What the form's own rules (domain.action_rules) still find missing, per step key."""
    if toolkit.form == Form.TRAINING:
        return training_gaps(definition, toolkit.answers_by_step(), toolkit.cycle.training_rule)
    return {}


def toolkit_completeness(toolkit: Toolkit, today: date | None = None) -> ToolkitCompleteness:
    definition = definition_for(toolkit)
    return completeness(
        definition,
        toolkit.answers_by_step(),
        evidence_by_step(toolkit),
        validation_context(toolkit, today),
        rule_gaps(toolkit, definition),
    )


def step_evidence_kinds(toolkit: Toolkit, step_key: str) -> list[str]:
    """The kinds of the files attached to one step of ``toolkit``."""
    return list(
        db.session.scalars(
            _STEP_EVIDENCE_KINDS,
            {
                "municipality_id": toolkit.municipality_id,
                "toolkit_id": toolkit.id,
                "step_key": step_key,
            },
        )
    )


def step_progress(
    toolkit: Toolkit,
    step_key: str,
    today: date | None = None,
    *,
    evidence_kinds: list[str] | None = None,
) -> StepCompleteness:
    """The completeness of one step, as ``toolkit_completeness(toolkit).step(step_key)`` finds
    it, reading only that step's files (unless their ``evidence_kinds`` were read already):
    what an autosave sends back for the step's meter."""
    definition = definition_for(toolkit)
    kinds = step_evidence_kinds(toolkit, step_key) if evidence_kinds is None else evidence_kinds
    row = toolkit.step_answers(step_key)
    return step_completeness(
        definition.step(step_key),
        (row.data if row is not None else None) or {},
        [EvidenceSummary(kind=kind) for kind in kinds],
        validation_context(toolkit, today),
        rule_gaps(toolkit, definition).get(step_key) or (),
    )


def may_edit(user: User, toolkit: Toolkit) -> bool:
    """Staff of the toolkit's own town, while the workflow lets the town edit."""
    return is_town_staff(user, toolkit.municipality_id) and workflow.may(
        user.role, toolkit.state, "edit"
    )


# --- starting a toolkit ---------------------------------------------------------------------


class StartRefusedError(ValueError):
    """A toolkit that cannot be started; ``code`` names the reason for the page to explain."""

    def __init__(self, code: str, **params: Any):
        super().__init__(code)
        self.code, self.params = code, params


def toolkits_of(
    town: Municipality, cycle: Cycle, form: Form | None = Form.TOOLKIT, options: tuple = ()
) -> list[Toolkit]:
    """The town's records of ``cycle``: its Equity Toolkits, another form's, or all (None).

    ``options`` are loader options for what the caller reads of each (such as LISTED_LOADS).
    """
    query = select(Toolkit).where(Toolkit.municipality_id == town.id, Toolkit.cycle_id == cycle.id)
    if form is not None:
        query = query.where(Toolkit.form == form)
    return list(db.session.scalars(query.options(*options).order_by(Toolkit.created_at)))


def pairable_actions(town: Municipality, cycle: Cycle) -> list[tuple[Category, list[Action]]]:
    """The cycle's catalog grouped by category, without 1.1, for choosing a paired action."""
    actions = db.session.scalars(
        select(Action)
        .join(Category)
        .where(
            Action.catalog_year == cycle.catalog_year,
            Action.number != EQUITY_ACTION_NUMBER,
            # A retired action stays on the toolkits that use it, but is no longer offered.
            Action.retired_at.is_(None),
        )
    ).all()
    groups: dict[int, tuple[Category, list[Action]]] = {}
    for action in sorted(actions, key=lambda a: a.sort_key):
        groups.setdefault(action.category.number, (action.category, []))[1].append(action)
    return [groups[number] for number in sorted(groups)]


def start_toolkit(
    town: Municipality, cycle: Cycle, action_id: int | None, confirmed: bool, user: User
) -> Toolkit:
    """Create a draft toolkit for a paired action, or raise StartRefusedError saying why not."""
    action = db.session.get(Action, action_id) if action_id else None
    if action is None:
        raise StartRefusedError("no_action")
    if action.number == EQUITY_ACTION_NUMBER:
        raise StartRefusedError("is_equity_action")
    if action.catalog_year != cycle.catalog_year:
        raise StartRefusedError("not_in_catalog", action=action.label, year=cycle.catalog_year)
    if action.retired_at is not None:
        raise StartRefusedError("retired", action=action.label)
    already = record_of(town, cycle, Form.TOOLKIT, action)
    if already is not None:
        raise StartRefusedError("already_paired", action=action.label, toolkit_id=already.id)
    if not confirmed:
        raise StartRefusedError("not_confirmed")
    return _create_record(town, cycle, Form.TOOLKIT, action, user)


@dataclass(frozen=True)
class ActionRecordRow:
    """One of the actions a town documents by itself (1.2, 1.3), and its record if started."""

    form: Form
    action: Action
    record: Toolkit | None
    completeness: ToolkitCompleteness | None


def action_records(town: Municipality, cycle: Cycle) -> list[ActionRecordRow]:
    """Actions 1.2 and 1.3 of the cycle's catalog with the town's records of them."""
    numbers = {OWN_ACTION[form]: form for form in ACTION_FORMS}
    actions = db.session.scalars(
        select(Action).where(
            Action.catalog_year == cycle.catalog_year, Action.number.in_(list(numbers))
        )
    ).all()
    records = {
        record.form: record
        for record in db.session.scalars(
            select(Toolkit)
            .where(
                Toolkit.municipality_id == town.id,
                Toolkit.cycle_id == cycle.id,
                Toolkit.form.in_(list(ACTION_FORMS)),
            )
            .options(*LISTED_LOADS)
        )
    }
    rows = []
    for action in sorted(actions, key=lambda a: a.sort_key):
        form = numbers[action.number]
        record = records.get(form)
        rows.append(
            ActionRecordRow(
                form=form,
                action=action,
                record=record,
                completeness=toolkit_completeness(record) if record else None,
            )
        )
    return rows


def action_record(town: Municipality, cycle: Cycle, form: Form) -> Toolkit | None:
    """The town's record of action 1.2 or 1.3 (``form``) in ``cycle``, if it was started."""
    return db.session.scalar(
        select(Toolkit).where(
            Toolkit.municipality_id == town.id,
            Toolkit.cycle_id == cycle.id,
            Toolkit.form == form,
        )
    )


def start_action_record(town: Municipality, cycle: Cycle, form: str, user: User) -> Toolkit:
    """The town's draft record of action 1.2 or 1.3, started now unless it already exists.

    Only the town's own staff start it. Starting twice (a double click, two people at once)
    gives the same record: one per town and cycle.
    """
    if form not in ACTION_FORMS:
        raise StartRefusedError("unknown_form")
    if not is_town_staff(user, town.id):
        raise PermissionError("only the town's own staff start its records")
    already = action_record(town, cycle, Form(form))
    if already is not None:
        return already
    number = OWN_ACTION[Form(form)]
    action = db.session.scalar(
        select(Action).where(Action.catalog_year == cycle.catalog_year, Action.number == number)
    )
    if action is None:
        raise StartRefusedError("not_in_catalog", action=number, year=cycle.catalog_year)
    try:
        return _create_record(town, cycle, Form(form), action, user)
    except IntegrityError:
        # Someone started it a moment earlier: theirs is the one record.
        db.session.rollback()
        existing = action_record(town, cycle, Form(form))
        if existing is None:
            raise
        return existing


def record_of(town: Municipality, cycle: Cycle, form: Form, action: Action) -> Toolkit | None:
    """The town's record of ``form`` on ``action`` in ``cycle`` (one at most), if there is one."""
    return db.session.scalar(
        select(Toolkit).where(
            Toolkit.municipality_id == town.id,
            Toolkit.cycle_id == cycle.id,
            Toolkit.form == form,
            Toolkit.paired_action_id == action.id,
        )
    )


def _create_record(
    town: Municipality, cycle: Cycle, form: Form, action: Action, user: User
) -> Toolkit:
    definition = load_definition(CURRENT_VERSIONS[form], form)
    toolkit = Toolkit(
        municipality=town,
        cycle=cycle,
        form=form,
        paired_action=action,
        definition_version=definition.version,
        state=State.DRAFT,
        confirmed_in_submission=True,
        created_by_id=user.id,
        updated_by_id=user.id,
    )
    # Every step gets its row now, so concurrent first saves compete on a version number.
    toolkit.steps = [
        StepAnswers(step_key=step.key, data={}, version=0) for step in definition.steps
    ]
    db.session.add(toolkit)
    db.session.flush()
    audit.record_toolkit_event(
        "toolkit.started",
        toolkit,
        user,
        form=form.value,
        paired_action=action.number,
        cycle=cycle.name,
        definition_version=definition.version,
    )
    db.session.commit()
    return toolkit


# --- answers to change requests -------------------------------------------------------------


@dataclass(frozen=True)
class RequestAnswer:
    """What the town wrote to a change request, and whether it says the request is dealt with."""

    request_id: int
    response: str
    addressed: bool

    def as_record(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "response": self.response,
            "addressed": self.addressed,
        }


def may_answer_requests(user: User, toolkit: Toolkit) -> bool:
    """Staff of the toolkit's own town, while the workflow asks the town for changes."""
    return is_town_staff(user, toolkit.municipality_id) and workflow.may(
        user.role, toolkit.state, "answer_requests"
    )


def answerable_requests(toolkit: Toolkit, step_key: str, user: User) -> list[ChangeRequest]:
    """The step's change requests that ``user`` may answer now, oldest first."""
    if not may_answer_requests(user, toolkit):
        return []
    return list(
        db.session.scalars(
            select(ChangeRequest)
            .where(
                ChangeRequest.toolkit_id == toolkit.id,
                ChangeRequest.step_key == step_key,
                ChangeRequest.status != "closed",
            )
            .order_by(ChangeRequest.id)
        )
    )


def request_answer_problem(answer: RequestAnswer) -> Problem | None:
    """What is wrong with an answer to a change request, if anything."""
    path = f"request-{answer.request_id}"
    if len(answer.response) > REQUEST_RESPONSE_MAX_LENGTH:
        return Problem(
            path, "too_long", {"max": REQUEST_RESPONSE_MAX_LENGTH, "length": len(answer.response)}
        )
    if answer.addressed and not answer.response:
        return Problem(path, "response_needed", {})
    return None


def _differs(request: ChangeRequest, answer: RequestAnswer) -> bool:
    return (request.town_response or "") != answer.response or (
        request.status == "addressed"
    ) != bool(answer.addressed and answer.response)


def _changed_request_answers(
    toolkit: Toolkit, step_key: str, user: User, answers: list[RequestAnswer]
) -> list[tuple[ChangeRequest, RequestAnswer]]:
    by_id = {r.id: r for r in answerable_requests(toolkit, step_key, user)} if answers else {}
    return [
        (by_id[a.request_id], a)
        for a in answers
        if a.request_id in by_id and _differs(by_id[a.request_id], a)
    ]


def apply_request_answer(
    request: ChangeRequest, answer: RequestAnswer, toolkit: Toolkit, user: User
) -> None:
    """Store the town's answer to a change request (the caller commits).

    A request counts as dealt with only when the town also said what it changed; the text is
    kept either way.
    """
    if len(answer.response) > REQUEST_RESPONSE_MAX_LENGTH:
        raise ValueError("an answer over the length limit must be refused before it is stored")
    addressed = answer.addressed and bool(answer.response)
    request.town_response = answer.response
    request.status = "addressed" if addressed else "open"
    request.addressed_by_id = user.id if addressed else None
    request.addressed_at = utcnow() if addressed else None
    audit.record_toolkit_event(
        "change_request.answered",
        toolkit,
        user,
        request_id=request.id,
        addressed=addressed,
        revision=toolkit.revision_count,
        response=_excerpt(answer.response),
    )


def _excerpt(value: Any) -> Any:
    """A value cut to what the audit log keeps, with its full length when it was cut."""
    if isinstance(value, str) and len(value) > AUDIT_EXCERPT_LENGTH:
        return {"excerpt": value[:AUDIT_EXCERPT_LENGTH] + "…", "length": len(value)}
    if isinstance(value, list):
        return [_excerpt(item) for item in value]
    return value


def _audit_change(old: Any, new: Any) -> dict[str, Any]:
    return {"from": _excerpt(old), "to": _excerpt(new)}


# --- saving a step --------------------------------------------------------------------------


@dataclass
class SaveResult:
    saved: bool
    version: int
    # On a conflict: what the other person saved, and who and when.
    theirs: dict = field(default_factory=dict)
    their_version: int | None = None
    their_author: User | None = None
    changes: dict[str, tuple] = field(default_factory=dict)
    # Answers over a hard limit (too long, too many rows): nothing was stored.
    refused: list[Problem] = field(default_factory=list)

    @property
    def conflicted(self) -> bool:
        return not self.saved and not self.refused


def save_step(
    toolkit: Toolkit,
    step_key: str,
    answers: dict,
    base_version: int,
    user: User,
    *,
    resolution: str | None = None,
    request_answers: list[RequestAnswer] = (),
    autosave: bool = False,
) -> SaveResult:
    """Store a step's answers if nobody saved since ``base_version``; report a conflict if so.

    The town's answers to the step's change requests are part of the step: they are saved in the
    same transaction, under the same version check. The version check is an atomic
    compare-and-set in the database (an UPDATE whose WHERE names the version), so it holds across
    app servers. ``resolution`` ("keep_mine" or "merged") marks a save that settles a conflict.
    An ``autosave`` brings the person's audit record of the step up to date rather than add one
    (see AUTOSAVE_RECORD_SPAN), and leaves the session's objects loaded after the commit.
    """
    row = toolkit.step_answers(step_key)
    if row is None:
        raise KeyError(step_key)
    refused = refusing_problems(
        definition_for(toolkit).step(step_key), answers, validation_context(toolkit)
    ) + [
        problem
        for answer in request_answers
        if (problem := request_answer_problem(answer)) and problem.code == "too_long"
    ]
    if refused:
        return SaveResult(saved=False, version=row.version, refused=refused)
    # The row was read in this request, and a save since then fails the guarded UPDATE below;
    # it is read again only when its version differs, in case the session kept an older copy.
    if row.version != base_version:
        db.session.refresh(row)
    if row.version != base_version:
        return _conflict(toolkit, row, answers, base_version, user, request_answers)
    before = row.data or {}
    changes = changed_fields(before, answers)
    answered = _changed_request_answers(toolkit, step_key, user, request_answers)
    if not changes and not answered and resolution is None:
        return SaveResult(saved=True, version=row.version)
    now = utcnow()
    written = {
        "data": answers,
        "version": base_version + 1,
        "updated_by_id": user.id,
        "updated_at": now,
    }
    # Plain table UPDATEs: the ORM's bulk UPDATE costs more than the statement here.
    result = db.session.execute(
        _SAVE_STEP,
        {
            "row_id": row.id,
            "base_version": base_version,
            "new_data": answers,
            "new_version": base_version + 1,
            "by_id": user.id,
            "at": now,
        },
    )
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(row)
        return _conflict(toolkit, row, answers, base_version, user, request_answers)
    db.session.execute(_TOUCH_TOOLKIT, {"toolkit_id": toolkit.id, "at": now, "by_id": user.id})
    # The loaded objects take the values written, so nothing is read again after the save.
    for name, value in written.items():
        set_committed_value(row, name, value)
    set_committed_value(toolkit, "updated_at", now)
    set_committed_value(toolkit, "updated_by_id", user.id)
    for request, answer in answered:
        apply_request_answer(request, answer, toolkit, user)
    audited = {path: _audit_change(old, new) for path, (old, new) in changes.items()}
    if autosave and resolution is None:
        _record_autosave(toolkit, step_key, user, base_version, audited, now)
    else:
        audit.record_toolkit_event(
            STEP_SAVED_EVENT,
            toolkit,
            user,
            step=step_key,
            version=base_version + 1,
            resolution=resolution,
            changes=audited,
        )
    if autosave:
        _commit_keeping_loaded_objects()
    else:
        db.session.commit()
    return SaveResult(saved=True, version=base_version + 1, changes=changes)


def _record_autosave(
    toolkit: Toolkit,
    step_key: str,
    user: User,
    base_version: int,
    changes: dict[str, dict[str, Any]],
    now: datetime,
) -> None:
    """The audit record of an autosave: the person's record of the stretch brought up to date,
    or a new one (the caller commits)."""
    version = base_version + 1
    found = _autosave_record_to_extend(toolkit, step_key, user, base_version, now)
    if found is None:
        event = audit.record_toolkit_event(
            STEP_SAVED_EVENT,
            toolkit,
            user,
            step=step_key,
            version=version,
            resolution=None,
            changes=changes,
            autosave=True,
            saves=1,
            first_version=version,
            since=now.isoformat(),
        )
        event.at = now
        return
    event_id, details = found
    merged = dict(details.get("changes") or {})
    for path, change in changes.items():
        # A field changed twice in the stretch: from its value before the stretch to its latest.
        earlier = merged.get(path)
        merged[path] = {"from": earlier["from"], "to": change["to"]} if earlier else change
    brought_up_to_date = {"version": version, "changes": merged, "saves": details["saves"] + 1}
    db.session.execute(
        _EXTEND_EVENT,
        {"event_id": event_id, "at": now, "new_details": details | brought_up_to_date},
    )


def _autosave_record_to_extend(
    toolkit: Toolkit, step_key: str, user: User, base_version: int, now: datetime
) -> tuple[int, dict] | None:
    """(id, details) of the audit record this autosave continues, if there is one.

    It is the person's autosave record of the step that made ``base_version``, begun less than
    AUTOSAVE_RECORD_SPAN ago, with nothing about the toolkit recorded after it but other steps'
    autosaves. The step's row is locked by the guarded UPDATE before this is read, so two saves
    of one step never extend the same record at once.
    """
    recent = db.session.execute(
        _RECENT_TOOLKIT_EVENTS,
        {"object_id": str(toolkit.id), "lookback": AUTOSAVE_RECORD_LOOKBACK},
    )
    for event_id, action, actor_id, details in recent:
        details = details or {}
        autosaved = action == STEP_SAVED_EVENT and details.get("autosave") is True
        if autosaved and details.get("step") != step_key:
            continue
        if (
            autosaved
            and actor_id == user.id
            and details.get("version") == base_version
            and isinstance(details.get("saves"), int)
            and now - _recorded_time(details.get("since")) < AUTOSAVE_RECORD_SPAN
        ):
            return event_id, details
        return None
    return None


def _recorded_time(value: Any) -> datetime:
    """A time an audit record keeps as ISO text (UTC); an unreadable one is long past."""
    try:
        recorded = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        recorded = None
    if recorded is None or recorded.tzinfo is None:
        return datetime.min.replace(tzinfo=UTC)
    return recorded


def _commit_keeping_loaded_objects() -> None:
    """Commit without expiring the objects this request loaded.

    They hold what the transaction read and just wrote, and the autosave's answer is built from
    them: expired, each (the toolkit, its steps, the signed-in person) would be read again.
    """
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def _conflict(
    toolkit: Toolkit,
    row: StepAnswers,
    mine: dict,
    base_version: int,
    user: User,
    request_answers: list[RequestAnswer] = (),
) -> SaveResult:
    # What was typed and not saved stays in the audit log (answers are size-capped before this).
    audit.record_toolkit_event(
        "toolkit.step_conflict",
        toolkit,
        user,
        step=row.step_key,
        base_version=base_version,
        their_version=row.version,
        their_author_id=row.updated_by_id,
        mine=mine,
        mine_request_answers=[a.as_record() for a in request_answers],
    )
    db.session.commit()
    return SaveResult(
        saved=False,
        version=row.version,
        theirs=row.data or {},
        their_version=row.version,
        their_author=row.updated_by,
        changes=changed_fields(row.data or {}, mine),
    )


def record_conflict_kept_theirs(
    toolkit: Toolkit,
    step_key: str,
    discarded: dict,
    user: User,
    discarded_request_answers: list[RequestAnswer] = (),
) -> None:
    """The user chose the other person's version; what they had typed stays in the audit log."""
    audit.record_toolkit_event(
        "toolkit.step_conflict_resolved",
        toolkit,
        user,
        step=step_key,
        resolution="keep_theirs",
        discarded=discarded,
        discarded_request_answers=[a.as_record() for a in discarded_request_answers],
    )
    db.session.commit()
