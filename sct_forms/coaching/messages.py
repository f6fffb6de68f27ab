"""Plain words for coaching refusals."""

from __future__ import annotations

from sct_forms.i18n import gettext as _


def coaching_message(code: str, params: dict) -> str:
    field = params.get("field")
    if code == "empty":
        return {
            "topics": _("Say what you would like help with."),
            "availability": _("Say when you are available to meet."),
        }.get(field, _("Write your advice before sending it."))
    if code == "too_long":
        return _(
            "Use %(max)s characters or fewer. You have %(length)s.",
            max=params["max"],
            length=params["length"],
        )
    if code == "control_characters":
        return _(
            "This text contains invisible control characters, so it was not saved. They can "
            "come with text pasted from another program. Remove them or paste as plain text."
        )
    if code == "meeting":
        return _("Choose how you would like to meet your coach.")
    if code == "already_open":
        return _(
            "Your town already asked for a coach. The program will assign one soon; you can "
            "see the request below."
        )
    if code == "not_open":
        return _(
            "This request was already assigned or withdrawn (someone else may have acted on "
            "it, or the button was pressed twice). Nothing was done."
        )
    if code == "not_a_coach":
        return _("Choose an active coach from the list.")
    if code == "already_assigned":
        return _(
            "%(coach)s already coaches %(town)s. Nothing was changed.",
            coach=params["coach_name"],
            town=params["town"],
        )
    if code == "bad_step":
        return _("Choose a step of this record.")
    return _("This could not be done. Reload the page and try again.")
