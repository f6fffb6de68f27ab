"""Error pages that keep the site's layout and say what to do next."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from sct_forms import audit
from sct_forms.extensions import db
from sct_forms.i18n import gettext as _
from sct_forms.storage import StorageUnavailable
from sct_forms.templating import render


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (
            _("The request could not be understood"),
            _("Go back, reload the page and try again."),
        ),
        401: (_("Please sign in"), _("Sign in to see this page.")),
        403: (
            _("You do not have access to this page"),
            _(
                "This page belongs to another town or role. If you think you should see it, "
                "ask your program administrator."
            ),
        ),
        404: (_("Page not found"), _("Check the address, or start again from your home page.")),
        405: (_("That action is not possible here"), _("Go back and use the buttons on the page.")),
        409: (
            _("This was already done or has changed"),
            _("Someone else may have acted on it first. Reload the page to see where it stands."),
        ),
        413: (
            _("The file is too large"),
            _(
                "Files can be up to %(size)s MB. Make the file smaller and upload it again.",
                size=_max_megabytes(),
            ),
        ),
        422: (_("Some answers need attention"), _("Go back and check the form.")),
        429: (_("Too many attempts"), _("Wait a few minutes, then try again.")),
        500: (
            _("Something went wrong on our side"),
            _(
                "Your last change may not have been saved. Try again in a moment; if it keeps "
                "happening, contact the program."
            ),
        ),
    }


def _max_megabytes() -> int:
    return current_app.config["UPLOAD_MAX_BYTES"] // (1024 * 1024)


def render_error(status: int, detail: str | None = None) -> tuple[str, int]:
    messages = _messages()
    title, advice = messages.get(status, messages[500 if status >= 500 else 400])
    return render(
        "errors/error.html",
        block="content",
        status=status,
        title=title,
        advice=detail or advice,
    ), status


def record_refusal(action: str, reason: str) -> None:
    """Audit a refused request (403, CSRF) in a transaction of its own.

    Whatever the view had changed before refusing is rolled back first, so it is never
    committed with the audit event. Auditing must not turn a refusal into a 500: a failure
    here is logged and the refusal answered all the same.
    """
    try:
        db.session.rollback()
        actor = current_user._get_current_object() if current_user.is_authenticated else None  # noqa: SLF001
        audit.record(
            action,
            actor=actor,
            object_type="request",
            object_id=(request.endpoint or "-")[:40],
            method=request.method,
            path=request.path[:500],
            address=(request.remote_addr or "unknown")[:64],
            reason=reason,
        )
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("could not audit a refused request")


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):  # noqa: ANN202
        record_refusal("access.csrf_refused", error.description or "csrf")
        return render_error(
            400,
            _(
                "This form was open too long or your session ended, so it could not be sent. "
                "Go back, reload the page and send it again."
            ),
        )

    @app.errorhandler(StorageUnavailable)
    def _storage_unavailable(error: StorageUnavailable):  # noqa: ANN202
        current_app.logger.error("Stored files could not be reached: %s", error)
        db.session.rollback()
        return render_error(
            503,
            _(
                "Our file storage did not answer, so this file cannot be shown or saved right "
                "now. Nothing you saved before is lost. Try again in a few minutes."
            ),
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):  # noqa: ANN202
        if error.code is None or error.code < 400:
            return error
        if request.path.startswith("/static/"):
            return error
        if error.code == 403:
            record_refusal("access.denied", "forbidden")
        return render_error(error.code)
