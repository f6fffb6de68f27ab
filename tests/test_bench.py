"""The benchmark's own arithmetic and printing (``python -m bench``), without measuring anything."""

from __future__ import annotations

import json

import pytest

from bench.load import HttpSession, LoadResult
from bench.pages import base_version, csrf_token, form_fields
from bench.report import (
    Figure,
    at_least,
    at_most,
    format_value,
    json_lines,
    none_allowed,
    percentile,
    reported,
    skipped,
    summary,
    table,
)


def test_percentile_interpolates_between_ranks():
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 0) == 10
    assert percentile(values, 1) == 40
    assert percentile(values, 0.5) == 25
    assert percentile([40.0, 10.0, 30.0, 20.0], 0.5) == 25  # order does not matter
    assert percentile(list(range(1, 101)), 0.95) == pytest.approx(95.05)
    assert percentile([7.0], 0.99) == 7
    assert percentile([], 0.5) is None
    with pytest.raises(ValueError):
        percentile(values, 1.5)


def test_targets_decide_met():
    assert at_most("g", "g.a", "A", 0.19, "s", 0.2).met is True
    assert at_most("g", "g.a", "A", 0.21, "s", 0.2).met is False
    assert at_least("g", "g.b", "B", 24.9, "%", 25).met is False
    assert at_least("g", "g.b", "B", 25, "%", 25).met is True
    assert at_least("g", "g.b", "B", None, "%", 25).met is None  # not measured
    assert none_allowed("g", "g.c", "C", 0, "requests").met is True
    assert none_allowed("g", "g.c", "C", 3, "requests").met is False
    assert reported("g", "g.d", "D", 1.5, "s").met is None
    assert at_most("g", "g.a", "A", 1, "MB", 15).target == "≤ 15 MB"
    assert at_least("g", "g.b", "B", 1, "×", 100).target == "≥ 100×"


def test_values_are_shown_with_three_significant_digits_and_their_unit():
    assert format_value(0.1234, "s") == "0.123 s"
    assert format_value(1.234, "s") == "1.23 s"
    assert format_value(12.34, "MB") == "12.3 MB"
    assert format_value(2213.4, "req/s") == "2,213 req/s"
    assert format_value(8.31, "%") == "8.31%"
    assert format_value(1.17, "×") == "1.17×"
    assert format_value(13, "statements") == "13 statements"
    assert format_value(None, "s") == "—"


def test_table_lists_every_figure_with_its_verdict_and_notes():
    figures = [
        at_most("packet", "packet.size", "Town packet size", 17.9, "MB", 15, note="18 photos"),
        reported("packet", "packet.pages", "Town packet pages", 54, "pages"),
        skipped("autosave", "autosave.postgresql.p95", "p95", "ms", "≤ 50 ms", "no server"),
    ]

    text = table(figures)

    lines = text.splitlines()
    assert lines[0].startswith("| Figure")
    assert set(lines[1]) <= {"|", "-", ":"}
    assert "| packet.size " in lines[2] and "17.9 MB" in lines[2] and "≤ 15 MB" in lines[2]
    assert lines[2].rstrip().endswith("| NO  |")
    assert "54 pages" in lines[3] and lines[3].rstrip().endswith("| —   |")
    assert len({len(line) for line in lines[:5]}) == 1  # columns line up
    assert "- packet.size: 18 photos" in text
    assert "- autosave.postgresql.p95: no server" in text
    assert summary(figures) == (
        "0 targets met, 1 missed, 2 figures without a verdict (missed: packet.size)"
    )


def test_json_lines_hold_one_figure_each():
    figures = [
        at_most("upload", "upload.jpeg_cpu", "JPEG", 0.123456789, "s", 0.2),
        Figure("sql", "sql.queue", "Queue", 8, "statements", "constant", True, "8 and 8"),
    ]

    lines = json_lines(figures).splitlines()

    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first == {
        "group": "upload",
        "name": "upload.jpeg_cpu",
        "label": "JPEG",
        "value": 0.1235,
        "unit": "s",
        "target": "≤ 0.200 s",
        "met": True,
        "note": "",
    }
    assert second["met"] is True and second["target"] == "constant" and second["value"] == 8


STEP_PAGE = """
<form id="search"><input name="q" value="not this one"></form>
<form method="post" id="step-form" novalidate>
  <input type="hidden" name="csrf_token" value="tok.en-1">
  <input type="hidden" name="base_version" value="7" id="base-version">
  <input type="text" name="team" value="Parks &amp; planning">
  <textarea name="goals">
Plan open space.</textarea>
  <input type="date" name="start_date" value="2026-01-15">
  <input type="checkbox" name="barriers" value="language" checked>
  <input type="checkbox" name="barriers" value="cost">
  <input type="radio" name="usually_missing" value="yes" checked>
  <input type="text" name="locked" value="x" disabled>
  <select name="method"><option value="">Choose</option>
    <option value="door_to_door" selected>Door to door</option></select>
  <select name="format"><option value="workshop">Workshop</option></select>
  <button type="submit" name="intent" value="continue">Save and continue</button>
  <input type="file" name="file">
</form>
"""


def test_form_fields_are_what_a_browser_posts():
    fields, text_fields = form_fields(STEP_PAGE, "step-form")

    assert fields == [
        ("csrf_token", "tok.en-1"),
        ("base_version", "7"),
        ("team", "Parks & planning"),
        ("goals", "Plan open space."),
        ("start_date", "2026-01-15"),
        ("barriers", "language"),
        ("usually_missing", "yes"),
        ("method", "door_to_door"),
        ("format", "workshop"),
    ]
    assert text_fields == ["team", "goals"]
    with pytest.raises(LookupError):
        form_fields(STEP_PAGE, "no-such-form")


def test_token_and_version_are_read_from_pages_and_answers():
    assert csrf_token(STEP_PAGE) == "tok.en-1"
    assert csrf_token('<meta name="csrf-token" content="abc">') == "abc"
    assert csrf_token("<p>no form</p>") is None
    autosaved = (
        '<input type="hidden" name="base_version" value="12" id="base-version" hx-swap-oob="true">'
    )
    assert base_version(autosaved) == 12
    assert base_version("<p>saved</p>") is None


def test_a_session_keeps_and_forgets_cookies_as_told():
    session = HttpSession("127.0.0.1", 9)  # connects only when it sends a request

    session._keep_cookies(["session=abc; HttpOnly; Path=/", "lang=es; Path=/"])  # noqa: SLF001
    session._keep_cookies(["session=def; Path=/", "lang=; Max-Age=0; Path=/"])  # noqa: SLF001

    assert session.cookies == {"session": "def"}


def test_load_results_count_only_2xx_answers():
    result = LoadResult(seconds=2.0, clients=2, latencies_ms=[10.0, 20.0, 30.0, 40.0])
    result.outcomes.update({"200": 4, "409": 1, "error (ConnectionResetError)": 1})

    assert result.done == 4
    assert result.failed == 2
    assert result.per_second == 2
    assert result.latency_ms(0.5) == 25
    assert result.outcome_words() == "4 × 200, 1 × 409, 1 × error (ConnectionResetError)"
