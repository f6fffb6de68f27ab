"""What actions 1.2 and 1.3 need beyond answered questions: rules a definition cannot state.

* 1.2 Equity Training: the town's delegation must include, for each role the cycle's rule names,
  enough people who attended every session of the series. The 2026 series has three sessions
  and an earlier version of the action asked for one elected official, one staff member and one
  commissioner; domain.md leaves the current rule open, so it is the cycle's data (TrainingRule)
  with that as the default.
* 1.3 Statement on Equity: the adoption date must fall in the cycle's lookback window, which the
  form engine already checks for every date (domain.answers), so nothing is added here.

The rules read the answers by the keys of the 1.2 definition (TRAINING_KEYS); a new version of
that definition keeps these keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sct_forms.domain.completeness import Missing
from sct_forms.domain.toolkit_definition import LocalText, ToolkitDefinition

#: Where the 1.2 definition keeps what the rule reads: (step key, question key).
TRAINING_SESSIONS = ("series", "sessions")
TRAINING_MEMBERS = ("delegation", "members")
TRAINING_KEYS = {"member_name": "name", "member_role": "role", "member_attended": "attended"}

DEFAULT_TRAINING_RULE: dict[str, Any] = {
    "roles": {"elected_official": 1, "municipal_staff": 1, "commissioner": 1},
    "sessions": 3,
}


class TrainingRuleError(ValueError):
    """A training rule that cannot be used, with a plain explanation."""


@dataclass(frozen=True)
class TrainingRule:
    """Which roles the delegation needs (how many people each) and how many sessions count."""

    roles: tuple[tuple[str, int], ...]
    sessions: int


def parse_training_rule(data: Mapping[str, Any] | None) -> TrainingRule:
    """The stored rule as a TrainingRule; None gives the program's default rule."""
    if data is None:
        data = DEFAULT_TRAINING_RULE
    if not isinstance(data, Mapping):
        raise TrainingRuleError("the training rule must be a mapping")
    sessions = data.get("sessions")
    if not isinstance(sessions, int) or isinstance(sessions, bool) or sessions < 1:
        raise TrainingRuleError("sessions must be a whole number, 1 or more")
    roles_data = data.get("roles")
    if not isinstance(roles_data, Mapping) or not roles_data:
        raise TrainingRuleError("roles must map each role to how many people it needs")
    roles = []
    for role, count in roles_data.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise TrainingRuleError(f"{role}: the number of people must be 1 or more")
        roles.append((str(role), count))
    return TrainingRule(roles=tuple(roles), sessions=sessions)


def _rows(answers: Mapping[str, Mapping[str, Any]], where: tuple[str, str]) -> list[Mapping]:
    step_key, question_key = where
    value = (answers.get(step_key) or {}).get(question_key)
    return [row for row in value if isinstance(row, Mapping)] if isinstance(value, list) else []


def _text(row: Mapping, key: str) -> str:
    value = row.get(key)
    return value.strip() if isinstance(value, str) else ""


def _attended(row: Mapping) -> set[str]:
    value = row.get(TRAINING_KEYS["member_attended"])
    return {item for item in value if isinstance(item, str)} if isinstance(value, list) else set()


def _role_labels(definition: ToolkitDefinition) -> dict[str, LocalText]:
    step_key, question_key = TRAINING_MEMBERS
    try:
        role = definition.step(step_key).question(question_key).field(TRAINING_KEYS["member_role"])
    except KeyError:
        return {}
    return {choice.value: choice.label for choice in role.choices}


def training_gaps(
    definition: ToolkitDefinition,
    answers: Mapping[str, Mapping[str, Any]],
    rule: TrainingRule,
) -> dict[str, list[Missing]]:
    """What the delegation still lacks under ``rule``, per step key; empty when it is enough.

    Only answers that say something count here; an empty required field is the form engine's
    to report. Each gap names the role (as a LocalText) so a page can say it in words.
    """
    gaps: dict[str, list[Missing]] = {}
    labels = _role_labels(definition)
    sessions_held = [row for row in _rows(answers, TRAINING_SESSIONS) if _text(row, "date")]
    if len(sessions_held) < rule.sessions:
        gaps.setdefault(TRAINING_SESSIONS[0], []).append(
            Missing(
                TRAINING_SESSIONS[1],
                "training_sessions_short",
                {"needed": rule.sessions, "have": len(sessions_held)},
            )
        )

    members = _rows(answers, TRAINING_MEMBERS)
    members_path = TRAINING_MEMBERS[1]
    for role, needed in rule.roles:
        label = labels.get(role, LocalText(en=role.replace("_", " ")))
        of_role = [row for row in members if row.get(TRAINING_KEYS["member_role"]) == role]
        full = [row for row in of_role if len(_attended(row)) >= rule.sessions]
        if len(full) >= needed:
            continue
        gaps.setdefault(TRAINING_MEMBERS[0], []).append(
            Missing(
                members_path,
                "delegation_role_short",
                {"role": label, "needed": needed, "have": len(full), "sessions": rule.sessions},
            )
        )
        for row in of_role:
            attended = len(_attended(row))
            if attended < rule.sessions and _text(row, TRAINING_KEYS["member_name"]):
                gaps[TRAINING_MEMBERS[0]].append(
                    Missing(
                        members_path,
                        "member_sessions_short",
                        {
                            "name": _text(row, TRAINING_KEYS["member_name"]),
                            "role": label,
                            "attended": attended,
                            "sessions": rule.sessions,
                        },
                    )
                )
    return gaps
