"""Language choice and the translation functions used across the app."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, has_request_context, request, session
from flask_babel import get_locale, gettext, lazy_gettext, ngettext
from flask_login import current_user

__all__ = ["gettext", "lazy_gettext", "ngettext", "select_locale", "LANGUAGE_NAMES"]

# Each language named in itself, so a reader finds their own.
LANGUAGE_NAMES = {"en": "English", "es": "Español"}


def available_languages(translations_dir: Path) -> tuple[str, ...]:
    """English, plus every language with a compiled catalog.

    A language is offered only once its catalog exists, so a page never claims a language
    (in its lang attribute) that its text is not written in.
    """
    found = sorted(p.parent.parent.name for p in translations_dir.glob("*/LC_MESSAGES/messages.mo"))
    return ("en", *[code for code in found if code != "en"])


def select_locale() -> str | None:
    """The signed-in user's choice, else this browser's choice, else the browser's headers."""
    if not has_request_context():
        # A command or a job has nobody to ask: the default language, unless it forces one.
        return None
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated:
        if current_user.preferred_language in languages:
            return current_user.preferred_language
    chosen = session.get("language")
    if chosen in languages:
        return chosen
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def get_locale_language() -> str:
    """The language code of the current request, such as "en" or "es"."""
    locale = get_locale()
    return locale.language if locale else "en"
