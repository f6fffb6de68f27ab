"""The roles people have, the groups of roles the rules name, and who a town's own staff are.

A role is stored as its string in ``user_account.role``; ``Role`` is a StrEnum, so a member
compares equal to the stored string and code may hold either. Plain values in, plain answers out:
the service layer, the views and the templates ask here instead of spelling roles out.
"""

from __future__ import annotations

import enum
from typing import Protocol


class Role(enum.StrEnum):
    """What a person does in the program; the value is what the database stores."""

    STAFF = "staff"
    REVIEWER = "reviewer"
    COACH = "coach"
    ADMIN = "admin"


#: Every role: pages anyone signed in may open (which towns they see is decided by access rules).
ALL_ROLES: tuple[Role, ...] = tuple(Role)

#: The program's reviewing side: they work the review queue and see every town.
REVIEWING_ROLES: tuple[Role, ...] = (Role.REVIEWER, Role.ADMIN)

#: The parties to a town's review: its staff and the reviewing side. They see a town's review
#: history and ask for its certificate; coaches advise and are not a party.
REVIEW_PARTIES: tuple[Role, ...] = (Role.STAFF, *REVIEWING_ROLES)

#: Roles whose accounts belong to towns: staff to their one town, coaches by assignment.
TOWN_ROLES: tuple[Role, ...] = (Role.STAFF, Role.COACH)


class Person(Protocol):
    """What the rules read of an account (the User model has both)."""

    role: str
    municipality_id: int | None


def is_town_staff(user: Person, municipality_id: int | None) -> bool:
    """Whether ``user`` is staff of the town ``municipality_id``: the town's own side."""
    return (
        user.role == Role.STAFF
        and user.municipality_id is not None
        and user.municipality_id == municipality_id
    )
