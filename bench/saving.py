"""Saving a step as the step page's autosave does, over and over.

The first visit reads the step form as the page renders it (every field, the CSRF token, the
version it was built on). Each save posts those fields with one free-text answer changed (so
every save writes) and the version the previous save answered with, as the page does with the
out-of-band version field of ``toolkits/_autosaved.html``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bench.instance import BenchError
from bench.load import Reply
from bench.pages import base_version, form_fields

STEP_FORM = "step-form"


class Session(Protocol):
    def request(
        self,
        method: str,
        path: str,
        fields: Sequence[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply: ...


class StepSaver:
    def __init__(self, session: Session, toolkit_id: int, step_key: str) -> None:
        self.session = session
        self.page = f"/toolkits/{toolkit_id}/steps/{step_key}"
        self.url = f"{self.page}/autosave"
        self.fields: list[tuple[str, str]] = []
        self.changed_field = ""
        self.original = ""
        self.version = -1
        self.saves = 0
        # Saves answered 2xx, and the version the first page showed: each should add one.
        self.saved = 0
        self.first_version: int | None = None

    def open_page(self) -> None:
        """Read the step form as the page shows it now."""
        reply = self.session.request("GET", self.page)
        if reply.status != 200:
            raise BenchError(f"the step page {self.page} answered {reply.status}")
        fields, text_fields = form_fields(reply.text, STEP_FORM)
        if not text_fields:
            raise BenchError(f"the step page {self.page} has no free-text field to change")
        version = base_version(reply.text)
        if version is None:
            raise BenchError(f"the step page {self.page} has no base_version field")
        self.fields, self.changed_field, self.version = fields, text_fields[0], version
        if self.first_version is None:
            self.first_version = version
        self.original = dict(fields)[self.changed_field]

    def act(self) -> int:
        """One autosave; its HTTP status."""
        self.saves += 1
        changed = f"{self.original} (saved {self.saves})".strip()
        fields = [
            (
                name,
                changed
                if name == self.changed_field
                else str(self.version)
                if name == "base_version"
                else value,
            )
            for name, value in self.fields
        ]
        headers = {"HX-Request": "true", "HX-Current-URL": self.page}
        reply = self.session.request("POST", self.url, fields, headers)
        if 200 <= reply.status < 300:
            self.saved += 1
        if reply.status == 200:
            version = base_version(reply.text)
            if version is not None:
                self.version = version
        elif reply.status == 409:
            # Someone else's save came first (never in these runs: one client per step).
            self.open_page()
        return reply.status


def unwritten_saves(savers: Sequence[StepSaver]) -> int:
    """How many 2xx answers did not add a version (0 when every answered save wrote)."""
    written = sum(saver.version - (saver.first_version or 0) for saver in savers)
    return sum(saver.saved for saver in savers) - written
