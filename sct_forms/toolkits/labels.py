"""Workflow state names in words: the program's word, and the town's, which says who acts next."""

from __future__ import annotations

from sct_forms.i18n import gettext as _


def internal_label(state: str) -> str:
    return {
        "draft": _("Draft"),
        "submitted": _("Submitted"),
        "in_review": _("In review"),
        "changes_requested": _("Changes requested"),
        "approved": _("Approved"),
        "not_approved": _("Not approved"),
        "withdrawn": _("Withdrawn"),
    }.get(state, state)


def town_label(state: str, open_requests: int = 0) -> str:
    if state == "draft":
        return _("Your turn: in progress")
    if state in ("submitted", "in_review"):
        return _("With reviewers")
    if state == "changes_requested":
        from sct_forms.i18n import ngettext

        return ngettext(
            "Your turn: %(num)s change requested",
            "Your turn: %(num)s changes requested",
            open_requests,
        )
    if state == "approved":
        return _("Approved")
    if state == "not_approved":
        return _("Not approved")
    if state == "withdrawn":
        return _("Withdrawn by your town")
    return state
