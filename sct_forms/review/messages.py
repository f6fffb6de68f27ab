"""Plain words for workflow refusals."""

from __future__ import annotations

from sct_forms.i18n import gettext as _
from sct_forms.i18n import ngettext


def workflow_message(code: str, params: dict) -> str:
    if code == "stale":
        return _(
            "This toolkit changed since you opened the page (someone else may have acted on "
            "it, or the button was pressed twice). Nothing was done. Check where it stands now."
        )
    if code == "incomplete":
        return _("The toolkit is not complete yet. The list below shows what is missing.")
    if code == "requests_unanswered":
        return ngettext(
            "Answer the %(num)s open change request and mark it done before sending again.",
            "Answer the %(num)s open change requests and mark them done before sending again.",
            params.get("count", 1),
        )
    if code == "no_requests":
        return _(
            "Add at least one change request, saying what the town should change, before "
            "asking for changes."
        )
    if code == "reason_needed":
        return _("Say why the toolkit is not approved. The town will read this.")
    if code == "empty_comment":
        return _("Write the comment before saving it.")
    if code == "empty_request":
        return _("Say what the town should change.")
    if code == "response_needed":
        return _("Say what you changed before marking the request as done.")
    if code == "too_long":
        return _(
            "Use %(max)s characters or fewer. You have %(length)s.",
            max=params["max"],
            length=params["length"],
        )
    if code == "bad_target":
        return _("Choose a question or a file of this step, or the whole step.")
    if code == "not_a_reviewer":
        return _("Choose an active reviewer.")
    if code == "held":
        return _(
            "%(name)s is reviewing this toolkit, so only they can record verdicts, change "
            "requests and the decision. Nothing was done. To work on it yourself, take the "
            "review over on the review page.",
            name=params.get("holder") or _("Another reviewer"),
        )
    if code == "not_held":
        return _(
            "Nobody is reviewing this toolkit yet. Nothing was done. Start reviewing it first."
        )
    if code == "yours":
        return _("You are already reviewing this toolkit. Nothing was done.")
    if code == "control_characters":
        return _(
            "The text contains invisible control characters, so it was not saved. They can come "
            "with text pasted from another program. Remove them or paste as plain text."
        )
    return _("This cannot be done now.")
