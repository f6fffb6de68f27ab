"""Workflow state names in words: the program's word, and the town's, which says who acts next."""

from __future__ import annotations

from sct_forms.domain.workflow import STATE_LABELS, State
from sct_forms.i18n import gettext as _
from sct_forms.i18n import ngettext


def internal_label(state: str) -> str:
    labels = STATE_LABELS.get(state)
    return _(labels.internal) if labels else state


def town_label(state: str, open_requests: int = 0) -> str:
    """The town's words; with changes requested, how many are still waiting for the town."""
    if state == State.CHANGES_REQUESTED:
        return ngettext(
            "Your turn: %(num)s change requested",
            "Your turn: %(num)s changes requested",
            open_requests,
        )
    labels = STATE_LABELS.get(state)
    return _(labels.town) if labels else state
