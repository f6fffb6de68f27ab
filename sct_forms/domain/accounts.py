"""Who may run accounts: invite people, change a role or a town, deactivate and reactivate.

Administrators run every account of the program. Town staff may invite teammates: people who
become staff of their own town, and nobody else. Nobody changes their own role or deactivates
their own account, so the program always keeps an administrator who can sign in.
"""

from __future__ import annotations

from sct_forms.domain.roles import TOWN_ROLES, Person, Role, is_town_staff

#: Who runs the accounts of the whole program: every role, every town, deactivation.
ACCOUNT_ADMIN_ROLES: tuple[Role, ...] = (Role.ADMIN,)

#: Who may invite anybody at all: administrators anyone, town staff their own town's staff.
INVITING_ROLES: tuple[Role, ...] = (*ACCOUNT_ADMIN_ROLES, Role.STAFF)


def may_manage_accounts(user: Person) -> bool:
    """Whether ``user`` may change others' roles and towns, deactivate and reactivate them."""
    return user.role in ACCOUNT_ADMIN_ROLES


def may_invite(inviter: Person, role: str, municipality_id: int | None) -> bool:
    """Whether ``inviter`` may invite someone as ``role`` of the town ``municipality_id``."""
    if inviter.role in ACCOUNT_ADMIN_ROLES:
        return True
    return (
        inviter.role in INVITING_ROLES
        and role == Role.STAFF
        and is_town_staff(inviter, municipality_id)
    )


def needs_town(role: str) -> bool:
    """Staff belong to exactly one town; the account cannot exist without it."""
    return role == Role.STAFF


def may_have_town(role: str) -> bool:
    """Staff have their town; a coach may start with a first town assigned to them."""
    return role in TOWN_ROLES


def is_demotion(person: Person, role: str) -> bool:
    """Whether giving ``person`` the role ``role`` takes away their running of accounts."""
    return person.role in ACCOUNT_ADMIN_ROLES and role not in ACCOUNT_ADMIN_ROLES
