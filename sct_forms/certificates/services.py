"""Issuing, releasing and revoking certificates of the equity requirement's tiers.

A certificate is the program's decision, never the town's: it is issued when a reviewer's
decision makes a tier pass (sct_forms.towns.queries.tiers_for reads the town's records). Its
PDF is rendered in English at issue and in any other language the first time someone asks
for it (sct_forms.certificates.document); each language's bytes are stored with their SHA-256
as a CertificateDocument (sct_forms.certificates.storage). Serials and the expiry date follow
sct_forms.domain.certificates.

Who may do what (asked here, whatever page or command calls):

* Town staff and coaches never issue, release or revoke; reviewers issue only through their
  decisions (issue_after_decision), never by hand.
* Administrators issue by hand (issue_certificate: after a revocation, or to catch up on a
  certificate whose rendering failed), release a cycle's held certificates, and revoke.

Rules decided here:

* One valid certificate per town and cycle. Issuing again for the tier already certified
  returns the same certificate. Reaching a higher tier issues a new one and marks the old one
  superseded. Reaching a lower tier than the valid certificate issues nothing: the valid one
  stays, and taking it back is an administrator's decision (revoke).
* Held cycles: while a cycle holds certificates (a release date, not yet released), decisions
  issue nothing; the administrator's release action, on or after the release date, issues
  every certificate the cycle's decisions earned, and tells each town's staff by email.
* After a certificate of the cycle was revoked, the program does not issue again on its own,
  neither on a later decision nor at the release: only an administrator's hand issue does,
  so a revocation is not undone by the next approval.
* Program-issued certificates have no issuing person (issued_by_id None); the audit record
  ``certificate.issued`` names the decision behind it (see issue_after_decision).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from sct_forms.audit import record
from sct_forms.certificates import notifications
from sct_forms.certificates.document import CERTIFICATE_LANGUAGE, render_certificate
from sct_forms.certificates.queries import (
    document_of,
    last_revoked,
    serial_taken,
    valid_certificate,
)
from sct_forms.certificates.storage import write_pending
from sct_forms.domain.certificates import (
    CertificateStatus,
    expiry_for,
    issue_date,
    new_serial,
    outranks,
    release_refusal,
)
from sct_forms.domain.roles import REVIEWING_ROLES, Role
from sct_forms.domain.tiers import RequirementStatus, TierAssessment, TierStatus, next_tier
from sct_forms.domain.workflow import State
from sct_forms.extensions import db
from sct_forms.models import AuditEvent, Cycle, Municipality, Toolkit, User, utcnow
from sct_forms.models.certificates import Certificate, CertificateDocument
from sct_forms.storage import PendingWrites
from sct_forms.towns.queries import tiers_for

__all__ = [
    "CertificateRefusedError",
    "ReleaseRefusedError",
    "ReleaseResult",
    "RevokeRefusedError",
    "approving_reviewers",
    "document_in",
    "issue_after_decision",
    "issue_certificate",
    "local_date",
    "may_issue_by_hand",
    "may_issue_more",
    "may_release",
    "may_revoke",
    "pending_certificates",
    "release_certificates",
    "revoke",
]

DEFAULT_TIME_ZONE = "America/New_York"


def may_issue_by_hand(user: User) -> bool:
    """Administrators only: everyone else's certificates come from reviewers' decisions."""
    return user.role == Role.ADMIN


def may_release(user: User) -> bool:
    return user.role == Role.ADMIN


def may_revoke(user: User) -> bool:
    return user.role == Role.ADMIN


# --- Refusals -------------------------------------------------------------------------------


class CertificateRefusedError(Exception):
    """A certificate cannot be issued; the attributes say why in a form a page can explain.

    ``code`` is "tier_not_reached" (``tier`` is the lowest tier not met, ``missing`` its
    requirements that are not met, ``assessment`` the whole picture) or "held" (the cycle's
    certificates wait for the release action).
    """

    def __init__(
        self,
        code: str,
        *,
        tier: str | None = None,
        missing: tuple[RequirementStatus, ...] = (),
        assessment: TierAssessment | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.tier = tier
        self.missing = missing
        self.assessment = assessment

    @property
    def status(self) -> int:
        """The HTTP status a page refusing this should answer with."""
        return 422 if self.code == "tier_not_reached" else 409


def _refusal(assessment: TierAssessment) -> CertificateRefusedError:
    status: TierStatus | None = next_tier(assessment)
    if status is None:  # pragma: no cover - only called when no tier is reached
        raise AssertionError("a refusal needs a tier that is not met")
    missing = tuple(r for r in status.requirements if not r.met)
    return CertificateRefusedError(
        "tier_not_reached", tier=status.tier, missing=missing, assessment=assessment
    )


# --- Who approved -----------------------------------------------------------------------------


def approving_reviewers(town: Municipality, cycle: Cycle) -> list[int]:
    """The reviewers whose approvals of the town's toolkits of ``cycle`` stand now.

    For each toolkit approved now, the actor of its latest ``toolkit.approved`` audit record;
    for a toolkit without one (approved before the audit trail, or set by an import), its
    assigned reviewer. This is every standing approval, not a minimal set: when a town has more
    approved toolkits than its tier needs, all their reviewers are named. Account ids, sorted.
    """
    approved = db.session.execute(
        select(Toolkit.id, Toolkit.assigned_reviewer_id).where(
            Toolkit.municipality_id == town.id,
            Toolkit.cycle_id == cycle.id,
            Toolkit.state == State.APPROVED,
        )
    ).all()
    if not approved:
        return []
    events = db.session.execute(
        select(AuditEvent.object_id, AuditEvent.actor_id)
        .where(
            AuditEvent.action == f"toolkit.{State.APPROVED}",
            AuditEvent.object_type == "toolkit",
            AuditEvent.object_id.in_([str(row.id) for row in approved]),
        )
        .order_by(AuditEvent.id)
    )
    latest = {object_id: actor_id for object_id, actor_id in events}  # the last one wins
    reviewers = {latest.get(str(row.id)) or row.assigned_reviewer_id for row in approved}
    return sorted(r for r in reviewers if r is not None)


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


def _issue(
    town: Municipality,
    cycle: Cycle,
    reached: str,
    existing: Certificate | None,
    *,
    actor: User | None,
    issued_by: User | None,
    **audit_details: object,
) -> Certificate:
    """Issue ``reached``'s certificate: render and store its English document, supersede
    ``existing``, audit, queue the town's emails, commit. A request that loses a race to issue
    the same certificate returns the winner's, and its file is discarded."""
    issued_at = utcnow()
    issued_on = local_date(issued_at)
    certificate = Certificate(
        serial=_unused_serial(issued_on.year),
        municipality_id=town.id,
        cycle_id=cycle.id,
        tier=reached,
        issued_at=issued_at,
        expires_on=expiry_for(issued_on),
        issued_by_id=issued_by.id if issued_by is not None else None,
        status=CertificateStatus.VALID,
    )
    data, variant = render_certificate(certificate, town, cycle, issued_on, CERTIFICATE_LANGUAGE)
    digest = hashlib.sha256(data).hexdigest()
    pending = PendingWrites()
    try:
        storage_name = write_pending(pending, data)
        if existing is not None:
            # The old one stops being valid first: at most one valid certificate per cycle.
            existing.status = CertificateStatus.SUPERSEDED
            db.session.flush()
        db.session.add(certificate)
        db.session.flush()
        db.session.add(
            CertificateDocument(
                certificate_id=certificate.id,
                language=CERTIFICATE_LANGUAGE,
                sha256=digest,
                storage_name=storage_name,
            )
        )
        record(
            "certificate.issued",
            actor=actor,
            object_type="certificate",
            object_id=certificate.id,
            municipality_id=town.id,
            serial=certificate.serial,
            tier=certificate.tier,
            cycle_id=cycle.id,
            expires_on=certificate.expires_on.isoformat(),
            language=CERTIFICATE_LANGUAGE,
            sha256=digest,
            pdf_variant=variant,
            supersedes=existing.serial if existing is not None else None,
            **audit_details,
        )
        if existing is not None:
            existing.superseded_by_id = certificate.id
            record(
                "certificate.superseded",
                actor=actor,
                object_type="certificate",
                object_id=existing.id,
                municipality_id=town.id,
                serial=existing.serial,
                tier=existing.tier,
                superseded_by=certificate.serial,
                new_tier=certificate.tier,
            )
        # The staff's emails commit with the certificate, or not at all.
        notifications.certificate_issued(certificate, town, cycle)
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


