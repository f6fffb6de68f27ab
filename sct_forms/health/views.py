"""``/healthz`` (is everything this process needs answering?) and ``/readyz`` (may it serve?).

For load balancers and process managers: no sign-in, never cached. The session is not read
or written (``auth.sessions`` leaves these routes alone), so no cookie is sent back.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from werkzeug.wrappers import Response

from sct_forms.health import checks

bp = Blueprint("health", __name__)


@bp.after_request
def _never_cache(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _answer(results: dict[str, checks.Check]) -> tuple[Response, int]:
    body = checks.report(results)
    return jsonify(body), 200 if body["status"] == checks.OK else 503


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """The database, the job queue and the storage folders: 200 when all answer, else 503."""
    return _answer(checks.health())


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """200 when the database answers and is at the newest migration, else 503."""
    return _answer(checks.readiness())
