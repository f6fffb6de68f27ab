"""The review workflow table: every name x state x role, labels, permissions, reachability."""

from __future__ import annotations

import itertools
from collections import deque
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from sct_forms.domain import workflow
from sct_forms.domain.workflow import (
    LOCKED_FOR_TOWN,
    PERMISSIONS,
    ROLES,
    STATE_LABELS,
    STATES,
    TRANSITION_NAMES,
    TRANSITIONS,
    StateLabels,
    TransitionRefusedError,
    allowed_transitions,
    find_transition,
    is_final,
    is_with_reviewers,
    may,
    whose_turn,
    why_town_cannot_edit,
)

COMBINATIONS = list(itertools.product(TRANSITION_NAMES, STATES, ROLES))


def expected_outcome(name: str, state: str, role: str) -> tuple[str, str]:
    """("ok", target) or ("refused", reason), worked out from the table row by row."""
    leaving = [t for t in TRANSITIONS if t.name == name and t.source == state]
    if not leaving:
        return ("refused", "wrong_state")
    targets = [t.target for t in leaving if role in t.roles]
    if not targets:
        return ("refused", "role")
    return ("ok", targets[0])


# --- the table itself -------------------------------------------------------------------------


def test_the_generated_combinations_cover_the_whole_table() -> None:
    assert len(COMBINATIONS) == len(TRANSITION_NAMES) * len(STATES) * len(ROLES)
    allowed = {(n, s, r) for n, s, r in COMBINATIONS if expected_outcome(n, s, r)[0] == "ok"}
    # Every (transition, role) pair of the table shows up as an allowed combination.
    assert allowed == {(t.name, t.source, r) for t in TRANSITIONS for r in t.roles}


@pytest.mark.parametrize(("name", "state", "role"), COMBINATIONS)
def test_find_transition_follows_the_table(name: str, state: str, role: str) -> None:
    outcome, detail = expected_outcome(name, state, role)
    if outcome == "ok":
        transition = find_transition(name, state, role)
        assert (transition.name, transition.source, transition.target) == (name, state, detail)
        assert role in transition.roles
        assert transition in allowed_transitions(state, role)
    else:
        with pytest.raises(TransitionRefusedError) as refused:
            find_transition(name, state, role)
        assert refused.value.reason == detail
        assert (refused.value.name, refused.value.state, refused.value.role) == (name, state, role)
        assert name not in {t.name for t in allowed_transitions(state, role)}


@pytest.mark.parametrize(("state", "role"), list(itertools.product(STATES, ROLES)))
def test_unknown_transition_names_are_refused_as_unknown(state: str, role: str) -> None:
    for name in ("", "publish", "APPROVE", "approve "):
        with pytest.raises(TransitionRefusedError) as refused:
            find_transition(name, state, role)
        assert refused.value.reason == "unknown"


def test_no_two_transitions_share_a_name_and_source() -> None:
    # find_transition takes the first match; a duplicate would make the second unreachable.
    keys = [(t.name, t.source) for t in TRANSITIONS]
    assert len(keys) == len(set(keys))


def test_transitions_name_only_known_states_and_roles() -> None:
    for transition in TRANSITIONS:
        assert transition.source in STATES
        assert transition.target in STATES
        assert transition.source != transition.target
        assert transition.roles
        assert transition.roles <= set(ROLES)


def test_transition_names_are_unique_and_complete() -> None:
    assert len(TRANSITION_NAMES) == len(set(TRANSITION_NAMES))
    assert set(TRANSITION_NAMES) == {t.name for t in TRANSITIONS}


def test_every_state_is_reachable_from_draft() -> None:
    seen = {"draft"}
    queue = deque(["draft"])
    while queue:
        state = queue.popleft()
        for transition in TRANSITIONS:
            if transition.source == state and transition.target not in seen:
                seen.add(transition.target)
                queue.append(transition.target)
    assert seen == set(STATES)


@pytest.mark.parametrize("state", STATES)
def test_final_states_are_exactly_those_with_no_way_out(state: str) -> None:
    leaving = [t for t in TRANSITIONS if t.source == state]
    assert is_final(state) == (not leaving)
    if state in ("approved", "not_approved"):
        assert is_final(state)
        assert all(allowed_transitions(state, role) == [] for role in ROLES)


