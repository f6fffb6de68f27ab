"""What changed between two sets of step answers, field by field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def flatten(answers: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Answers as {path: value}; group rows become ``group.<row>.<field>`` paths."""
    flat: dict[str, Any] = {}
    for key, value in answers.items():
        path = f"{prefix}{key}"
        if isinstance(value, list) and value and all(isinstance(row, Mapping) for row in value):
            for index, row in enumerate(value):
                flat.update(flatten(row, f"{path}.{index}."))
        else:
            flat[path] = value
    return flat


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple]:
    """{path: (old, new)} for every field whose value differs; blank and missing are equal."""
    old, new = flatten(before), flatten(after)
    changes = {}
    for path in sorted(old.keys() | new.keys()):
        a, b = old.get(path), new.get(path)
        if _blank(a) and _blank(b):
            continue
        if a != b:
            changes[path] = (a, b)
    return changes
