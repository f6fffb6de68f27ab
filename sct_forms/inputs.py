"""App-wide guards on what requests carry: ids and numbers the database can hold, no control codes.

PostgreSQL refuses integers above 2**31-1 in an ``integer`` column and NUL in any text, so such
input used to reach a query and end in a 500. These guards turn it into a 404 (an id in a path
that cannot exist) or a 400 (a value no one types), before any view runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from werkzeug.routing import IntegerConverter, Map

from sct_forms.errors import render_error
from sct_forms.i18n import gettext as _

F = TypeVar("F", bound=Callable[..., Any])

MAX_INT = 2**31 - 1  # the largest value of a PostgreSQL ``integer``, the type of every id

# C0 control characters except tab, line feed and carriage return, which forms legitimately send.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_DIGITS = re.compile(r"[0-9]{1,10}")


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` that only matches 0..2**31-1, so a larger id is a 404, not a query."""

    # ASCII digits only, and few enough that int() is cheap (werkzeug's is ``\d+``).
    regex = r"[0-9]{1,10}"

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = 0,
        max: int | None = MAX_INT,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def bounded_int(value: str) -> int:
    """A whole number 0..2**31-1 written in ASCII digits; ValueError for anything else.

    For ``request.args.get(name, type=bounded_int)``, which then gives None for a value that is
    missing, not a number (``1e9``, ``-1``, ``NaN``, ``١``) or too large for the database.
    """
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        raise ValueError("not a small whole number")
    number = int(value)
    if number > MAX_INT:
        raise ValueError("too large")
    return number


def has_control_characters(text: str) -> bool:
    return _CONTROL_CHARACTERS.search(text) is not None


def _has_control_characters_in_request() -> bool:
    """Any control code in the path's values, the query or the form (names and values)."""
    if any(
        isinstance(value, str) and has_control_characters(value)
        for value in (request.view_args or {}).values()
    ):
        return True
    # Uploaded files are not in request.form; their content is inspected where they are stored.
    for fields in (request.args, request.form):
        for name, value in fields.items(multi=True):
            if has_control_characters(name) or has_control_characters(value):
                return True
    return False


def cleans_its_own_text(view: F) -> F:
    """Mark a view whose text is cleaned of control characters where it is read.

    Long answers are often pasted from Word or a PDF, which bring form feeds and vertical tabs;
    refusing the whole save for an invisible character would lose what was typed, so these
    views turn such characters into line breaks or drop them instead (domain.answers.clean_text).
    """
    view.cleans_control_characters = True  # type: ignore[attr-defined]
    return view


def _refuse_control_characters():  # noqa: ANN202
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "cleans_control_characters", False):
        return None
    if not _has_control_characters_in_request():
        return None
    return render_error(
        400,
        _(
            "What was sent contains invisible control characters, so it was not used. They can "
            "come with text pasted from another program. Go back, type that text again or "
            "paste it as plain text, and send it again."
        ),
    )


def register_url_converters(app: Flask) -> None:
    """Bounded ``int`` in URLs; must run before any route is added."""
    app.url_map.converters["int"] = BoundedIntegerConverter


def register(app: Flask) -> None:
    """Install the guards: call before the blueprints are registered (the ``int`` converter)."""
    register_url_converters(app)
    app.before_request(_refuse_control_characters)
