"""Roles: the values the database stores, the groups the rules name, and a town's own staff."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sct_forms.domain.roles import (
    ALL_ROLES,
    REVIEW_PARTIES,
    REVIEWING_ROLES,
    TOWN_ROLES,
    Role,
    is_town_staff,
)


@dataclass
class Account:
    role: str
    municipality_id: int | None


def test_roles_compare_equal_to_the_stored_strings():
    assert [str(role) for role in Role] == ["staff", "reviewer", "coach", "admin"]
    assert Role.STAFF == "staff"
    assert "reviewer" in REVIEWING_ROLES
    assert {Role.COACH: 1}["coach"] == 1


def test_the_groups_are_made_of_known_roles():
    assert ALL_ROLES == tuple(Role)
    for group in (REVIEWING_ROLES, REVIEW_PARTIES, TOWN_ROLES):
        assert set(group) <= set(ALL_ROLES)


def test_coaches_only_advise():
    assert Role.COACH not in REVIEWING_ROLES
    assert Role.COACH not in REVIEW_PARTIES
    assert set(REVIEW_PARTIES) == {Role.STAFF, *REVIEWING_ROLES}


@pytest.mark.parametrize(
    ("account", "town", "expected"),
    [
        (Account("staff", 7), 7, True),
        (Account(Role.STAFF, 7), 7, True),
        (Account("staff", 7), 8, False),
        (Account("staff", None), None, False),
        (Account("coach", 7), 7, False),
        (Account("reviewer", None), 7, False),
        (Account("admin", 7), 7, False),
    ],
)
def test_is_town_staff_means_staff_of_that_very_town(account, town, expected):
    assert is_town_staff(account, town) is expected
