"""How long a signed-in session lasts: an idle timeout and an absolute lifetime.

The session cookie carries when its user signed in and when it last made a request. Before
every view (autosaves included) both are checked; a session past either limit is ended and
audited, and the view then answers as for anyone signed out (a form's text is kept, see
``auth.resume``). Otherwise the request counts as activity.
"""

from __future__ import annotations

from flask import current_app, flash, g, request, session
from flask_login import current_user, logout_user

from sct_forms import audit
from sct_forms.access import has_signed_in_user
from sct_forms.auth import clock
from sct_forms.extensions import db
from sct_forms.i18n import ngettext

SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"
# Activity is written to the cookie at most this often, so concurrent requests rarely race.
_SEEN_PRECISION_SECONDS = 30


def _stamp() -> int:
    return int(clock.now().timestamp())


def start() -> None:
    """Note the sign-in time in a freshly signed-in session."""
    session[SIGNED_IN_AT] = session[SEEN_AT] = _stamp()


def _clock_started() -> bool:
    return all(isinstance(session.get(key), int) for key in (SIGNED_IN_AT, SEEN_AT))


def expiry_reason() -> str | None:
    """"idle" or "lifetime" when the signed-in session is past a limit, else None."""
    config = current_app.config
    current = _stamp()
    if not _clock_started():
        return None  # signed in by a path that did not start the clock: it starts now
    signed_in_at, seen_at = session[SIGNED_IN_AT], session[SEEN_AT]
    if current - seen_at > config["SESSION_IDLE_MINUTES"] * 60:
        return "idle"
    if current - signed_in_at > config["SESSION_MAX_HOURS"] * 3600:
        return "lifetime"
    return None


# Health probes (sct_forms.health) are nobody's activity: they neither keep a session alive nor
# end one, so they never write the session cookie or the audit log.
_UNTIMED_BLUEPRINTS = {"health"}


def enforce_lifetime() -> None:
    """Before each request: end a session past its limits, or count the request as activity."""
    if request.endpoint == "static" or request.blueprint in _UNTIMED_BLUEPRINTS:
        return
    if not has_signed_in_user():
        return
    if not current_user.is_authenticated:
        return  # already ended elsewhere (signed out, password changed): nothing to time
    reason = expiry_reason()
    if reason is None:
        current = _stamp()
        if not _clock_started():
            start()
        elif current - session[SEEN_AT] >= _SEEN_PRECISION_SECONDS:
            session[SEEN_AT] = current
        return
    user = current_user._get_current_object()  # noqa: SLF001
    event = audit.record(
        "user.session_expired",
        actor=user,
        object_type="user",
        object_id=user.id,
        reason=reason,
        path=request.path[:500],
    )
    event.at = clock.now()
    db.session.commit()
    clear_session()
    g.session_ended = True
    flash(_ended_message(reason), "info")


def clear_session() -> None:
    """Sign out of this session; only the chosen language stays."""
    language = session.get("language")
    logout_user()
    session.clear()
    if language:
        session["language"] = language


def _ended_message(reason: str) -> str:
    config = current_app.config
    if reason == "idle":
        minutes = config["SESSION_IDLE_MINUTES"]
        return ngettext(
            "Your session ended after %(num)d minute without activity. Sign in again to go on.",
            "Your session ended after %(num)d minutes without activity. Sign in again to go on.",
            minutes,
        )
    hours = config["SESSION_MAX_HOURS"]
    return ngettext(
        "Your session ended %(num)d hour after you signed in. Sign in again to go on.",
        "Your session ended %(num)d hours after you signed in. Sign in again to go on.",
        hours,
    )
