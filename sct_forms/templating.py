"""Rendering pages and htmx fragments from one template, and what every template can use."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, render_template
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user
from htmx_flask import request
from jinja2_fragments.flask import render_block
from werkzeug.wrappers import Response

from sct_forms.access import has_signed_in_user
from sct_forms.domain.certificates import EXPIRED, CertificateStatus
from sct_forms.domain.roles import Role
from sct_forms.i18n import LANGUAGE_NAMES
from sct_forms.i18n import gettext as _


def wants_fragment() -> bool:
    """Whether htmx asks for part of a page to swap in.

    Restoring history after a cache miss, htmx swaps the answer in as the whole page, so that
    request gets the whole page like a browser would.
    """
    return bool(request.htmx) and not request.htmx.history_restore_request


def render(template: str, *, block: str | None = None, **context: Any) -> str:
    """The whole page, or only ``block`` of it when htmx asks (the same template either way)."""
    if block and wants_fragment():
        return render_block(template, block, **context)
    return render_template(template, **context)


def navigation_for(user) -> list[tuple[str, str]]:  # noqa: ANN001
    """(endpoint, label) pairs of the places the user's role may open."""
    # Only the user's own role's labels are translated: this runs for every rendered template,
    # autosave answers included.
    if not user.is_authenticated:
        return []
    role = user.role
    if role == Role.STAFF:
        return [("towns.show", _("Our town"))]
    if role == Role.REVIEWER:
        return [("review.queue", _("Review queue")), ("statewide.overview", _("Statewide"))]
    if role == Role.COACH:
        return [("coaching.my_towns", _("My towns"))]
    if role == Role.ADMIN:
        return [
            ("admin.overview", _("Administration")),
            ("review.queue", _("Review queue")),
            ("coaching.requests", _("Coaching requests")),
            ("statewide.overview", _("Statewide")),
        ]
    return []


def role_label(role: str) -> str:
    labels = {
        Role.STAFF: _("Town staff"),
        Role.REVIEWER: _("Reviewer"),
        Role.COACH: _("Equity coach"),
        Role.ADMIN: _("Administrator"),
    }
    return labels.get(role, role)


def certificate_status_label(status: str) -> str:
    """A certificate's public status (Certificate.public_status) in words."""
    labels = {
        CertificateStatus.VALID: _("Valid"),
        EXPIRED: _("Expired"),
        CertificateStatus.SUPERSEDED: _("Superseded"),
        CertificateStatus.REVOKED: _("Revoked"),
    }
    return labels.get(status, status)


def register(app: Flask) -> None:
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "current_locale": str(get_locale() or "en"),
            "language_names": {
                code: LANGUAGE_NAMES.get(code, code) for code in current_app.config["LANGUAGES"]
            },
            "navigation": navigation_for(current_user),
        }

    app.jinja_env.filters["role_label"] = role_label
    app.jinja_env.filters["certificate_status_label"] = certificate_status_label
    app.jinja_env.filters["date"] = lambda value, fmt="long": format_date(value, fmt)
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": format_datetime(value, fmt)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.vary.add("HX-Request")
        response.vary.add("HX-History-Restore-Request")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        if current_app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        if is_private(response):
            # Kept by no browser or proxy: a shared computer's back button or a cache must not
            # show someone's town, answers or files after they leave. A view's own directives
            # (a download's "private") stay.
            response.cache_control.no_store = True
        return response


# Signing in and out, and the account pages whose links carry one person's token.
_PRIVATE_BLUEPRINTS = {"auth", "account"}


def is_private(response: Response) -> bool:
    """Whether a response belongs to one person: anything while signed in, signing in, accounts.

    Static files and public pages seen without signing in (certificate checks) are not.
    The session is read rather than the user loaded, so this holds even after a failed query.
    """
    if request.path.startswith("/static/"):
        return False
    return (
        has_signed_in_user()
        or g.get("session_ended", False)
        or request.blueprint in _PRIVATE_BLUEPRINTS
        or response.status_code == 401  # the sign-in page holding a form's text
    )