def test_withdrawn_items_can_be_reopened_by_staff_only() -> None:
    assert not is_final("withdrawn")
    assert find_transition("reopen", "withdrawn", "staff").target == "draft"
    for role in ("reviewer", "coach", "admin"):
        assert allowed_transitions("withdrawn", role) == []


def test_only_reviewers_reach_a_verdict() -> None:
    verdicts = {"approved", "not_approved", "changes_requested"}
    for transition in TRANSITIONS:
        if transition.target in verdicts:
            assert transition.roles == {"reviewer"}
            # The verdict comes from a review, and reviewers may decide there.
            assert all(may(role, transition.source, "decide") for role in transition.roles)


# --- permissions ------------------------------------------------------------------------------


def test_permissions_name_only_known_states_and_roles() -> None:
    assert set(PERMISSIONS) == set(STATES)
    for by_role in PERMISSIONS.values():
        assert set(by_role) <= set(ROLES)


@pytest.mark.parametrize("state", STATES)
def test_staff_edit_only_in_draft_and_changes_requested(state: str) -> None:
    assert may("staff", state, "edit") == (state in ("draft", "changes_requested"))


@pytest.mark.parametrize("state", STATES)
def test_staff_can_submit_from_exactly_the_states_where_they_edit(state: str) -> None:
    # Otherwise a town could be stuck with a draft it can edit but not send, or the reverse.
    sends = {t.source for t in TRANSITIONS if t.target == "submitted" and "staff" in t.roles}
    assert (state in sends) == may("staff", state, "edit")


@pytest.mark.parametrize(("state", "role"), list(itertools.product(STATES, ROLES)))
def test_nobody_but_staff_ever_edits(state: str, role: str) -> None:
    if role != "staff":
        assert not may(role, state, "edit")


@pytest.mark.parametrize("state", STATES)
def test_reviewers_decide_only_in_review(state: str) -> None:
    assert may("reviewer", state, "decide") == (state == "in_review")
    assert not may("admin", state, "decide")


@pytest.mark.parametrize("state", STATES)
def test_coaches_only_read(state: str) -> None:
    # Coaches advise; they never change an item or its state. Reading is decided by access
    # rules elsewhere, so the workflow grants them nothing at all.
    assert PERMISSIONS[state].get("coach", frozenset()) == frozenset()
    assert allowed_transitions(state, "coach") == []
    for permission in ("edit", "comment", "decide", "answer_requests"):
        assert not may("coach", state, permission)


def test_may_is_false_for_unknown_states_roles_and_permissions() -> None:
    assert not may("staff", "archived", "edit")
    assert not may("mayor", "draft", "edit")
    assert not may("staff", "draft", "delete")


def test_nothing_can_be_done_to_a_verdict() -> None:
    for state in ("approved", "not_approved"):
        assert PERMISSIONS[state] == {}


# --- labels and whose turn --------------------------------------------------------------------


def test_every_state_has_both_labels() -> None:
    assert set(STATE_LABELS) == set(STATES)
    for labels in STATE_LABELS.values():
        assert isinstance(labels, StateLabels)
        assert labels.internal.strip() and labels.town.strip()


def test_the_labels_are_the_agreed_english_source_strings() -> None:
    assert {s: (labels.internal, labels.town) for s, labels in STATE_LABELS.items()} == {
        "draft": ("Draft", "Your turn: in progress"),
        "submitted": ("Submitted", "With reviewers"),
        "in_review": ("In review", "With reviewers"),
        "changes_requested": ("Changes requested", "Your turn: changes requested"),
        "approved": ("Approved", "Approved"),
        "not_approved": ("Not approved", "Not approved"),
        "withdrawn": ("Withdrawn", "Withdrawn by your town"),
    }


def test_internal_labels_tell_states_apart() -> None:
    internal = [labels.internal for labels in STATE_LABELS.values()]
    assert len(internal) == len(set(internal))


