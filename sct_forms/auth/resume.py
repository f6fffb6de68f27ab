"""Keeping a long form's text when the session ends before it is saved.

A POST to a resumable endpoint without a session gets the sign-in page back with the posted
fields inside it. Signing in then finishes that save as the signed-in user, with the same
checks as any save, so nothing typed is lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from flask import current_app, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.wrappers import Response

ResumeHandler = Callable[..., Response]
_handlers: dict[str, ResumeHandler] = {}

# Fields that belong to the old session and must not be replayed.
_DROPPED_FIELDS = {"csrf_token"}


def resumable(endpoint: str) -> Callable[[ResumeHandler], ResumeHandler]:
    """Register ``handler(posted: MultiDict, **view_args)`` to finish a POST to ``endpoint``."""

    def decorator(handler: ResumeHandler) -> ResumeHandler:
        _handlers[endpoint] = handler
        return handler

    return decorator


def is_resumable(endpoint: str | None) -> bool:
    return endpoint in _handlers


def pending_fields() -> str:
    """The current request's form as JSON pairs, to carry through the sign-in page."""
    pairs = [(k, v) for k, v in request.form.items(multi=True) if k not in _DROPPED_FIELDS]
    return json.dumps(pairs)


def resume(url: str, pending_json: str) -> Response | None:
    """Finish the POST that ``url`` names with the pending fields; None if it cannot be."""
    try:
        pairs = json.loads(pending_json)
        posted = MultiDict([(str(k), str(v)) for k, v in pairs if k not in _DROPPED_FIELDS])
    except (ValueError, TypeError):
        return None
    adapter = current_app.url_map.bind("localhost")
    try:
        endpoint, view_args = adapter.match(url.split("?")[0], method="POST")
    except (NotFound, HTTPException):
        return None
    handler = _handlers.get(endpoint)
    if handler is None:
        return None
    return handler(posted, **view_args)
