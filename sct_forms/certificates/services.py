"""Issuing and revoking certificates of the equity requirement's tiers.

A certificate is issued only when the cycle's tier rules pass on the town's APPROVED Equity
Toolkits. It is rendered to PDF once (sct_forms.certificates.document), and those bytes are
stored with their SHA-256 (sct_forms.certificates.storage). Serials and the expiry date follow
sct_forms.domain.certificates.

Rules decided here:

* One valid certificate per town and cycle. Asking again for the tier already certified returns
  the same certificate. Reaching a higher tier issues a new one and marks the old one
  superseded. Reaching a lower tier than the valid certificate issues nothing: the valid one is
  returned, and taking it back is an administrator's decision (revoke).
* After a certificate of the cycle was revoked, only an administrator may issue a new one for
  that cycle; otherwise town staff could undo a revocation with one click.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from flask import current_app
from sqlalchemy.exc import IntegrityError

from sct_forms.audit import record
from sct_forms.certificates.document import render_certificate
from sct_forms.certificates.queries import last_revoked, serial_taken, valid_certificate
from sct_forms.certificates.storage import write_pending
from sct_forms.domain.certificates import (
    CertificateStatus,
    expiry_for,
    issue_date,
    new_serial,
    outranks,
)
from sct_forms.domain.roles import REVIEW_PARTIES, REVIEWING_ROLES, Role, is_town_staff
from sct_forms.domain.tiers import RequirementStatus, TierAssessment, TierStatus, next_tier
from sct_forms.extensions import db
from sct_forms.files import PendingWrites
from sct_forms.models import Cycle, Municipality, User, utcnow
from sct_forms.models.certificates import Certificate
from sct_forms.towns.queries import tiers_for

__all__ = [
    "ISSUING_ROLES",
    "CertificateRefusedError",
    "RevokeRefusedError",
    "issue_certificate",
    "local_date",
    "may_issue_more",
    "revoke",
]

#: Who may ask for a certificate (staff only for their own town; the views check the town).
ISSUING_ROLES = REVIEW_PARTIES

DEFAULT_TIME_ZONE = "America/New_York"


# --- Refusals -------------------------------------------------------------------------------


class CertificateRefusedError(Exception):
    """A certificate cannot be issued; the attributes say why in a form a page can explain.

    ``code`` is "tier_not_reached" (``tier`` is the lowest tier not met, ``missing`` its
    requirements that are not met, ``assessment`` the whole picture) or "revoked_needs_admin"
    (``revoked`` is the revoked certificate of the cycle).
    """

    def __init__(
        self,
        code: str,
        *,
        tier: str | None = None,
        missing: tuple[RequirementStatus, ...] = (),
        assessment: TierAssessment | None = None,
        revoked: Certificate | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.tier = tier
        self.missing = missing
        self.assessment = assessment
        self.revoked = revoked

    @property
    def status(self) -> int:
        """The HTTP status a page refusing this should answer with."""
        return 409 if self.code == "revoked_needs_admin" else 422


def _refusal(assessment: TierAssessment) -> CertificateRefusedError:
    status: TierStatus | None = next_tier(assessment)
    if status is None:  # pragma: no cover - only called when no tier is reached
        raise AssertionError("a refusal needs a tier that is not met")
    missing = tuple(r for r in status.requirements if not r.met)
    return CertificateRefusedError(
        "tier_not_reached", tier=status.tier, missing=missing, assessment=assessment
    )


# --- Issuing ----------------------------------------------------------------------------------


def local_date(moment: datetime) -> date:
    """The calendar date of ``moment`` in the program's time zone (BABEL_DEFAULT_TIMEZONE)."""
    zone = current_app.config.get("BABEL_DEFAULT_TIMEZONE") or DEFAULT_TIME_ZONE
    return issue_date(moment, zone)


def may_issue_more(assessment: TierAssessment, current: Certificate | None) -> bool:
    """Whether issuing now would give something: a first certificate, or a higher tier."""
    reached = assessment.reached
    return reached is not None and outranks(reached, current.tier if current else None)


def _unused_serial(year: int) -> str:
    for _ in range(20):
        serial = new_serial(year)
        if not serial_taken(serial):
            return serial
    raise RuntimeError("could not find an unused certificate serial")  # pragma: no cover


