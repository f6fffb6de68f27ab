"""The review workflow of a submitted item (an Equity Toolkit; later actions 1.2 and 1.3).

States, the transitions between them, who may trigger each, and what each role may do in each
state, all as data. Two labels per state: the program's internal word and the words the town
sees, which say whose turn it is. Which reviewer may act (the one holding the toolkit) is the
claim rule in ``domain.claims``, built on this table.
"""

from __future__ import annotations

from dataclasses import dataclass

STATES = (
    "draft",
    "submitted",
    "in_review",
    "changes_requested",
    "approved",
    "not_approved",
    "withdrawn",
)
ROLES = ("staff", "reviewer", "coach", "admin")


def N_(message: str) -> str:  # noqa: N802 - the conventional name message extractors look for
    """Mark an English source string for translation without translating it here."""
    # Domain code runs without Flask; the web layer translates the returned source string.
    # Extract with ``pybabel extract -k N_`` so these strings land in the catalog.
    return message


@dataclass(frozen=True)
class StateLabels:
    """A state's two English source labels: the program's word and the town-facing words."""

    internal: str
    # Says whose turn it is, because that is what a town needs to know at a glance.
    town: str


STATE_LABELS: dict[str, StateLabels] = {
    "draft": StateLabels(N_("Draft"), N_("Your turn: in progress")),
    "submitted": StateLabels(N_("Submitted"), N_("With reviewers")),
    "in_review": StateLabels(N_("In review"), N_("With reviewers")),
    "changes_requested": StateLabels(N_("Changes requested"), N_("Your turn: changes requested")),
    "approved": StateLabels(N_("Approved"), N_("Approved")),
    "not_approved": StateLabels(N_("Not approved"), N_("Not approved")),
    "withdrawn": StateLabels(N_("Withdrawn"), N_("Withdrawn by your town")),
}

# Who has to act next. Withdrawn counts as nobody's turn: nothing is pending, even though the
# town may choose to reopen it.
_TURNS: dict[str, str] = {
    "draft": "town",
    "changes_requested": "town",
    "submitted": "reviewers",
    "in_review": "reviewers",
    "approved": "nobody",
    "not_approved": "nobody",
    "withdrawn": "nobody",
}


def whose_turn(state: str) -> str:
    """Who acts next in ``state``: "town", "reviewers" or "nobody"; ValueError if unknown."""
    try:
        return _TURNS[state]
    except KeyError:
        raise ValueError(f"unknown workflow state {state!r}") from None


# What a role may do to the item's content in a state.
PERMISSIONS: dict[str, dict[str, frozenset[str]]] = {
    "draft": {"staff": frozenset({"edit"})},
    "submitted": {"reviewer": frozenset({"comment"}), "admin": frozenset({"comment"})},
    "in_review": {
        "reviewer": frozenset({"comment", "decide"}),
        "admin": frozenset({"comment"}),
    },
    "changes_requested": {
        "staff": frozenset({"edit", "answer_requests"}),
        "reviewer": frozenset({"comment"}),
        "admin": frozenset({"comment"}),
    },
    "approved": {},
    "not_approved": {},
    "withdrawn": {},
}


@dataclass(frozen=True)
class Transition:
    """A named move from ``source`` to ``target`` that any of ``roles`` may trigger."""

    name: str
    source: str
    target: str
    roles: frozenset[str]


TRANSITIONS: tuple[Transition, ...] = (
    Transition("submit", "draft", "submitted", frozenset({"staff"})),
    Transition("resubmit", "changes_requested", "submitted", frozenset({"staff"})),
    Transition("start_review", "submitted", "in_review", frozenset({"reviewer"})),
    Transition("release", "in_review", "submitted", frozenset({"reviewer", "admin"})),
    Transition("request_changes", "in_review", "changes_requested", frozenset({"reviewer"})),
    Transition("approve", "in_review", "approved", frozenset({"reviewer"})),
    Transition("not_approve", "in_review", "not_approved", frozenset({"reviewer"})),
    Transition("withdraw", "draft", "withdrawn", frozenset({"staff"})),
    Transition("withdraw", "submitted", "withdrawn", frozenset({"staff"})),
    Transition("withdraw", "changes_requested", "withdrawn", frozenset({"staff"})),
    Transition("reopen", "withdrawn", "draft", frozenset({"staff"})),
)

TRANSITION_NAMES = tuple(dict.fromkeys(t.name for t in TRANSITIONS))

# The reviewer's decisions: the transitions that end a review, and the states they lead to.
DECISION_TRANSITIONS = ("request_changes", "approve", "not_approve")
DECISION_STATES = tuple(
    t.target for name in DECISION_TRANSITIONS for t in TRANSITIONS if t.name == name
)


class TransitionRefusedError(Exception):
    """A transition that is not allowed; ``reason`` is "unknown", "wrong_state" or "role"."""

    def __init__(self, name: str, state: str, role: str, reason: str):
        super().__init__(f"{name} is not allowed for {role} in state {state} ({reason})")
        self.name, self.state, self.role, self.reason = name, state, role, reason


def find_transition(name: str, state: str, role: str) -> Transition:
    """The transition ``name`` from ``state`` for ``role``, or TransitionRefusedError saying why."""
    candidates = [t for t in TRANSITIONS if t.name == name]
    if not candidates:
        raise TransitionRefusedError(name, state, role, "unknown")
    from_state = [t for t in candidates if t.source == state]
    if not from_state:
        raise TransitionRefusedError(name, state, role, "wrong_state")
    for transition in from_state:
        if role in transition.roles:
            return transition
    raise TransitionRefusedError(name, state, role, "role")


def allowed_transitions(state: str, role: str) -> list[Transition]:
    """The transitions ``role`` may trigger from ``state``."""
    return [t for t in TRANSITIONS if t.source == state and role in t.roles]


def may(role: str, state: str, permission: str) -> bool:
    """Whether ``role`` may ``permission`` ("edit", "comment", "decide", ...) in ``state``."""
    return permission in PERMISSIONS.get(state, {}).get(role, frozenset())


def is_with_reviewers(state: str) -> bool:
    """Whether the item waits on reviewers (submitted or in review)."""
    return state in ("submitted", "in_review")


def is_final(state: str) -> bool:
    """Whether the verdict is in: no transition leaves the state."""
    return state in ("approved", "not_approved")
