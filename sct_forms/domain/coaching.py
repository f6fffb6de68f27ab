"""Equity coaching: where a town's request for a coach stands, and how the town wants to meet."""

from __future__ import annotations

import enum


class RequestStatus(enum.StrEnum):
    """A coach request's status; the value is what ``coach_request.status`` stores."""

    OPEN = "open"  # waiting for an administrator to assign a coach
    ASSIGNED = "assigned"
    WITHDRAWN = "withdrawn"  # the town took it back before a coach was assigned


class Meeting(enum.StrEnum):
    """How the town would like to meet its coach (``coach_request.meeting``)."""

    PHONE = "phone"
    VIDEO = "video"
    IN_PERSON = "in_person"


MEETINGS: tuple[Meeting, ...] = tuple(Meeting)

# Longest texts, in characters; longer text is refused with a message, never cut.
TOPICS_MAX_LENGTH = 2000
AVAILABILITY_MAX_LENGTH = 1000
COMMENT_MAX_LENGTH = 4000
