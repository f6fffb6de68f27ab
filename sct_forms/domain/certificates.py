"""Certificate rules: statuses, serial numbers, the expiry date, and which tier replaces which.

* Status (CertificateStatus): a certificate is issued valid. It becomes superseded when a
  certificate of a higher tier is issued for the same town and cycle, and revoked when an
  administrator takes it back, with a reason; a superseded certificate can be revoked too. A
  revoked certificate stays revoked. At most one certificate per town and cycle is valid.
* Serials look like "SCT-2026-7K4Q-9XWM": the year of issue and two random groups from an
  alphabet without look-alikes. A typed serial is forgiven its case and the spaces or dashes
  between its groups.
* Expiry: "Certification lasts 3 years and ends on Dec 31 of the third year" (domain.md). The
  year of issue counts as the first year, so a certificate issued on any day of 2026 expires on
  2028-12-31. The year of issue is taken in the program's time zone, not UTC, so an issue late
  on Dec 31 belongs to that year.
* A certificate of a higher tier replaces the valid one; the same or a lower tier does not.
"""

from __future__ import annotations

import enum
import re
import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sct_forms.domain.tiers import TIER_ORDER

__all__ = [
    "CERTIFICATE_YEARS",
    "EXPIRED",
    "SERIAL_ALPHABET",
    "SERIAL_GROUPS",
    "SERIAL_GROUP_LENGTH",
    "SERIAL_PREFIX",
    "CertificateStatus",
    "expiry_for",
    "issue_date",
    "new_serial",
    "normalise_serial",
    "outranks",
]


class CertificateStatus(enum.StrEnum):
    """What became of a certificate, as stored (the order is the one the schema lists)."""

    #: As issued: the town holds this tier in this cycle (until it expires by the calendar).
    VALID = "valid"
    #: Replaced by a certificate of a higher tier of the same town and cycle.
    SUPERSEDED = "superseded"
    #: Taken back by an administrator; final.
    REVOKED = "revoked"


#: What the public verification page says of a valid certificate whose term is over. Never
#: stored: the certificate stays valid in the table and expires by the calendar alone.
EXPIRED = "expired"

CERTIFICATE_YEARS = 3

# No 0/O, 1/I/L or U: a serial read aloud or typed from paper cannot be misread.
SERIAL_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
SERIAL_GROUPS = 2
SERIAL_GROUP_LENGTH = 4
SERIAL_PREFIX = "SCT"
# Hyphens, the dashes a word processor or phone puts in their place, and spaces.
_SERIAL_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


def new_serial(year: int) -> str:
    """A random serial such as "SCT-2026-7K4Q-9XWM" (30^8, about 6.6e11, per year)."""
    groups = [
        "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(SERIAL_GROUP_LENGTH))
        for _ in range(SERIAL_GROUPS)
    ]
    return "-".join([SERIAL_PREFIX, f"{year:04d}", *groups])


def normalise_serial(raw: str) -> str | None:
    """A typed serial in canonical form, or None if it cannot be one.

    Case is forgiven, and so are spaces or dash look-alikes between the groups.
    """
    parts = [part for part in _SERIAL_SEPARATORS.split(raw.upper()) if part]
    if len(parts) != 2 + SERIAL_GROUPS or parts[0] != SERIAL_PREFIX:
        return None
    year, groups = parts[1], parts[2:]
    if len(year) != 4 or not year.isdigit():
        return None
    for group in groups:
        if len(group) != SERIAL_GROUP_LENGTH or not set(group) <= set(SERIAL_ALPHABET):
            return None
    return "-".join(parts)


def issue_date(moment: datetime, time_zone: str) -> date:
    """The calendar date of ``moment`` in the program's ``time_zone``: the day of issue."""
    return moment.astimezone(ZoneInfo(time_zone)).date()


def expiry_for(issued_on: date) -> date:
    """Dec 31 of the third year, the year of issue being the first: 2026 -> 2028-12-31."""
    return date(issued_on.year + CERTIFICATE_YEARS - 1, 12, 31)


def outranks(tier: str, current: str | None) -> bool:
    """Whether a certificate of ``tier`` would replace one of ``current`` (None: none held)."""
    return current is None or TIER_ORDER.index(tier) > TIER_ORDER.index(current)


#: Why an administrator cannot release a cycle's certificates now (release_refusal's answers).
RELEASE_TOO_EARLY = "too_early"


def release_refusal(release_on: date | None, today: date) -> str | None:
    """Why the release action must wait on ``today``, or None when it may run.

    The decisions of a cycle with a release date are announced together on that date, so the
    action runs on or after it, never before. A cycle without a release date holds nothing:
    the action only issues what was missed (a certificate whose rendering failed).
    """
    if release_on is not None and today < release_on:
        return RELEASE_TOO_EARLY
    return None
