"""Names in words: workflow states (the program's word, and the town's, which says who acts
next) and the title of a record."""

from __future__ import annotations

from sct_forms.domain.forms import Form
from sct_forms.domain.toolkit_definition import load_definition
from sct_forms.domain.workflow import STATE_LABELS, State, why_town_cannot_edit
from sct_forms.i18n import get_locale_language, ngettext
from sct_forms.i18n import gettext as _


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


def lock_reason(state: str, town_name: str, *, is_own_staff: bool) -> str | None:
    """Why this person cannot change the toolkit: the town's staff are told what the state
    means and what they can do; everyone else that only the town's staff change it."""
    if not is_own_staff:
        return _("Only staff of %(town)s can change this toolkit. You can read it.", town=town_name)
    reason = why_town_cannot_edit(state)
    return _(reason) if reason else None


def record_title(toolkit) -> str:  # noqa: ANN001
    """What a record is called in headings: "Equity Toolkit for 3.4 …", or for the record of
    action 1.2 or 1.3 its definition's title, "Action 1.2: Participate in Equity Training"."""
    if toolkit.form == Form.TOOLKIT:
        return _("Equity Toolkit for %(action)s", action=toolkit.paired_action.label)
    definition = load_definition(toolkit.definition_version, toolkit.form)
    return definition.title.get(get_locale_language())
