"""Sign in, sign out, the start page that sends each role to its own page, and language."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_url
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from sct_forms.auth import resume, services
from sct_forms.auth.forms import LanguageForm, SignInForm
from sct_forms.domain.roles import Role
from sct_forms.errors import render_error
from sct_forms.extensions import db
from sct_forms.forms import ButtonForm
from sct_forms.i18n import gettext as _
from sct_forms.i18n import ngettext
from sct_forms.templating import render, wants_fragment

bp = Blueprint("auth", __name__)


def landing_url_for(user) -> str:  # noqa: ANN001
    """Each role's own start page."""
    if user.role == Role.STAFF:
        return url_for("towns.show", slug=user.municipality.slug)
    if user.role == Role.REVIEWER:
        return url_for("review.queue")
    if user.role == Role.COACH:
        return url_for("coaching.my_towns")
    return url_for("admin.overview")


@bp.get("/")
@login_required
def start() -> Response:
    return redirect(landing_url_for(current_user))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if current_user.is_authenticated:
        return redirect(landing_url_for(current_user))
    form = SignInForm()
    error = None
    status = 200
    headers = {}
    if form.validate_on_submit():
        result = services.attempt_sign_in(
            form.email.data, form.password.data, request.remote_addr or "unknown"
        )
        if result.user is not None:
            resume_url = services.safe_next_url(form.resume_url.data)
            if resume_url and form.resume_data.data:
                finished = resume.resume(resume_url, form.resume_data.data)
                if finished is not None:
                    return finished
            next_url = services.safe_next_url(request.args.get("next"))
            return redirect(next_url or landing_url_for(result.user), code=303)
        if result.throttled:
            error = throttled_message(result.wait_seconds)
            status = 429
            headers["Retry-After"] = str(result.wait_seconds)
        else:
            error = _("The email address or password is not right. Check both and try again.")
            status = 401
        form.password.data = ""
    elif form.is_submitted():
        status = 422
    pending = {"resume_url": form.resume_url.data or "", "resume_data": form.resume_data.data or ""}
    return render("auth/sign_in.html", form=form, error=error, pending=pending), status, headers


def throttled_message(wait_seconds: int) -> str:
    """Say how long to wait, in seconds up to two minutes, then in whole minutes."""
    if wait_seconds <= 120:
        return ngettext(
            "Too many failed sign-in attempts. Wait %(num)d second, then try again.",
            "Too many failed sign-in attempts. Wait %(num)d seconds, then try again.",
            wait_seconds,
        )
    return ngettext(
        "Too many failed sign-in attempts. Wait %(num)d minute, then try again.",
        "Too many failed sign-in attempts. Wait %(num)d minutes, then try again.",
        -(-wait_seconds // 60),
    )


def sign_in_to_keep_posted_text():
    """Flask-Login's answer to a request without a session.

    A POST to a resumable form keeps its fields inside the sign-in page (and for htmx, an
    autosave among them, a 401 tells the page to ask for the password in place); other
    requests go to sign-in.
    """
    if wants_fragment() and request.method == "POST":
        return render("auth/_session_ended.html"), 401
    if request.method == "POST" and resume.is_resumable(request.endpoint):
        form = SignInForm(formdata=None)
        pending = {"resume_url": request.path, "resume_data": resume.pending_fields()}
        flash(_("Your session ended. Your text is kept: sign in to save it."), "info")
        return render("auth/sign_in.html", form=form, error=None, pending=pending), 401
    if wants_fragment():
        return render("auth/_session_ended.html"), 401
    return redirect(login_url("auth.sign_in", next_url=request.full_path.rstrip("?")))


@bp.get("/csrf-token")
def fresh_csrf_token():
    """A new CSRF token for a page open longer than its token lives or than its session.

    Signed out too: a step page whose session ended signs in again in place, and the sign-in
    needs the new session's token. Other sites cannot read it (no CORS), as with any page.
    """
    response = current_app.response_class(generate_csrf(), mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/sign-out")
def sign_out() -> Response:
    ButtonForm().validate_button()
    services.sign_out()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.sign_in"), code=303)


@bp.post("/language")
def choose_language() -> Response:
    """Remember the chosen language for this browser and, when signed in, for the account."""
    form = LanguageForm(current_app.config["LANGUAGES"])
    if not form.validate_on_submit():
        return render_error(422, next((e for field in form for e in field.errors), None))
    session["language"] = form.language.data
    if current_user.is_authenticated:
        current_user.preferred_language = form.language.data
        db.session.commit()
    back = services.safe_next_url(form.back.data)
    return redirect(back or url_for("auth.start"), code=303)
