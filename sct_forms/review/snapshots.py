"""Freezing a toolkit into a revision, and comparing two revisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sct_forms.domain.changes import changed_fields
from sct_forms.models import Toolkit

EVIDENCE_FIELDS = (
    "id",
    "step_key",
    "title",
    "alt_text",
    "sha256",
    "display_name",
    "size",
    "kind",
    "mime_type",
    "storage_name",
    "print_storage_name",
    "width",
    "height",
)


def snapshot_of(toolkit: Toolkit) -> dict[str, Any]:
    """Everything a reviewer judges, as plain data that later edits cannot change."""
    return {
        "answers": {row.step_key: dict(row.data or {}) for row in toolkit.steps},
        "evidence": [
            {name: getattr(item, name) for name in EVIDENCE_FIELDS} for item in toolkit.evidence
        ],
    }


@dataclass
class StepChanges:
    step_key: str
    fields: dict[str, tuple] = field(default_factory=dict)
    evidence_added: list[dict] = field(default_factory=list)
    evidence_removed: list[dict] = field(default_factory=list)
    # (old, new) pairs: a file with the same title in the same step, but other content.
    evidence_replaced: list[tuple[dict, dict]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.fields or self.evidence_added or self.evidence_removed or self.evidence_replaced
        )


def compare(before: dict, after: dict, step_keys: list[str]) -> list[StepChanges]:
    """Per step: answers changed (before/after) and evidence added, removed or replaced."""
    result = []
    for key in step_keys:
        changes = StepChanges(
            key,
            fields=changed_fields(
                before.get("answers", {}).get(key, {}), after.get("answers", {}).get(key, {})
            ),
        )
        old = [e for e in before.get("evidence", []) if e["step_key"] == key]
        new = [e for e in after.get("evidence", []) if e["step_key"] == key]
        old_hashes = {e["sha256"] for e in old}
        new_hashes = {e["sha256"] for e in new}
        removed = [e for e in old if e["sha256"] not in new_hashes]
        added = [e for e in new if e["sha256"] not in old_hashes]
        for gone in list(removed):
            match = next((e for e in added if e["title"] == gone["title"]), None)
            if match is not None:
                changes.evidence_replaced.append((gone, match))
                removed.remove(gone)
                added.remove(match)
        changes.evidence_added, changes.evidence_removed = added, removed
        result.append(changes)
    return result
