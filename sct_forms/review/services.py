"""The review workflow in action: submit, review, request changes, decide.

Every transition names the state the person saw; if the toolkit has moved on (a stale page
or a second click), nothing happens and the caller answers 409. State changes are
compare-and-set updates, so two app servers cannot both apply one. Only the reviewer who
holds a toolkit records verdicts, change requests and the decision (the rule is
``domain.claims``); another reviewer may take the review over, openly.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from sct_forms import audit
from sct_forms.certificates import services as certificates
from sct_forms.domain import claims, workflow
from sct_forms.domain.roles import Role, is_town_staff
from sct_forms.extensions import db
from sct_forms.inputs import has_control_characters
from sct_forms.models import ChangeRequest, ReviewComment, Revision, StepVerdict, Toolkit, User
from sct_forms.models.types import utcnow
from sct_forms.review import notifications
from sct_forms.review.snapshots import snapshot_of
from sct_forms.toolkits.services import (
    RequestAnswer,
    apply_request_answer,
    definition_for,
    may_answer_requests,
    request_answer_problem,
    toolkit_completeness,
)

# Longest comment or change request, and longest reason; longer text is refused, never cut.
TEXT_MAX_LENGTH = 5000
REASON_MAX_LENGTH = 2000
VERDICTS = ("meets", "needs_changes")
VISIBILITIES = ("town", "internal")
DECISIONS = workflow.DECISION_TRANSITIONS


class WorkflowError(Exception):
    """An action that cannot happen now; ``code`` says why, ``status`` is the HTTP answer."""

    def __init__(self, code: str, status: int = 409, **params: Any):
        super().__init__(code)
        self.code, self.status, self.params = code, status, params


def _apply(
    toolkit: Toolkit,
    name: str,
    user: User,
    expected_state: str | None,
    *,
    same_holder: bool = False,
) -> tuple[str, str]:
    """Move the toolkit through transition ``name``; returns (before, after).

    With ``same_holder`` the move also requires that nobody claimed or took over the toolkit
    since the claim rule was asked.
    """
    before = toolkit.state
    if expected_state is not None and expected_state != before:
        raise WorkflowError("stale", expected=expected_state, actual=before)
    try:
        transition = workflow.find_transition(name, before, user.role)
    except workflow.TransitionRefusedError as refused:
        raise WorkflowError(
            "refused", 403 if refused.reason == "role" else 409, reason=refused.reason
        ) from refused
    conditions = [Toolkit.id == toolkit.id, Toolkit.state == before]
    if same_holder:
        conditions.append(_holder_is(toolkit.assigned_reviewer_id))
    result = db.session.execute(update(Toolkit).where(*conditions).values(state=transition.target))
    if result.rowcount != 1:
        db.session.rollback()
        raise WorkflowError("stale", expected=before)
    db.session.refresh(toolkit)
    return before, transition.target


def _not_stale(toolkit: Toolkit, expected_state: str | None) -> None:
    """A page that shows an older state gets the stale answer before any other refusal."""
    if expected_state is not None and expected_state != toolkit.state:
        raise WorkflowError("stale", expected=expected_state, actual=toolkit.state)


def _holder_is(holder_id: int | None):  # noqa: ANN202
    if holder_id is None:
        return Toolkit.assigned_reviewer_id.is_(None)
    return Toolkit.assigned_reviewer_id == holder_id


def _require_claim(action: str, toolkit: Toolkit, user: User) -> None:
    """Ask the claim rule (domain.claims); refusals name the holder so the page can say who."""
    reason = claims.refusal(action, claim_of(toolkit, user))
    if reason is None:
        return
    if reason == "role":
        raise WorkflowError("refused", 403, reason="role")
    holder = toolkit.assigned_reviewer
    raise WorkflowError(
        "not_now" if reason == "state" else reason,
        holder=holder.name if holder is not None else None,
    )


def claim_of(toolkit: Toolkit, user: User) -> claims.Claim:
    return claims.Claim(
        user_id=user.id,
        role=user.role,
        state=toolkit.state,
        holder_id=toolkit.assigned_reviewer_id,
    )


def may_claim_action(action: str, user: User, toolkit: Toolkit) -> bool:
    """The claim rule for templates and views: whether ``user`` may ``action`` ``toolkit`` now."""
    return user.is_authenticated and claims.may(action, claim_of(toolkit, user))


def _checked_text(text: str, limit: int) -> str:
    """``text`` without surrounding blanks; refused when too long or holding control codes."""
    text = text.strip()
    if len(text) > limit:
        raise WorkflowError("too_long", 422, max=limit, length=len(text))
    if has_control_characters(text):
        raise WorkflowError("control_characters", 422)
    return text


def _record(action: str, toolkit: Toolkit, user: User, before: str, after: str, **details) -> None:
    audit.record_toolkit_event(
        action,
        toolkit,
        user,
        from_state=before,
        to_state=after,
        revision=toolkit.revision_count,
        **details,
    )


def _require_own_town(toolkit: Toolkit, user: User) -> None:
    if not is_town_staff(user, toolkit.municipality_id):
        raise WorkflowError("refused", 403, reason="role")


def open_requests(toolkit: Toolkit) -> list[ChangeRequest]:
    return list(
        db.session.scalars(
            select(ChangeRequest)
            .where(ChangeRequest.toolkit_id == toolkit.id, ChangeRequest.status != "closed")
            .order_by(ChangeRequest.id)
        )
    )


def latest_revision(toolkit: Toolkit) -> Revision | None:
    return db.session.scalar(
        select(Revision)
        .where(Revision.toolkit_id == toolkit.id)
        .order_by(Revision.number.desc())
        .limit(1)
    )


def revision(toolkit: Toolkit, number: int) -> Revision | None:
    return db.session.scalar(
        select(Revision).where(Revision.toolkit_id == toolkit.id, Revision.number == number)
    )


# --- the town ---------------------------------------------------------------------------------


def submit(toolkit: Toolkit, user: User, expected_state: str | None) -> Revision:
    """Freeze the toolkit as revision N+1 and hand it to the reviewers."""
    _require_own_town(toolkit, user)
    # From a state the town cannot submit from, "submit" is refused below as a stale page.
    name = workflow.submission(toolkit.state) or "submit"
    if not toolkit_completeness(toolkit).is_complete:
        raise WorkflowError("incomplete", 422)
    if name == "resubmit":
        unanswered = [r for r in open_requests(toolkit) if r.status == "open"]
        if unanswered:
            raise WorkflowError("requests_unanswered", 422, count=len(unanswered))
    before, after = _apply(toolkit, name, user, expected_state)
    toolkit.revision_count += 1
    toolkit.submitted_at = utcnow()
    frozen = Revision(
        toolkit_id=toolkit.id,
        number=toolkit.revision_count,
        definition_version=toolkit.definition_version,
        snapshot=snapshot_of(toolkit),
        submitted_by_id=user.id,
    )
    db.session.add(frozen)
    _record(
        f"toolkit.{name}ted" if name == "submit" else "toolkit.resubmitted",
        toolkit,
        user,
        before,
        after,
    )
    # The reviewers' emails commit with the submission, or not at all.
    notifications.after_submission(toolkit)
    db.session.commit()
    return frozen


def withdraw(toolkit: Toolkit, user: User, expected_state: str | None) -> None:
    _require_own_town(toolkit, user)
    before, after = _apply(toolkit, "withdraw", user, expected_state)
    _record("toolkit.withdrawn", toolkit, user, before, after)
    db.session.commit()


def reopen(toolkit: Toolkit, user: User, expected_state: str | None) -> None:
    _require_own_town(toolkit, user)
    before, after = _apply(toolkit, "reopen", user, expected_state)
    _record("toolkit.reopened", toolkit, user, before, after)
    db.session.commit()


def respond_to_request(
    request: ChangeRequest, toolkit: Toolkit, user: User, response: str, addressed: bool
) -> None:
    """The town answers a change request and says whether it is dealt with."""
    _require_own_town(toolkit, user)
    if not may_answer_requests(user, toolkit) or request.status == "closed":
        raise WorkflowError("not_now")
    answer = RequestAnswer(request_id=request.id, response=response.strip(), addressed=addressed)
    problem = request_answer_problem(answer)
    if problem is not None:
        raise WorkflowError(problem.code, 422, **problem.params)
    apply_request_answer(request, answer, toolkit, user)
    db.session.commit()


# --- the reviewers ----------------------------------------------------------------------------


def start_review(toolkit: Toolkit, user: User, expected_state: str | None) -> None:
    """A reviewer claims a submitted toolkit nobody else holds, and starts reviewing it."""
    _not_stale(toolkit, expected_state)
    _require_claim("start", toolkit, user)
    before, after = _apply(toolkit, "start_review", user, expected_state, same_holder=True)
    toolkit.assigned_reviewer_id = user.id
    _record("toolkit.review_started", toolkit, user, before, after, reviewer_id=user.id)
    db.session.commit()


def release(toolkit: Toolkit, user: User, expected_state: str | None) -> None:
    """Give a claimed toolkit back to the queue: its holder, or an admin."""
    _not_stale(toolkit, expected_state)
    _require_claim("release", toolkit, user)
    before, after = _apply(toolkit, "release", user, expected_state, same_holder=True)
    previous = toolkit.assigned_reviewer_id
    toolkit.assigned_reviewer_id = None
    _record("toolkit.released", toolkit, user, before, after, from_reviewer_id=previous)
    db.session.commit()


def assign(toolkit: Toolkit, reviewer: User | None, user: User) -> None:
    """An admin chooses who reviews a toolkit; a reviewer may take one nobody holds.

    A reviewer assigning a toolkit another reviewer holds is refused: that is a take-over,
    which is its own, explicit action.
    """
    if user.role == Role.ADMIN:
        _require_claim("reassign", toolkit, user)
    else:
        if reviewer is None or reviewer.id != user.id:
            raise WorkflowError("refused", 403, reason="role")
        _require_claim("claim", toolkit, user)
    if reviewer is not None and (reviewer.role != Role.REVIEWER or not reviewer.active):
        raise WorkflowError("not_a_reviewer", 422)
    previous = toolkit.assigned_reviewer_id
    _set_holder(toolkit, previous, reviewer.id if reviewer else None)
    audit.record_toolkit_event(
        "toolkit.assigned",
        toolkit,
        user,
        reviewer_id=toolkit.assigned_reviewer_id,
        from_reviewer_id=previous,
        revision=toolkit.revision_count,
        internal=True,
    )
    db.session.commit()


def take_over(
    toolkit: Toolkit, user: User, expected_holder_id: int | None, reason: str = ""
) -> None:
    """A reviewer openly takes over the review another reviewer holds; nobody is emailed."""
    _require_claim("take_over", toolkit, user)
    reason = _checked_text(reason, REASON_MAX_LENGTH)
    previous = toolkit.assigned_reviewer_id
    if expected_holder_id is not None and expected_holder_id != previous:
        raise WorkflowError("stale")
    _set_holder(toolkit, previous, user.id)
    audit.record_toolkit_event(
        "toolkit.review_taken_over",
        toolkit,
        user,
        from_reviewer_id=previous,
        to_reviewer_id=user.id,
        reason=reason or None,
        state=toolkit.state,
        revision=toolkit.revision_count,
        internal=True,
    )
    db.session.commit()


def _set_holder(toolkit: Toolkit, previous: int | None, holder_id: int | None) -> None:
    """Compare-and-set: only if the holder and the state are still what the rule was asked on."""
    result = db.session.execute(
        update(Toolkit)
        .where(Toolkit.id == toolkit.id, Toolkit.state == toolkit.state, _holder_is(previous))
        .values(assigned_reviewer_id=holder_id)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise WorkflowError("stale")
    db.session.refresh(toolkit)


def _require_decider(toolkit: Toolkit, user: User) -> None:
    """Verdicts, change requests, closing them and the decision: the holder only."""
    _require_claim("decide", toolkit, user)


def set_verdict(toolkit: Toolkit, step_key: str, verdict: str, user: User) -> StepVerdict:
    _require_decider(toolkit, user)
    definition_for(toolkit).step(step_key)
    if verdict not in VERDICTS:
        raise WorkflowError("bad_verdict", 422)
    row = db.session.scalar(
        select(StepVerdict).where(
            StepVerdict.toolkit_id == toolkit.id,
            StepVerdict.revision_number == toolkit.revision_count,
            StepVerdict.step_key == step_key,
        )
    )
    if row is None:
        row = StepVerdict(
            toolkit_id=toolkit.id,
            revision_number=toolkit.revision_count,
            step_key=step_key,
            verdict=verdict,
            reviewer_id=user.id,
        )
        db.session.add(row)
    row.verdict, row.reviewer_id, row.updated_at = verdict, user.id, utcnow()
    audit.record_toolkit_event(
        "toolkit.step_verdict",
        toolkit,
        user,
        step=step_key,
        verdict=verdict,
        revision=toolkit.revision_count,
        internal=True,
    )
    db.session.commit()
    return row


def verdicts(toolkit: Toolkit, revision_number: int) -> dict[str, str]:
    rows = db.session.scalars(
        select(StepVerdict).where(
            StepVerdict.toolkit_id == toolkit.id, StepVerdict.revision_number == revision_number
        )
    )
    return {row.step_key: row.verdict for row in rows}


def add_comment(
    toolkit: Toolkit, step_key: str | None, body: str, visibility: str, user: User
) -> ReviewComment:
    if not workflow.may(user.role, toolkit.state, "comment"):
        raise WorkflowError("refused", 403, reason="state")
    body = _checked_text(body, TEXT_MAX_LENGTH)
    if not body:
        raise WorkflowError("empty_comment", 422)
    if visibility not in VISIBILITIES:
        raise WorkflowError("bad_visibility", 422)
    if step_key:
        definition_for(toolkit).step(step_key)
    comment = ReviewComment(
        toolkit_id=toolkit.id,
        revision_number=toolkit.revision_count,
        step_key=step_key or None,
        author_id=user.id,
        body=body,
        visibility=visibility,
    )
    db.session.add(comment)
    db.session.flush()
    audit.record_toolkit_event(
        "toolkit.commented",
        toolkit,
        user,
        comment_id=comment.id,
        step=step_key,
        revision=toolkit.revision_count,
        internal=visibility == "internal",
    )
    db.session.commit()
    return comment


def add_change_request(
    toolkit: Toolkit, step_key: str, target: str | None, body: str, user: User
) -> ChangeRequest:
    """Pin a change the town must make to a step, one of its questions or an evidence file."""
    _require_decider(toolkit, user)
    step = definition_for(toolkit).step(step_key)
    body = _checked_text(body, TEXT_MAX_LENGTH)
    if not body:
        raise WorkflowError("empty_request", 422)
    target = (target or "").strip() or None
    if target and not _target_exists(toolkit, step, target):
        raise WorkflowError("bad_target", 422)
    request = ChangeRequest(
        toolkit_id=toolkit.id,
        revision_number=toolkit.revision_count,
        step_key=step_key,
        target=target,
        body=body,
        created_by_id=user.id,
    )
    db.session.add(request)
    db.session.flush()
    audit.record_toolkit_event(
        "change_request.created",
        toolkit,
        user,
        request_id=request.id,
        step=step_key,
        target=target,
        revision=toolkit.revision_count,
    )
    db.session.commit()
    return request


def _target_exists(toolkit: Toolkit, step, target: str) -> bool:  # noqa: ANN001
    if target.startswith("evidence:"):
        frozen = latest_revision(toolkit)
        return any(
            e["sha256"] == target.split(":", 1)[1] and e["step_key"] == step.key
            for e in (frozen.evidence if frozen else [])
        )
    try:
        step.question(target.split(".")[0])
    except KeyError:
        return False
    return True


def close_request(request: ChangeRequest, toolkit: Toolkit, user: User) -> None:
    _require_decider(toolkit, user)
    if request.status == "closed":
        raise WorkflowError("stale")
    request.status, request.closed_by_id, request.closed_at = "closed", user.id, utcnow()
    audit.record_toolkit_event(
        "change_request.closed",
        toolkit,
        user,
        request_id=request.id,
        revision=toolkit.revision_count,
    )
    db.session.commit()


def decide(
    toolkit: Toolkit, decision: str, user: User, expected_state: str | None, reason: str = ""
) -> None:
    """Approve, request changes (at least one open request), or not approve (with a reason).

    Once the decision is committed, the program issues the certificate it earned, if any
    (certificates.issue_after_decision), in a transaction of its own: a certificate that
    cannot be made never undoes the decision.
    """
    if decision not in DECISIONS:
        raise WorkflowError("bad_decision", 422)
    _not_stale(toolkit, expected_state)
    _require_decider(toolkit, user)
    reason = _checked_text(reason, REASON_MAX_LENGTH)
    requests = open_requests(toolkit)
    if decision == "request_changes" and not any(r.status == "open" for r in requests):
        raise WorkflowError("no_requests", 422)
    if decision == "not_approve" and not reason:
        raise WorkflowError("reason_needed", 422)
    before, after = _apply(toolkit, decision, user, expected_state, same_holder=True)
    if decision == "approve":
        # Approval settles whatever the reviewer had not closed one by one.
        for request in requests:
            request.status, request.closed_by_id, request.closed_at = "closed", user.id, utcnow()
    toolkit.decision_reason = reason or None
    still_open = len([r for r in requests if r.status == "open"])
    _record(
        f"toolkit.{after}",
        toolkit,
        user,
        before,
        after,
        reason=reason or None,
        open_requests=still_open,
    )
    # The town's emails commit with the decision, or not at all.
    notifications.after_decision(toolkit, still_open)
    db.session.commit()
    certificates.issue_after_decision(toolkit.municipality, toolkit.cycle, user)
