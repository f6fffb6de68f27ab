"""Who holds a toolkit under review, and what holding it allows: the rule, stated once.

A reviewer claims a toolkit by starting its review (or by assigning it to themself while nobody
holds it); from then on only that reviewer, the holder, records verdicts, change requests, closes
requests and decides. Another reviewer may take the review over, openly. Admins choose who
reviews and may put a toolkit back in the queue, but do not decide. Comments are advice, not
decisions, so they are not part of a claim (see ``workflow.may(..., "comment")``).

Plain values in, plain answers out: the service layer, the views and the templates all ask here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sct_forms.domain import workflow
from sct_forms.domain.roles import REVIEWING_ROLES, Role

ACTIONS = ("decide", "start", "claim", "release", "reassign", "take_over")

# Why an action is refused. "role": never for this role; "state": not in this state;
# "held": another reviewer holds the toolkit; "not_held": nobody holds it yet (claim it first);
# "yours": the user already holds it (taking over from oneself means nothing).
REASONS = ("role", "state", "held", "not_held", "yours")


@dataclass(frozen=True)
class Claim:
    """The facts the rule needs: who asks, in which role, the state and who holds the toolkit."""

    user_id: int
    role: str
    state: str
    holder_id: int | None

    @property
    def held_by_user(self) -> bool:
        return self.holder_id is not None and self.holder_id == self.user_id

    @property
    def held_by_other(self) -> bool:
        return self.holder_id is not None and self.holder_id != self.user_id


def refusal(action: str, claim: Claim) -> str | None:
    """Why ``action`` is refused (one of REASONS), or None when it is allowed.

    Actions: "decide" (verdicts, change requests, closing them, the decision), "start" (start
    reviewing a submitted toolkit, which claims it), "claim" (a reviewer assigns the toolkit to
    themself), "release" (back to the queue), "reassign" (an admin chooses the reviewer) and
    "take_over" (a reviewer takes the review from the one who holds it).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown claim action {action!r}")
    with_reviewers = workflow.is_with_reviewers(claim.state)
    if action == "decide":
        if claim.role != Role.REVIEWER:
            return "role"
        if not workflow.may(claim.role, claim.state, "decide"):
            return "state"
        return _holder_only(claim)
    if action in ("start", "claim"):
        if claim.role != Role.REVIEWER:
            return "role"
        if action == "start" and not _transition_allowed("start_review", claim):
            return "state"
        if not with_reviewers:
            return "state"
        return "held" if claim.held_by_other else None
    if action == "release":
        if claim.role not in REVIEWING_ROLES:
            return "role"
        if not _transition_allowed("release", claim):
            return "state"
        return None if claim.role == Role.ADMIN else _holder_only(claim)
    if action == "reassign":
        if claim.role != Role.ADMIN:
            return "role"
        return None if with_reviewers else "state"
    # take_over
    if claim.role != Role.REVIEWER:
        return "role"
    if not with_reviewers:
        return "state"
    if claim.holder_id is None:
        return "not_held"
    return "yours" if claim.held_by_user else None


def _transition_allowed(name: str, claim: Claim) -> bool:
    return any(t.name == name for t in workflow.allowed_transitions(claim.state, claim.role))


def _holder_only(claim: Claim) -> str | None:
    if claim.holder_id is None:
        return "not_held"
    return None if claim.held_by_user else "held"


def may(action: str, claim: Claim) -> bool:
    """Whether ``action`` is allowed for this claim."""
    return refusal(action, claim) is None
