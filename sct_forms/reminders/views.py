"""One's own reminder emails: turn them on or off (``/account/reminders``)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user

from sct_forms.access import roles_required
from sct_forms.domain.reminders import Kind
from sct_forms.domain.roles import ALL_ROLES
from sct_forms.extensions import db
from sct_forms.i18n import gettext as _
from sct_forms.reminders import services
from sct_forms.reminders.forms import OFF, ON, ReminderSettingForm
from sct_forms.templating import render

bp = Blueprint("reminders", __name__, url_prefix="/account/reminders")


def described(kinds: tuple[Kind, ...]) -> list[str]:
    """What each kind of reminder is, in the reader's words."""
    words = {
        Kind.DEADLINE: _(
            "a reminder 30, 7 and 1 days before the submission deadline, when your town has "
            "records it has not submitted yet;"
        ),
        Kind.CHANGES_WAITING: _(
            "a reminder when reviewers asked your town for changes and nobody worked on the "
            "record for 14 days;"
        ),
        Kind.REVIEW_DIGEST: _(
            "every Monday, how many records wait for review and how long the oldest has waited."
        ),
    }
    return [words[kind] for kind in kinds]


@bp.route("", methods=["GET", "POST"])
@roles_required(*ALL_ROLES)
def settings():
    person = current_user._get_current_object()  # noqa: SLF001 - the account, not its proxy
    form = ReminderSettingForm()
    if form.validate_on_submit():
        # Only one's own setting: the page names no other person.
        changed = services.set_reminders(person, form.enabled)
        db.session.commit()
        if form.enabled:
            message = _("Reminder emails are on. We will send you the reminders listed here.")
        else:
            message = _("Reminder emails are off. We will not send you reminders.")
        flash(
            message if changed else _("Nothing changed: that was already your choice."), "success"
        )
        return redirect(url_for("reminders.settings"), code=303)
    form.anchor()
    status = 422 if form.is_submitted() else 200
    if not form.is_submitted():
        form.reminders.data = ON if person.reminders_enabled else OFF
    return render(
        "reminders/settings.html",
        form=form,
        reminders=described(services.reminders_for_role(person.role)),
        enabled=person.reminders_enabled,
    ), status
