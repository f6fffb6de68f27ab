"""What changed between two sets of step answers, field by field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from difflib import SequenceMatcher
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


# Each word with the spaces after it, so that a changed word is marked, not a changed letter
# (and the spaces, being part of words, are not matched on their own).
_WORDS = re.compile(r"\S+\s*|\s+")
# The comparison takes time in proportion to the product of the two lengths in words; past
# this, the changed part is marked whole rather than make the page wait.
_MAX_WORD_PAIRS = 1_000_000

Runs = list[tuple[bool, str]]


def word_changes(before: str, after: str) -> tuple[Runs, Runs]:
    """Both texts as runs of (changed, text): words removed from ``before`` and words added in
    ``after`` are marked changed; joined, the runs give each text back unchanged."""
    old, new = _WORDS.findall(before), _WORDS.findall(after)
    # The words both texts start and end with are set aside first: an edit in a long answer
    # leaves most of it alone, and only the part in between needs comparing.
    shortest = min(len(old), len(new))
    head = 0
    while head < shortest and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < shortest - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    old_middle, new_middle = old[head : len(old) - tail], new[head : len(new) - tail]
    removed: Runs = []
    added: Runs = []
    for runs, words in ((removed, old), (added, new)):
        _add_run(runs, False, "".join(words[:head]))
    if len(old_middle) * len(new_middle) > _MAX_WORD_PAIRS:
        _add_run(removed, True, "".join(old_middle))
        _add_run(added, True, "".join(new_middle))
    else:
        opcodes = SequenceMatcher(None, old_middle, new_middle, autojunk=False).get_opcodes()
        for index, (operation, old_start, old_end, new_start, new_end) in enumerate(opcodes):
            # One word kept between two changes ("a" in a rewritten sentence) reads as part
            # of the change: marking it apart would only cut the change in two.
            lone_word = (
                operation == "equal"
                and old_end - old_start == 1
                and 0 < index < len(opcodes) - 1
            )
            changed = operation != "equal" or lone_word
            _add_run(removed, changed, "".join(old_middle[old_start:old_end]))
            _add_run(added, changed, "".join(new_middle[new_start:new_end]))
    for runs, words in ((removed, old), (added, new)):
        _add_run(runs, False, "".join(words[len(words) - tail :]))
    return removed, added


def _add_run(runs: Runs, changed: bool, text: str) -> None:
    if not text:
        return
    if runs and runs[-1][0] == changed:
        runs[-1] = (changed, runs[-1][1] + text)
    else:
        runs.append((changed, text))
