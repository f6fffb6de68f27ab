"""Static files (style sheet, scripts, icon) that browsers fetch once per version.

Every page names the same few static files. Without a version in their addresses, browsers
must ask the server on each page whether a file changed (Flask's default, ``no-cache``). Here
``url_for("static", ...)`` adds ``v=``, a short fingerprint of the file's content, and an answer
to an address whose ``v`` is the file's current fingerprint may be kept for a year without
asking again: a changed file gets a new address. Addresses without ``v``, or with an old one,
are still answered and still checked on each page, as before.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request
from werkzeug.wrappers import Response

VERSION_ARGUMENT = "v"
ONE_YEAR_SECONDS = 365 * 24 * 60 * 60
_FINGERPRINT_LENGTH = 12

# Keyed by path, size and modification time, so an edited file is read again.
_fingerprints: dict[tuple[str, int, int], str] = {}


def fingerprint(filename: str) -> str | None:
    """The file's current content fingerprint, or None if it is not a file of the static folder."""
    folder = current_app.static_folder
    if not folder:
        return None
    root = Path(folder).resolve()
    path = (root / filename).resolve()
    if not path.is_relative_to(root):
        return None
    try:
        stat = path.stat()
    except (OSError, ValueError):
        return None
    if not path.is_file():
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    found = _fingerprints.get(key)
    if found is None:
        found = hashlib.sha256(path.read_bytes()).hexdigest()[:_FINGERPRINT_LENGTH]
        _fingerprints[key] = found
    return found


def add_version(endpoint: str, values: dict[str, Any]) -> None:
    """``url_for("static", filename=...)`` names the file's current version."""
    if endpoint != "static" or VERSION_ARGUMENT in values:
        return
    filename = values.get("filename")
    if isinstance(filename, str) and (version := fingerprint(filename)):
        values[VERSION_ARGUMENT] = version


def keep_current_version(response: Response) -> Response:
    """An answer for the current version may be kept a year; any other is checked each time."""
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    filename = (request.view_args or {}).get("filename")
    asked = request.args.get(VERSION_ARGUMENT)
    if asked and isinstance(filename, str) and asked == fingerprint(filename):
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = ONE_YEAR_SECONDS
        response.cache_control.immutable = True
    return response


def register(app: Flask) -> None:
    app.url_defaults(add_version)
    app.after_request(keep_current_version)