def issue_certificate(town: Municipality, cycle: Cycle, user: User) -> Certificate:
    """The town's certificate for the tier it has reached in ``cycle``, issuing it if needed.

    Raises CertificateRefusedError when no tier is reached on approved toolkits, or when a
    certificate of the cycle was revoked and ``user`` is not an administrator; PermissionError
    for a role that may not issue, or staff of another town. Commits.
    """
    if not (user.role in REVIEWING_ROLES or is_town_staff(user, town.id)):
        raise PermissionError("this user may not issue certificates for this town")
    assessment = tiers_for(town, cycle)
    reached = assessment.reached
    if reached is None:
        raise _refusal(assessment)
    existing = valid_certificate(town, cycle)
    if existing is not None and not outranks(reached, existing.tier):
        return existing
    if existing is None and user.role != Role.ADMIN:
        revoked = last_revoked(town, cycle)
        if revoked is not None:
            raise CertificateRefusedError(
                "revoked_needs_admin", assessment=assessment, revoked=revoked
            )

    issued_at = utcnow()
    issued_on = local_date(issued_at)
    certificate = Certificate(
        serial=_unused_serial(issued_on.year),
        municipality_id=town.id,
        cycle_id=cycle.id,
        tier=reached,
        issued_at=issued_at,
        expires_on=expiry_for(issued_on),
        issued_by_id=user.id,
        status=CertificateStatus.VALID,
    )
    data, variant = render_certificate(certificate, town, cycle, user, issued_on)
    certificate.sha256 = hashlib.sha256(data).hexdigest()
    pending = PendingWrites()
    try:
        certificate.storage_name = write_pending(pending, data)
        if existing is not None:
            # The old one stops being valid first: at most one valid certificate per cycle.
            existing.status = CertificateStatus.SUPERSEDED
            db.session.flush()
        db.session.add(certificate)
        db.session.flush()
        record(
            "certificate.issued",
            actor=user,
            object_type="certificate",
            object_id=certificate.id,
            municipality_id=town.id,
            serial=certificate.serial,
            tier=certificate.tier,
            cycle_id=cycle.id,
            expires_on=certificate.expires_on.isoformat(),
            sha256=certificate.sha256,
            pdf_variant=variant,
            supersedes=existing.serial if existing is not None else None,
        )
        if existing is not None:
            existing.superseded_by_id = certificate.id
            record(
                "certificate.superseded",
                actor=user,
                object_type="certificate",
                object_id=existing.id,
                municipality_id=town.id,
                serial=existing.serial,
                tier=existing.tier,
                superseded_by=certificate.serial,
                new_tier=certificate.tier,
            )
        db.session.commit()
    except IntegrityError:
        # Another request issued this cycle's certificate first: keep theirs, drop ours.
        db.session.rollback()
        pending.discard()
        winner = valid_certificate(town, cycle)
        if winner is None or outranks(reached, winner.tier):
            raise
        return winner
    except BaseException:
        db.session.rollback()
        pending.discard()
        raise
    pending.place()
    return certificate


# --- Revoking ---------------------------------------------------------------------------------


class RevokeRefusedError(ValueError):
    """A revocation that cannot be done: ``code`` is "reason_required" or "already_revoked"."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def revoke(certificate: Certificate, user: User, reason: str) -> Certificate:
    """Revoke a certificate (administrators only; a reason is required). Commits.

    The stored file is kept: it is the record of what was issued, and the verification page
    says it is revoked.
    """
    if user.role != Role.ADMIN:
        raise PermissionError("only administrators revoke certificates")
    reason = (reason or "").strip()
    if not reason:
        raise RevokeRefusedError("reason_required")
    if certificate.is_revoked:
        raise RevokeRefusedError("already_revoked")
    previous = certificate.status
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at = utcnow()
    certificate.revoked_by_id = user.id
    certificate.revoke_reason = reason
    record(
        "certificate.revoked",
        actor=user,
        object_type="certificate",
        object_id=certificate.id,
        municipality_id=certificate.municipality_id,
        serial=certificate.serial,
        tier=certificate.tier,
        previous_status=previous,
        reason=reason,
    )
    db.session.commit()
    return certificate