def test_n_marker_returns_its_argument_untranslated() -> None:
    assert workflow.N_("Draft") == "Draft"


def test_a_message_extractor_finds_every_label() -> None:
    found = {
        message
        for _line, message, _comments, _context in extract_from_file(
            "python", Path(workflow.__file__), keywords={"N_": None}
        )
    }
    for labels in STATE_LABELS.values():
        assert {labels.internal, labels.town} <= found
    assert set(LOCKED_FOR_TOWN.values()) <= found


@pytest.mark.parametrize("state", STATES)
def test_the_town_is_told_why_exactly_where_it_cannot_edit(state: str) -> None:
    reason = why_town_cannot_edit(state)
    assert (reason is None) == may("staff", state, "edit")
    # Where the town cannot edit but the table lets it withdraw or reopen, the words say so.
    moves = {t.name for t in allowed_transitions(state, "staff")} if reason else set()
    for move in ("withdraw", "reopen"):
        if move in moves:
            assert move in reason


@pytest.mark.parametrize("state", STATES)
def test_town_labels_agree_with_whose_turn(state: str) -> None:
    town_label = STATE_LABELS[state].town
    turn = whose_turn(state)
    assert turn in ("town", "reviewers", "nobody")
    assert town_label.startswith("Your turn") == (turn == "town")
    assert (town_label == "With reviewers") == (turn == "reviewers")
    assert is_with_reviewers(state) == (turn == "reviewers")


@pytest.mark.parametrize("state", STATES)
def test_whose_turn_matches_who_can_move_the_item_on(state: str) -> None:
    turn = whose_turn(state)
    movers = {role for t in TRANSITIONS if t.source == state for role in t.roles}
    if turn == "town":
        assert "staff" in movers and may("staff", state, "edit")
    elif turn == "reviewers":
        assert "reviewer" in movers
    else:
        # Nothing is pending: a verdict, or a withdrawal the town may choose to reopen.
        assert movers <= {"staff"}
        assert not any(may(role, state, "edit") for role in ROLES)


def test_whose_turn_rejects_unknown_states() -> None:
    with pytest.raises(ValueError, match="archived"):
        whose_turn("archived")


# --- the enums and the questions other code asks -----------------------------------------------


def test_states_compare_equal_to_the_stored_strings() -> None:
    assert [str(state) for state in workflow.State] == [
        "draft",
        "submitted",
        "in_review",
        "changes_requested",
        "approved",
        "not_approved",
        "withdrawn",
    ]
    assert STATES == tuple(workflow.State)
    assert STATE_LABELS["in_review"] is STATE_LABELS[workflow.State.IN_REVIEW]


def test_the_queue_is_the_states_with_reviewers_in_workflow_order() -> None:
    assert workflow.WITH_REVIEWERS == ("submitted", "in_review")


def test_decisions_are_the_reviewer_transitions_out_of_a_review() -> None:
    for name, state in zip(workflow.DECISION_TRANSITIONS, workflow.DECISION_STATES, strict=True):
        (transition,) = [t for t in TRANSITIONS if t.name == name]
        assert (transition.source, transition.target) == ("in_review", state)
        assert transition.roles == {"reviewer"}
    assert set(workflow.DECISION_STATES) == {"approved", "not_approved", "changes_requested"}


@pytest.mark.parametrize("state", STATES)
def test_is_decision_follows_the_decision_states(state: str) -> None:
    assert workflow.is_decision(state) == (state in workflow.DECISION_STATES)


@pytest.mark.parametrize("state", STATES)
def test_a_revision_is_shown_once_submitted_until_withdrawn_or_back_with_the_town(
    state: str,
) -> None:
    expected = state in ("submitted", "in_review", "approved", "not_approved")
    assert workflow.shows_revision(state) == expected


@pytest.mark.parametrize("state", STATES)
def test_submission_names_the_staff_transition_to_the_reviewers(state: str) -> None:
    name = workflow.submission(state)
    expected = {"draft": "submit", "changes_requested": "resubmit"}.get(state)
    assert name == expected
    if name is not None:
        assert find_transition(name, state, "staff").target == "submitted"
