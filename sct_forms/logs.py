"""Log lines: JSON objects in production (one a line), with the request's id and an access line.

``LOG_FORMAT = "json"`` (the default when ``SCT_ENV=production``) sends every log record to
standard error as one JSON object; ``"text"`` leaves logging as Flask sets it up (``make demo``).
In both, each request gets an id, taken from a safe ``X-Request-ID`` header (as a proxy sets
it) or made up, and sent back as ``X-Request-ID``; paths are logged as their route
(``/account/reset/<token>``), so secret links and query strings never reach a log.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, has_request_context, request
from flask.logging import default_handler
from werkzeug.wrappers import Response

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy's id may look like to be kept: letters, digits and a few separators, short.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
ACCESS_LOGGER = "sct_forms.access"
# Load balancers ask every few seconds; their successful answers are not worth a line.
_QUIET_ENDPOINTS = {"health.healthz", "health.readyz"}


def request_id() -> str | None:
    """This request's id (None outside a request)."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = offered if _SAFE_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
    return g.request_id


def logged_path() -> str:
    """The route the request matched (its variables as names), or the path if none matched."""
    if request.url_rule is not None:
        return request.url_rule.rule
    return request.path[:200]


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            line["request_id"] = request_id()
            line["method"] = request.method
            line["path"] = logged_path()
        for key in ("status", "duration_ms", "remote_addr"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


class StandardErrorHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (a process manager's pipe, a test's)."""

    @property
    def stream(self):  # noqa: ANN201 - a text stream
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # noqa: ANN001
        pass


def configure(app: Flask) -> None:
    """In JSON mode, one handler on the root logger for the app, the worker and the libraries."""
    if app.config.get("LOG_FORMAT") != "json":
        return
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StandardErrorHandler)]:
        root.removeHandler(handler)  # create_app may run more than once in a process
    handler = StandardErrorHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    # The app's own lines (access lines) and the job queue's (each task the worker starts and
    # ends, with its time) from INFO up; other libraries, some of which say a lot at INFO
    # (WeasyPrint, Alembic), from WARNING up as before.
    for name in ("sct_forms", "huey"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
    app.logger.removeHandler(default_handler)  # its lines would come out twice, as text


def register(app: Flask) -> None:
    """Give every request an id and a timer, log an access line, and send the id back."""
    configure(app)

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        request_id()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = request_id()
        _log_access(response)
        return response

    # Flask logs an unhandled exception with the raw path, which may hold a link's token.
    app.log_exception = _log_exception_for(app)  # type: ignore[method-assign]


def _log_access(response: Response) -> None:
    started = g.get("request_started")
    duration = round((time.perf_counter() - started) * 1000, 1) if started else None
    quiet = request.endpoint in _QUIET_ENDPOINTS and response.status_code < 400
    logging.getLogger(ACCESS_LOGGER).log(
        logging.DEBUG if quiet else logging.INFO,
        "%s %s %s",
        request.method,
        logged_path(),
        response.status_code,
        extra={
            "status": response.status_code,
            "duration_ms": duration,
            "remote_addr": request.remote_addr,
        },
    )


def _log_exception_for(app: Flask):  # noqa: ANN202 - Flask's log_exception signature
    def log_exception(exc_info) -> None:  # noqa: ANN001
        app.logger.error("Exception on %s [%s]", logged_path(), request.method, exc_info=exc_info)

    return log_exception
