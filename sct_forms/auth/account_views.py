"""One's own account: change the password, reset a forgotten one by email, accept an invitation."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_required, login_user
from werkzeug.wrappers import Response

from sct_forms import audit
from sct_forms.auth import password_changes, sessions, tokens
from sct_forms.auth.forms import ChangePasswordForm, ForgotPasswordForm, SetPasswordForm
from sct_forms.auth.password_changes import ChangeOutcome, LinkNotUsableError, WeakPasswordError
from sct_forms.auth.password_policy import MIN_LENGTH
from sct_forms.extensions import db
from sct_forms.i18n import gettext as _
from sct_forms.models import User, utcnow
from sct_forms.templating import render

bp = Blueprint("account", __name__)

# What each emailed link is for: the token purpose and the page's own words.
LINK_PAGES = {"reset": "auth/reset_password.html", "invite": "auth/accept_invitation.html"}


@bp.after_request
def _never_cache(response: Response) -> Response:
    # Password pages and pages opened from a secret link are nobody's to keep.
    response.headers["Cache-Control"] = "no-store"
    return response


def _client_address() -> str:
    return request.remote_addr or "unknown"


def _new_session_for(user: User) -> None:
    """Start a fresh session for ``user``: nothing from before the password was set carries over."""
    sessions.clear_session()
    login_user(user)
    sessions.start()
    user.last_signed_in_at = utcnow()
    audit.record("user.signed_in", actor=user, object_type="user", object_id=user.id, via="link")
    db.session.commit()


# --- change, signed in ---------------------------------------------------------------------------


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    error = None
    status = 200
    if form.validate_on_submit():
        user = current_user._get_current_object()  # noqa: SLF001
        try:
            outcome = password_changes.change_password(
                user, form.current_password.data, form.new_password.data
            )
        except WeakPasswordError as refused:
            db.session.rollback()
            form.new_password.errors.append(str(refused))
            status = 422
        else:
            if outcome is ChangeOutcome.CHANGED:
                flash(
                    _(
                        "Your password is changed. Every other browser where you were signed in "
                        "is now signed out. We sent you an email about the change."
                    ),
                    "success",
                )
                return redirect(url_for("auth.start"), code=303)
            if outcome is ChangeOutcome.TOO_MANY_TRIES:
                error = _(
                    "The current password was wrong too many times. Wait 15 minutes, then try "
                    "again. If you forgot it, sign out and use “Forgot your password?”."
                )
                status = 429
            else:
                form.current_password.errors.append(
                    _("Your current password is not right. Enter the password you sign in with.")
                )
                status = 422
    elif form.is_submitted():
        status = 422
    return render(
        "auth/change_password.html", form=form, error=error, min_length=MIN_LENGTH
    ), status


# --- forgotten password ----------------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        password_changes.request_password_reset(form.email.data, _client_address())
        # The same answer whether or not an account uses the address.
        return redirect(url_for("account.reset_link_sent"), code=303)
    status = 422 if form.is_submitted() else 200
    return render("auth/forgot_password.html", form=form), status


@bp.get("/password/forgot/sent")
def reset_link_sent():
    return render(
        "auth/reset_link_sent.html",
        minutes=int(password_changes.reset_link_lifetime().total_seconds() // 60),
    )


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    return _set_password_page(token, "reset")


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    return _set_password_page(token, "invite")


def _set_password_page(raw: str, purpose: str):
    check = tokens.check(raw, purpose)
    if not check.usable:
        return _link_not_usable(check, purpose)
    form = SetPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = password_changes.set_password_from_link(check, form.new_password.data)
        except WeakPasswordError as refused:
            db.session.rollback()
            form.new_password.errors.append(str(refused))
            status = 422
        except LinkNotUsableError:
            return _link_not_usable(tokens.check(raw, purpose), purpose)
        else:
            return _after_link_used(user, purpose)
    elif form.is_submitted():
        status = 422
    return render(
        LINK_PAGES[purpose],
        form=form,
        email=password_changes.link_owner_email(check),
        min_length=MIN_LENGTH,
        action_url=request.path,
    ), status


def _after_link_used(user: User, purpose: str) -> Response:
    if purpose == "invite":
        _new_session_for(user)
        flash(_("Welcome. Your password is set and you are signed in."), "success")
        return redirect(url_for("auth.start"), code=303)
    # Whoever was signed in in this browser (maybe someone else) is signed out; the owner signs
    # in with the new password, which also shows it works.
    sessions.clear_session()
    flash(_("Your new password is set. Sign in with it now."), "success")
    return redirect(url_for("auth.sign_in"), code=303)


def _link_not_usable(check: tokens.TokenCheck, purpose: str):
    status = 404 if check.state is tokens.TokenState.UNKNOWN else 410
    return render(
        "auth/link_not_usable.html", state=check.state.value, purpose=purpose
    ), status
