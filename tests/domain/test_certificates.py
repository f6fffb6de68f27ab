"""Certificate rules on their own: serials, expiry, the day of issue, which tier replaces which."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from sct_forms.domain.certificates import (
    expiry_for,
    issue_date,
    new_serial,
    normalise_serial,
    outranks,
)

SERIAL = re.compile(r"^SCT-\d{4}-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$")


@pytest.mark.parametrize(
    ("issued_on", "expires_on"),
    [
        (date(2026, 1, 1), date(2028, 12, 31)),
        (date(2026, 12, 31), date(2028, 12, 31)),
        (date(2027, 6, 15), date(2029, 12, 31)),
    ],
)
def test_expiry_is_dec_31_of_the_third_year_counting_the_year_of_issue(issued_on, expires_on):
    assert expiry_for(issued_on) == expires_on


def test_the_day_of_issue_is_the_day_in_the_programs_time_zone():
    # 03:00 UTC on Jan 1 is still Dec 31 in Connecticut, and already Jan 1 in London.
    moment = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)
    assert issue_date(moment, "America/New_York") == date(2026, 12, 31)
    assert issue_date(moment, "Europe/London") == date(2027, 1, 1)


def test_serials_are_random_and_typo_tolerant():
    serials = {new_serial(2026) for _ in range(500)}
    assert len(serials) == 500
    assert all(SERIAL.match(serial) for serial in serials)
    assert all(serial.startswith("SCT-2026-") for serial in serials)
    assert normalise_serial(" sct-2026-7k4q-9xwm ") == "SCT-2026-7K4Q-9XWM"
    assert normalise_serial("SCT 2026 7K4Q 9XWM") == "SCT-2026-7K4Q-9XWM"
    assert normalise_serial("SCT\u20132026\u20137K4Q\u20139XWM") == "SCT-2026-7K4Q-9XWM"
    for wrong in (
        "",
        "SCT-2026-7K4Q",
        "SCT-26-7K4Q-9XWM",
        "SCT-2026-7K4Q-9XW0",
        "ABC-2026-7K4Q-9XWM",
    ):
        assert normalise_serial(wrong) is None, wrong


def test_every_new_serial_reads_back_as_itself():
    for serial in {new_serial(year) for year in (2026, 2031) for _ in range(50)}:
        assert normalise_serial(serial) == serial
        assert normalise_serial(serial.lower().replace("-", " ")) == serial


@pytest.mark.parametrize(
    ("tier", "current", "replaces"),
    [
        ("bronze", None, True),
        ("silver", "bronze", True),
        ("gold", "silver", True),
        ("bronze", "bronze", False),
        ("bronze", "silver", False),
        ("silver", "gold", False),
    ],
)
def test_only_a_higher_tier_replaces_the_valid_certificate(tier, current, replaces):
    assert outranks(tier, current) is replaces
