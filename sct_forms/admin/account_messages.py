"""Plain words for the refusals of the accounts pages (``AccountError.code``)."""

from __future__ import annotations

from sct_forms.i18n import gettext as _


def account_message(code: str) -> str:
    messages = {
        "unknown_role": _("Choose a role."),
        "town_needed": _("Choose the town this person works for. Town staff need a town."),
        "no_town_for_role": _(
            "Reviewers and administrators work for the whole program: choose “No town”."
        ),
        "exists": _("Someone already has an account with this email address."),
        "has_password": _(
            "This person already has an account and a password. If they forgot it, they can "
            "use “Forgot your password?” on the sign-in page."
        ),
        "deactivated": _(
            "The account with this email address is deactivated. Reactivate it from the "
            "accounts list instead."
        ),
        "invited_as_other_role": _(
            "This person was already invited with another role. Choose that role to send them "
            "a new link, or change their role on their account page."
        ),
        "invited_for_other_town": _(
            "This person was already invited for another town. Choose that town to send them "
            "a new link, or change their town on their account page."
        ),
        "teammate_elsewhere": _(
            "This email address belongs to an account the program's administrators manage. "
            "Ask them to add this person to your town."
        ),
        "self_demotion": _(
            "You cannot take away your own administrator role: the program could be left "
            "without anyone to run accounts. Another administrator can change it."
        ),
        "self_deactivation": _(
            "You cannot deactivate your own account: the program could be left without anyone "
            "to run accounts. Another administrator can deactivate it."
        ),
        "already_inactive": _("This account was already deactivated. Nothing was done."),
        "already_active": _("This account was already active. Nothing was done."),
        "refused": _("You may not do this."),
    }
    return messages.get(code, _("This could not be done. Reload the page and try again."))