def issue_certificate(town: Municipality, cycle: Cycle, user: User) -> Certificate:
    """An administrator's hand issue: the town's certificate for the tier it reached in ``cycle``.

    For what the program did not issue on its own: after a revocation, or a certificate whose
    rendering failed. Returns the valid certificate when it already covers the tier reached.
    Raises PermissionError for anyone but an administrator; CertificateRefusedError when no
    tier is reached, or when the cycle holds its certificates (the release action issues them
    together, on the release date). Commits.
    """
    if not may_issue_by_hand(user):
        raise PermissionError("only administrators issue certificates by hand")
    assessment = tiers_for(town, cycle)
    reached = assessment.reached
    if reached is None:
        raise _refusal(assessment)
    existing = valid_certificate(town, cycle)
    if existing is not None and not outranks(reached, existing.tier):
        return existing
    if cycle.holds_certificates:
        raise CertificateRefusedError("held", assessment=assessment)
    return _issue(
        town,
        cycle,
        reached,
        existing,
        actor=user,
        issued_by=user,
        issued_for="administrator",
        approved_by=approving_reviewers(town, cycle),
    )


def _program_would_issue(town: Municipality, cycle: Cycle) -> tuple[str, Certificate | None] | None:
    """(tier, valid certificate) when the program should issue now, else None: no tier
    reached, the valid certificate already covers it, or a certificate of the cycle was
    revoked (only an administrator issues after a revocation)."""
    reached = tiers_for(town, cycle).reached
    if reached is None:
        return None
    existing = valid_certificate(town, cycle)
    if existing is not None and not outranks(reached, existing.tier):
        return None
    if last_revoked(town, cycle) is not None:
        return None
    return reached, existing


