"""What a record's pages show of coaching: the coach's comments, and whether this person may
add one (the service's rule)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sct_forms.coaching import queries, services
from sct_forms.domain.coaching import COMMENT_MAX_LENGTH
from sct_forms.models import CoachComment, Toolkit, User


@dataclass(frozen=True)
class CoachNotes:
    """The coach's comments on one step of a record (``step_key``), or on the whole record."""

    toolkit: Toolkit
    step_key: str | None
    may_comment: bool
    comments: list[CoachComment] = field(default_factory=list)
    max_length: int = COMMENT_MAX_LENGTH


def coach_notes(toolkit: Toolkit, user: User, step_key: str | None = None) -> CoachNotes:
    """On a step page, that step's comments; on the record's page, every comment."""
    return CoachNotes(
        toolkit=toolkit,
        step_key=step_key,
        may_comment=services.may_comment(user, toolkit),
        comments=queries.coach_comments(toolkit, step_key),
    )
