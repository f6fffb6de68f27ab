"""Finishing what dead writers left, when the app starts serving and from check-files --repair."""

from __future__ import annotations

import threading
from collections import Counter

from flask import Flask

from sct_forms import audit
from sct_forms.extensions import db
from sct_forms.maintenance.file_check import Finding, find_problems, repair

#: At most this many paths are named in one audit event; the counts are always complete.
AUDITED_PATHS = 50


def record_repairs(repaired: list[Finding], *, by: str) -> None:
    """One audit event for a repair run that changed something (committed here)."""
    if not repaired:
        return
    audit.record(
        "files.repaired",
        actor=None,
        object_type="files",
        object_id="instance",
        by=by,
        counts=dict(Counter(finding.kind for finding in repaired)),
        files=[finding.subject for finding in repaired[:AUDITED_PATHS]],
    )
    db.session.commit()


def recover(*, by: str = "start") -> list[Finding]:
    """Move saved files of dead writers into place and remove their leftovers and orphans.

    Rows whose file is missing are not looked for here (``check-files`` reports them).
    """
    repaired = repair(find_problems(include_missing=False))
    record_repairs(repaired, by=by)
    return repaired


def recover_when_serving_starts(app: Flask) -> None:
    """Run :func:`recover` once, before this process answers its first request.

    Not in create_app itself: every ``flask`` command builds the app too, and
    ``check-files`` must see the problems before anything repairs them.
    """
    lock = threading.Lock()
    done = threading.Event()

    @app.before_request
    def _recover_once() -> None:
        if done.is_set():
            return
        with lock:
            if done.is_set():
                return
            try:
                for finding in recover():
                    app.logger.warning("Recovered stored file: %s", finding.line())
            except Exception:
                db.session.rollback()
                app.logger.exception("Recovering stored files failed; run check-files --repair")
            finally:
                done.set()
