"""The email outbox page: every message by status, and a Retry button on unsent ones.

Administrators only (admin.outbox refuses everyone else as well).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from sct_forms.access import roles_required
from sct_forms.admin import outbox
from sct_forms.admin.forms import RetryForm
from sct_forms.domain.roles import Role
from sct_forms.i18n import gettext as _
from sct_forms.inputs import bounded_int
from sct_forms.mail.delivery import max_attempts, sends_automatically
from sct_forms.templating import render

bp = Blueprint("admin_outbox", __name__, url_prefix="/admin/outbox")


def _status_filter() -> str | None:
    status = request.args.get("status")
    return status if status in outbox.STATUSES else None


def _page(error: str | None = None, status_code: int = 200):
    status = _status_filter()
    try:
        page = outbox.messages(current_user, status, request.args.get("page", type=bounded_int))
    except outbox.OutboxRefusedError:
        abort(403)
    give_up_at = max_attempts()
    return render(
        "admin/outbox.html",
        page=page,
        status=status,
        statuses=outbox.STATUSES,
        status_of=lambda message: outbox.status_of(message, give_up_at),
        may_retry=outbox.may_retry,
        retry_url=lambda message: url_for(
            "admin_outbox.retry", message_id=message.id, status=status, page=page.number
        ),
        pager_endpoint="admin_outbox.page",
        pager_args={"status": status} if status else {},
        error=error,
    ), status_code


@bp.get("/")
@roles_required(Role.ADMIN)
def page():
    return _page()


def _refusal_message(code: str) -> str:
    return {
        "sent": _("This email was sent in the meantime: there is nothing to retry."),
        "changed": _(
            "This email changed since the page was shown: it was retried already, or "
            "delivery tried it. Look at its status below."
        ),
        "sending": _(
            "This email is being sent or will be tried again within minutes. Reload the page "
            "in a few minutes to see its status."
        ),
    }.get(code, _("This email could not be retried."))


@bp.post("/<int:message_id>/retry")
@roles_required(Role.ADMIN)
def retry(message_id: int):
    form = RetryForm()
    if not form.validate():
        return _page(error=form.first_error(), status_code=422)
    try:
        retried = outbox.retry(
            message_id,
            current_user,
            seen_attempts=form.attempts.data,
            seen_send_after=form.seen_send_after(),
        )
    except outbox.OutboxRefusedError as refused:
        if refused.status in (403, 404):
            abort(refused.status)
        return _page(error=_refusal_message(refused.code), status_code=refused.status)
    if sends_automatically(current_app.config):
        message = _(
            "The email to %(address)s is due now and will be sent within a minute.",
            address=retried.message.to_address,
        )
    else:
        message = _(
            "The email to %(address)s is due now. This server does not send email by itself: "
            "it goes out when the outbox is delivered (flask deliver-outbox).",
            address=retried.message.to_address,
        )
    flash(message, "info")
    back = url_for(
        "admin_outbox.page",
        status=_status_filter(),
        page=request.args.get("page", type=bounded_int),
    )
    return redirect(back, 303)
