"""The review workflow of a submitted item (an Equity Toolkit; later actions 1.2 and 1.3).

States, the transitions between them, who may trigger each, and what each role may do in each
state, all as data. Two labels per state: the program's internal word and the words the town
sees, which say whose turn it is. Which reviewer may act (the one holding the toolkit) is the
claim rule in ``domain.claims``, built on this table. Roles are ``domain.roles.Role``.

Code elsewhere asks the questions below (``may``, ``allowed_transitions``, ``is_with_reviewers``,
``is_decision``...) instead of comparing states itself, so a change to the table is made here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sct_forms.domain.roles import REVIEWING_ROLES, Role


class State(enum.StrEnum):
    """Where an item is in its review; the value is what the database stores."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    NOT_APPROVED = "not_approved"
    WITHDRAWN = "withdrawn"


STATES: tuple[State, ...] = tuple(State)
ROLES: tuple[Role, ...] = tuple(Role)


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
    State.DRAFT: StateLabels(N_("Draft"), N_("Your turn: in progress")),
    State.SUBMITTED: StateLabels(N_("Submitted"), N_("With reviewers")),
    State.IN_REVIEW: StateLabels(N_("In review"), N_("With reviewers")),
    State.CHANGES_REQUESTED: StateLabels(
        N_("Changes requested"), N_("Your turn: changes requested")
    ),
    State.APPROVED: StateLabels(N_("Approved"), N_("Approved")),
    State.NOT_APPROVED: StateLabels(N_("Not approved"), N_("Not approved")),
    State.WITHDRAWN: StateLabels(N_("Withdrawn"), N_("Withdrawn by your town")),
}

# Who has to act next. Withdrawn counts as nobody's turn: nothing is pending, even though the
# town may choose to reopen it.
_TURNS: dict[str, str] = {
    State.DRAFT: "town",
    State.CHANGES_REQUESTED: "town",
    State.SUBMITTED: "reviewers",
    State.IN_REVIEW: "reviewers",
    State.APPROVED: "nobody",
    State.NOT_APPROVED: "nobody",
    State.WITHDRAWN: "nobody",
}


def whose_turn(state: str) -> str:
    """Who acts next in ``state``: "town", "reviewers" or "nobody"; ValueError if unknown."""
    try:
        return _TURNS[state]
    except KeyError:
        raise ValueError(f"unknown workflow state {state!r}") from None


# What a role may do to the item's content in a state.
PERMISSIONS: dict[str, dict[str, frozenset[str]]] = {
    State.DRAFT: {Role.STAFF: frozenset({"edit"})},
    State.SUBMITTED: {Role.REVIEWER: frozenset({"comment"}), Role.ADMIN: frozenset({"comment"})},
    State.IN_REVIEW: {
        Role.REVIEWER: frozenset({"comment", "decide"}),
        Role.ADMIN: frozenset({"comment"}),
    },
    State.CHANGES_REQUESTED: {
        Role.STAFF: frozenset({"edit", "answer_requests"}),
        Role.REVIEWER: frozenset({"comment"}),
        Role.ADMIN: frozenset({"comment"}),
    },
    State.APPROVED: {},
    State.NOT_APPROVED: {},
    State.WITHDRAWN: {},
}


#: Why the town's staff cannot change the item in a state where they may not edit, in the
#: town's words, with what they can do instead.
LOCKED_FOR_TOWN: dict[str, str] = {
    State.SUBMITTED: N_(
        "Your town sent this toolkit to the reviewers, so it cannot be changed while they have "
        "it. If they ask for changes, you can change it again. Until a reviewer starts, you can "
        "also withdraw it from the toolkit's page."
    ),
    State.IN_REVIEW: N_(
        "A reviewer is reviewing this toolkit, so it cannot be changed now. If they ask for "
        "changes, you can change it again."
    ),
    State.APPROVED: N_(
        "This toolkit is approved. The review is finished, so it cannot be changed."
    ),
    State.NOT_APPROVED: N_(
        "This toolkit was not approved. The review is finished, so it cannot be changed."
    ),
    State.WITHDRAWN: N_(
        "Your town withdrew this toolkit. To change it, reopen it from the toolkit's page."
    ),
}


def why_town_cannot_edit(state: str) -> str | None:
    """The English source words for why the town may not edit in ``state``; None if it may."""
    if may(Role.STAFF, state, "edit"):
        return None
    return LOCKED_FOR_TOWN[state]


@dataclass(frozen=True)
class Transition:
    """A named move from ``source`` to ``target`` that any of ``roles`` may trigger."""

    name: str
    source: str
    target: str
    roles: frozenset[str]


_STAFF = frozenset({Role.STAFF})
_REVIEWER = frozenset({Role.REVIEWER})

TRANSITIONS: tuple[Transition, ...] = (
    Transition("submit", State.DRAFT, State.SUBMITTED, _STAFF),
    Transition("resubmit", State.CHANGES_REQUESTED, State.SUBMITTED, _STAFF),
    Transition("start_review", State.SUBMITTED, State.IN_REVIEW, _REVIEWER),
    Transition("release", State.IN_REVIEW, State.SUBMITTED, frozenset(REVIEWING_ROLES)),
    Transition("request_changes", State.IN_REVIEW, State.CHANGES_REQUESTED, _REVIEWER),
    Transition("approve", State.IN_REVIEW, State.APPROVED, _REVIEWER),
    Transition("not_approve", State.IN_REVIEW, State.NOT_APPROVED, _REVIEWER),
    Transition("withdraw", State.DRAFT, State.WITHDRAWN, _STAFF),
    Transition("withdraw", State.SUBMITTED, State.WITHDRAWN, _STAFF),
    Transition("withdraw", State.CHANGES_REQUESTED, State.WITHDRAWN, _STAFF),
    Transition("reopen", State.WITHDRAWN, State.DRAFT, _STAFF),
)

TRANSITION_NAMES = tuple(dict.fromkeys(t.name for t in TRANSITIONS))

# The reviewer's decisions: the transitions that end a review, and the states they lead to.
DECISION_TRANSITIONS = ("approve", "request_changes", "not_approve")
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


#: The states in which the item waits on reviewers: the review queue, oldest first.
WITH_REVIEWERS: tuple[State, ...] = tuple(s for s in State if _TURNS[s] == "reviewers")


def is_with_reviewers(state: str) -> bool:
    """Whether the item waits on reviewers (submitted or in review)."""
    return state in WITH_REVIEWERS


def is_final(state: str) -> bool:
    """Whether the verdict is in: no transition leaves the state."""
    return state in (State.APPROVED, State.NOT_APPROVED)


def is_decision(state: str) -> bool:
    """Whether ``state`` is where a reviewer's decision put the item (the town is told)."""
    return state in DECISION_STATES


def shows_revision(state: str) -> bool:
    """Whether the item is shown as its latest revision, as the reviewers received it."""
    return is_with_reviewers(state) or is_final(state)


def submission(state: str) -> str | None:
    """The transition by which the town sends the item to reviewers from ``state``, if any."""
    return next(
        (
            t.name
            for t in TRANSITIONS
            if t.source == state and t.target == State.SUBMITTED and Role.STAFF in t.roles
        ),
        None,
    )
