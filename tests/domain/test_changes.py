"""What changed between two sets of answers: fields, and words inside a changed text."""

from __future__ import annotations

import pytest

from sct_forms.domain.changes import changed_fields, word_changes


def test_changed_fields_pairs_old_and_new_and_treats_blank_as_missing() -> None:
    before = {"goals": "Parks", "team": "", "groups": [{"name": "Renters"}]}
    after = {"goals": "Parks for all", "groups": [{"name": "Renters"}, {"name": "Elders"}]}
    assert changed_fields(before, after) == {
        "goals": ("Parks", "Parks for all"),
        "groups.1.name": (None, "Elders"),
    }


def test_words_taken_out_and_put_in_are_marked_and_the_rest_is_not() -> None:
    removed, added = word_changes(
        "Parks for every family in the north end.",
        "Parks for every family in the north and south ends, by bus.",
    )
    assert removed == [(False, "Parks for every family in the north "), (True, "end.")]
    assert added == [
        (False, "Parks for every family in the north "),
        (True, "and south ends, by bus."),
    ]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("same text", "same text"),
        ("", "all new"),
        ("line one\nline two", "line one\nline 2\n\nline three"),
        ("é 😀 ١٢", "é ١٢ 😀"),
        ("word " * 3000, "word " * 2999 + "other"),
    ],
)
def test_the_runs_join_back_into_each_text(before: str, after: str) -> None:
    removed, added = word_changes(before, after)
    assert "".join(text for _, text in removed) == before
    assert "".join(text for _, text in added) == after
    assert not any(changed for changed, _ in removed) or before != after


def test_one_word_kept_between_two_changes_is_part_of_the_change() -> None:
    removed, added = word_changes(
        "We presented the plan at a bilingual meeting.",
        "Bilingual meeting on May 2 and a mailed summary.",
    )
    assert removed == [(True, "We presented the plan at a bilingual meeting.")]
    assert added == [(True, "Bilingual meeting on May 2 and a mailed summary.")]


def test_a_small_edit_in_a_long_answer_marks_only_the_edit() -> None:
    before = "We met at the library. " * 900 + "Families asked for buses. " + "Thanks. " * 900
    after = "We met at the library. " * 900 + "Families asked for shuttles. " + "Thanks. " * 900
    removed, added = word_changes(before, after)
    assert [text for changed, text in removed if changed] == ["buses. "]
    assert [text for changed, text in added if changed] == ["shuttles. "]


def test_a_changed_part_too_long_to_compare_quickly_is_marked_whole() -> None:
    before, after = "keep " + "a " * 5000 + "end", "keep " + "b " * 5000 + "end"
    assert word_changes(before, after) == (
        [(False, "keep "), (True, "a " * 5000), (False, "end")],
        [(False, "keep "), (True, "b " * 5000), (False, "end")],
    )
