"""Opening certification cycles and changing their rules: the program console's cycles.

Who may do what (asked here, whatever page or command calls): administrators create cycles
and change them; town staff, reviewers and coaches do neither, and read no cycle settings here.

What may change depends on the cycle's phase (domain.cycle_phases): a future cycle freely, a
running one only with a confirmation (towns' levels may change), a past one never. Every
creation and change writes an audit record naming each changed setting before and after.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select

from sct_forms import audit
from sct_forms.cycles import phase_of
from sct_forms.domain.action_rules import TrainingRuleError, parse_training_rule
from sct_forms.domain.cycle_phases import (
    change_problems,
    cycle_phase,
    may_change,
    needs_confirmation,
    schedule_problems,
)
from sct_forms.domain.roles import Role
from sct_forms.domain.tiers import TIER_ORDER, TierRuleError, parse_tier_rules
from sct_forms.extensions import db
from sct_forms.models import Action, Cycle, User

__all__ = [
    "ConfirmationNeededError",
    "CycleInvalidError",
    "CycleRefusedError",
    "CycleSettings",
    "Problem",
    "all_cycles",
    "catalog_years",
    "check_settings",
    "changes_between",
    "copy_of_latest",
    "create_cycle",
    "may_manage_cycles",
    "settings_of",
    "update_cycle",
]

_ACTION_NUMBER = re.compile(r"^\d{1,3}(\.\d{1,3}){1,2}$")


def may_manage_cycles(user: User) -> bool:
    """Administrators only: cycles are the program's settings."""
    return user.is_authenticated and user.role == Role.ADMIN


@dataclass(frozen=True)
class CycleSettings:
    """What an administrator sets for a cycle; rules as stored (domain.tiers, action_rules)."""

    name: str
    opens_on: date | None
    submission_deadline: date | None
    lookback_start: date | None
    catalog_year: int | None
    tier_rules_data: list[dict[str, Any]]
    # None: the program's default rule for action 1.2.
    training_rule_data: dict[str, Any] | None = None
    release_on: date | None = None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the settings: the field it belongs to, a code and its values."""

    field: str
    code: str
    values: dict[str, Any] = field(default_factory=dict)


class CycleRefusedError(Exception):
    """The person may not do this (``code`` "not_allowed") or the cycle is past ("past")."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class CycleInvalidError(ValueError):
    """Settings that cannot be saved; ``problems`` says each one beside its field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(", ".join(f"{p.field}: {p.code}" for p in problems))
        self.problems = problems


class ConfirmationNeededError(Exception):
    """A change to a running cycle waits for the administrator to type the cycle's name."""

    def __init__(self, changes: dict[str, dict[str, Any]], *, mistyped: bool) -> None:
        super().__init__("confirmation needed")
        self.changes = changes
        self.mistyped = mistyped


def _refuse_unless_allowed(user: User) -> None:
    if not may_manage_cycles(user):
        raise CycleRefusedError("not_allowed")


# --- reading ---------------------------------------------------------------------------------


def all_cycles(user: User) -> list[Cycle]:
    """Every cycle, newest opening first."""
    _refuse_unless_allowed(user)
    return list(db.session.scalars(select(Cycle).order_by(Cycle.opens_on.desc(), Cycle.id.desc())))


def catalog_years() -> list[int]:
    """The catalog years present in the action table, newest first."""
    rows = db.session.scalars(
        select(Action.catalog_year)
        .group_by(Action.catalog_year)
        .order_by(Action.catalog_year.desc())
    )
    return list(rows)


def settings_of(cycle: Cycle) -> CycleSettings:
    return CycleSettings(
        name=cycle.name,
        opens_on=cycle.opens_on,
        submission_deadline=cycle.submission_deadline,
        lookback_start=cycle.lookback_start,
        catalog_year=cycle.catalog_year,
        # As parsed, so that rules stored without an empty list compare equal to the form's.
        tier_rules_data=[
            {
                "tier": rule.tier,
                "distinct_actions": rule.distinct_actions,
                "also_required": list(rule.also_required),
            }
            for rule in cycle.tier_rules
        ],
        training_rule_data=cycle.training_rule_data,
        release_on=cycle.release_on,
    )


def copy_of_latest(user: User) -> tuple[Cycle, CycleSettings] | None:
    """A new cycle's settings from the latest cycle (by opening date): its tier rules, training
    rule and catalog year. Name and dates are left empty for the administrator: cycles do not
    all last as long, so a guessed date would be a wrong date that looks right."""
    _refuse_unless_allowed(user)
    latest = db.session.scalar(
        select(Cycle).order_by(Cycle.opens_on.desc(), Cycle.id.desc()).limit(1)
    )
    if latest is None:
        return None
    settings = settings_of(latest)
    copied = CycleSettings(
        name="",
        opens_on=None,
        submission_deadline=None,
        lookback_start=None,
        catalog_year=settings.catalog_year,
        tier_rules_data=settings.tier_rules_data,
        training_rule_data=settings.training_rule_data,
        release_on=None,
    )
    return latest, copied


# --- checking --------------------------------------------------------------------------------


