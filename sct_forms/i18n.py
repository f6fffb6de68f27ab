"""Language choice and the translation functions used across the app."""

from __future__ import annotations

from flask import current_app, request, session
from flask_babel import gettext, lazy_gettext, ngettext
from flask_login import current_user

__all__ = ["gettext", "lazy_gettext", "ngettext", "select_locale", "LANGUAGE_NAMES"]

# Each language named in itself, so a reader finds their own.
LANGUAGE_NAMES = {"en": "English", "es": "Español"}


def select_locale() -> str | None:
    """The signed-in user's choice, else this browser's choice, else the browser's headers."""
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated:
        if current_user.preferred_language in languages:
            return current_user.preferred_language
    chosen = session.get("language")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config[
        "BABEL_DEFAULT_LOCALE"
    ]