def issue_after_decision(town: Municipality, cycle: Cycle, decider: User) -> Certificate | None:
    """After a reviewer's decision is committed: issue the certificate it earned, if any.

    Issues nothing while the cycle holds its certificates, when no tier passes, when the valid
    certificate already covers the tier, or after a revocation in the cycle (see the module's
    rules). Runs in its own transaction, after the decision's: a failure to render or store is
    logged and issues nothing, and the decision stands; the administrators' release action
    issues what was missed.

    The audit record ``certificate.issued`` has no issuing person (the program issues) and its
    actor is ``decider``; it names ``decided_by`` (the decider's account) and ``approved_by``:
    every reviewer whose approval of the town's toolkits of the cycle stands now
    (approving_reviewers), which includes the decider when the decision was an approval.
    """
    if decider.role not in REVIEWING_ROLES:
        raise PermissionError("certificates follow reviewers' decisions only")
    try:
        if cycle.holds_certificates:
            return None
        wanted = _program_would_issue(town, cycle)
        if wanted is None:
            return None
        reached, existing = wanted
        return _issue(
            town,
            cycle,
            reached,
            existing,
            actor=decider,
            issued_by=None,
            issued_for="decision",
            decided_by=decider.id,
            approved_by=approving_reviewers(town, cycle),
        )
    except Exception:
        db.session.rollback()
        current_app.logger.exception(
            "Certificate of %s for cycle %s could not be issued after a decision",
            town.slug,
            cycle.id,
        )
        return None


# --- Releasing a cycle's held certificates ---------------------------------------------------


@dataclass(frozen=True)
class PendingCertificate:
    """A town whose reached tier has no valid certificate of that tier or higher."""

    town: Municipality
    tier: str
    current: Certificate | None
    revoked: Certificate | None

    @property
    def waits_for_admin(self) -> bool:
        """A certificate of the cycle was revoked: the release skips it (hand issue only)."""
        return self.revoked is not None


def pending_certificates(cycle: Cycle) -> list[PendingCertificate]:
    """Every town whose tier in ``cycle`` passes without a valid certificate covering it, by
    name: while the cycle holds, those are the held certificates; after, those still missed."""
    pending = []
    for town in db.session.scalars(select(Municipality).order_by(Municipality.name)):
        reached = tiers_for(town, cycle).reached
        if reached is None:
            continue
        current = valid_certificate(town, cycle)
        if current is not None and not outranks(reached, current.tier):
            continue
        pending.append(PendingCertificate(town, reached, current, last_revoked(town, cycle)))
    return pending