def _problems(settings: CycleSettings, cycle: Cycle | None, today: date) -> list[Problem]:
    problems: list[Problem] = []
    name_taken = db.session.scalar(
        select(func.count(Cycle.id)).where(
            func.lower(Cycle.name) == settings.name.lower(),
            Cycle.id != (cycle.id if cycle is not None else -1),
        )
    )
    if not settings.name:
        problems.append(Problem("name", "name_missing"))
    elif name_taken:
        problems.append(Problem("name", "name_taken", {"name": settings.name}))
    dates = {
        "opens_on": settings.opens_on,
        "submission_deadline": settings.submission_deadline,
        "lookback_start": settings.lookback_start,
    }
    problems += [Problem(name, "date_missing") for name, value in dates.items() if value is None]
    if settings.catalog_year not in catalog_years():
        problems.append(Problem("catalog_year", "catalog_unknown"))
    problems += _tier_problems(settings)
    if settings.training_rule_data is not None:
        try:
            parse_training_rule(settings.training_rule_data)
        except TrainingRuleError as error:
            problems.append(Problem("training_sessions", "training_rule", {"reason": str(error)}))
    if any(value is None for value in dates.values()):
        return problems
    for name, code in schedule_problems(
        opens_on=settings.opens_on,
        submission_deadline=settings.submission_deadline,
        lookback_start=settings.lookback_start,
        release_on=settings.release_on,
    ).items():
        problems.append(Problem(name, code))
    before = phase_of(cycle, today) if cycle is not None else None
    after = cycle_phase(settings.opens_on, settings.submission_deadline, today)
    catalog_changed = cycle is not None and settings.catalog_year != cycle.catalog_year
    for name, code in change_problems(before, after, catalog_changed=catalog_changed).items():
        problems.append(Problem(name, code, {"today": today}))
    return problems


def _tier_problems(settings: CycleSettings) -> list[Problem]:
    try:
        rules = parse_tier_rules(settings.tier_rules_data)
    except TierRuleError as error:
        return [Problem("bronze_actions", "tier_rules", {"reason": str(error)})]
    problems = []
    known = set(
        db.session.scalars(
            select(Action.number).where(Action.catalog_year == settings.catalog_year)
        )
    )
    lower = None
    for rule in rules:
        for number in rule.also_required:
            if not _ACTION_NUMBER.match(number):
                problems.append(
                    Problem(f"{rule.tier}_also", "not_an_action_number", {"number": number})
                )
            elif number not in known:
                problems.append(
                    Problem(
                        f"{rule.tier}_also",
                        "action_not_in_catalog",
                        {"number": number, "year": settings.catalog_year},
                    )
                )
        if lower is not None and rule.distinct_actions < lower.distinct_actions:
            problems.append(
                Problem(f"{rule.tier}_actions", "fewer_than_lower_tier", {"lower": lower.tier})
            )
        lower = rule
    if [rule.tier for rule in rules] != list(TIER_ORDER):
        problems.append(Problem("bronze_actions", "tier_missing"))
    return problems


def check_settings(
    user: User, settings: CycleSettings, cycle: Cycle | None, today: date
) -> list[Problem]:
    """What keeps ``settings`` from being saved (for ``cycle``, or a new cycle), saving nothing."""
    _refuse_unless_allowed(user)
    return _problems(settings, cycle, today)


def _check(settings: CycleSettings, cycle: Cycle | None, today: date) -> None:
    problems = _problems(settings, cycle, today)
    if problems:
        raise CycleInvalidError(problems)


def _stored(value: Any) -> Any:
    """A setting as an audit record keeps it (dates as ISO text)."""
    if isinstance(value, date):
        return value.isoformat()
    return value


def changes_between(before: CycleSettings, after: CycleSettings) -> dict[str, dict[str, Any]]:
    """Each setting that differs, with its value before and after."""
    old, new = asdict(before), asdict(after)
    return {
        name: {"before": _stored(old[name]), "after": _stored(new[name])}
        for name in old
        if old[name] != new[name]
    }


# --- changing --------------------------------------------------------------------------------


def create_cycle(user: User, settings: CycleSettings, today: date) -> Cycle:
    """A new future cycle with ``settings``; audited with every setting."""
    _refuse_unless_allowed(user)
    _check(settings, None, today)
    cycle = Cycle(
        name=settings.name,
        opens_on=settings.opens_on,
        submission_deadline=settings.submission_deadline,
        lookback_start=settings.lookback_start,
        catalog_year=settings.catalog_year,
        tier_rules_data=settings.tier_rules_data,
        training_rule_data=settings.training_rule_data,
        release_on=settings.release_on,
    )
    db.session.add(cycle)
    db.session.flush()
    audit.record(
        "cycle.created",
        actor=user,
        object_type="cycle",
        object_id=cycle.id,
        settings={name: _stored(value) for name, value in asdict(settings).items()},
    )
    db.session.commit()
    return cycle


def update_cycle(
    user: User,
    cycle: Cycle,
    settings: CycleSettings,
    today: date,
    *,
    confirmation: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Change ``cycle`` to ``settings``; returns the changes (empty: nothing to change).

    A past cycle is refused. A change that touches a running cycle needs ``confirmation``, the
    cycle's name as it is now, typed by the administrator (ConfirmationNeededError otherwise).
    """
    _refuse_unless_allowed(user)
    before_phase = phase_of(cycle, today)
    if not may_change(before_phase):
        raise CycleRefusedError("past")
    _check(settings, cycle, today)
    changes = changes_between(settings_of(cycle), settings)
    if not changes:
        return changes
    after_phase = cycle_phase(settings.opens_on, settings.submission_deadline, today)
    confirmed = False
    if needs_confirmation(before_phase, after_phase):
        typed = (confirmation or "").strip()
        if typed.casefold() != cycle.name.casefold():
            raise ConfirmationNeededError(changes, mistyped=bool(typed))
        confirmed = True
    for name in changes:
        setattr(cycle, name, getattr(settings, name))
    audit.record(
        "cycle.changed",
        actor=user,
        object_type="cycle",
        object_id=cycle.id,
        phase=str(before_phase),
        confirmed_running=confirmed,
        changes=changes,
    )
    db.session.commit()
    return changes