class ReleaseRefusedError(Exception):
    """The release cannot run: ``code`` is "too_early" (before the cycle's release date)."""

    def __init__(self, code: str, release_on: date | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.release_on = release_on


@dataclass
class ReleaseResult:
    """What one release did: whether it released the cycle, and the certificates it issued."""

    released: bool
    issued: list[Certificate] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # town names
    skipped_revoked: list[str] = field(default_factory=list)


def release_certificates(cycle: Cycle, user: User, today: date | None = None) -> ReleaseResult:
    """The administrators' release: issue every certificate the cycle's decisions earned.

    Allowed on or after the cycle's release date (ReleaseRefusedError before it), for
    administrators only (PermissionError). The first release marks the cycle released (a
    compare-and-set, so two submissions release once) and commits that before issuing, so later
    decisions issue at once. Then each held certificate is issued in its own transaction, with
    its emails to the town's staff; one failing town is logged and does not stop the others.
    Towns with a revoked certificate of the cycle are skipped: an administrator issues those by
    hand. Run again, it issues only what is still missing (a failed rendering), never a
    certificate twice. Audited as ``certificates.released`` with the counts.
    """
    if not may_release(user):
        raise PermissionError("only administrators release certificates")
    today = today or local_date(utcnow())
    refusal = release_refusal(cycle.release_on, today)
    if refusal is not None:
        raise ReleaseRefusedError(refusal, cycle.release_on)
    released = False
    if cycle.holds_certificates:
        done = db.session.execute(
            update(Cycle)
            .where(Cycle.id == cycle.id, Cycle.certificates_released_at.is_(None))
            .values(certificates_released_at=utcnow(), certificates_released_by_id=user.id)
        )
        released = done.rowcount == 1
        db.session.commit()
        db.session.refresh(cycle)
    result = ReleaseResult(released=released)
    for item in pending_certificates(cycle):
        if item.waits_for_admin:
            result.skipped_revoked.append(item.town.name)
            continue
        try:
            certificate = _issue(
                item.town,
                cycle,
                item.tier,
                item.current,
                actor=user,
                issued_by=None,
                issued_for="release",
                approved_by=approving_reviewers(item.town, cycle),
            )
        except Exception:
            db.session.rollback()
            current_app.logger.exception(
                "Certificate of %s could not be issued at the release of cycle %s",
                item.town.slug,
                cycle.id,
            )
            result.failed.append(item.town.name)
            continue
        result.issued.append(certificate)
    record(
        "certificates.released",
        actor=user,
        object_type="cycle",
        object_id=cycle.id,
        released=released,
        release_on=cycle.release_on.isoformat() if cycle.release_on else None,
        issued=len(result.issued),
        failed=len(result.failed),
        skipped_revoked=len(result.skipped_revoked),
        serials=[c.serial for c in result.issued],
    )
    db.session.commit()
    return result


# --- Documents in other languages ------------------------------------------------------------


def document_in(certificate: Certificate, language: str, user: User | None) -> CertificateDocument:
    """The certificate's stored PDF in ``language``, rendered and stored the first time.

    The caller has checked that ``user`` may see the certificate and that ``language`` is one
    the app speaks. Two requests at once both render, and the unique (certificate, language)
    keeps one document: the loser discards its file and returns the winner's. Commits.
    """
    existing = document_of(certificate, language)
    if existing is not None:
        return existing
    issued_on = local_date(certificate.issued_at)
    data, variant = render_certificate(
        certificate, certificate.municipality, certificate.cycle, issued_on, language
    )
    stored = CertificateDocument(
        certificate_id=certificate.id, language=language, sha256=hashlib.sha256(data).hexdigest()
    )
    pending = PendingWrites()
    try:
        stored.storage_name = write_pending(pending, data)
        db.session.add(stored)
        db.session.flush()
        record(
            "certificate.document_stored",
            actor=user,
            object_type="certificate",
            object_id=certificate.id,
            municipality_id=certificate.municipality_id,
            serial=certificate.serial,
            language=language,
            sha256=stored.sha256,
            pdf_variant=variant,
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        pending.discard()
        winner = document_of(certificate, language)
        if winner is None:
            raise
        return winner
    except BaseException:
        db.session.rollback()
        pending.discard()
        raise
    pending.place()
    return stored


# --- Revoking ---------------------------------------------------------------------------------


class RevokeRefusedError(ValueError):
    """A revocation that cannot be done: ``code`` is "reason_required" or "already_revoked"."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def revoke(certificate: Certificate, user: User, reason: str) -> Certificate:
    """Revoke a certificate (administrators only; a reason is required). Commits.

    The stored files are kept: they are the record of what was issued, and the verification
    page says it is revoked.
    """
    if not may_revoke(user):
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
