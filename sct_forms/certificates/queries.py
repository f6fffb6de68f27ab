"""Certificates as the pages and the issuing service look them up."""

from __future__ import annotations

from sqlalchemy import select

from sct_forms.domain.certificates import CertificateStatus
from sct_forms.extensions import db
from sct_forms.models import Cycle, Municipality
from sct_forms.models.certificates import Certificate, CertificateDocument

__all__ = [
    "by_serial",
    "documents_by_sha256",
    "document_of",
    "certificates_of",
    "last_revoked",
    "serial_taken",
    "valid_certificate",
]


def valid_certificate(town: Municipality, cycle: Cycle) -> Certificate | None:
    """The town's valid certificate of ``cycle``, if any (there is at most one)."""
    return db.session.scalar(
        select(Certificate).where(
            Certificate.municipality_id == town.id,
            Certificate.cycle_id == cycle.id,
            Certificate.status == CertificateStatus.VALID,
        )
    )


def last_revoked(town: Municipality, cycle: Cycle) -> Certificate | None:
    """The town's most recently revoked certificate of ``cycle``, if any."""
    return db.session.scalar(
        select(Certificate)
        .where(
            Certificate.municipality_id == town.id,
            Certificate.cycle_id == cycle.id,
            Certificate.status == CertificateStatus.REVOKED,
        )
        .order_by(Certificate.revoked_at.desc())
        .limit(1)
    )


def serial_taken(serial: str) -> bool:
    return db.session.scalar(select(Certificate.id).where(Certificate.serial == serial)) is not None


def by_serial(serial: str) -> Certificate | None:
    """The certificate with exactly this (canonical) serial."""
    return db.session.scalar(select(Certificate).where(Certificate.serial == serial))


def certificates_of(town: Municipality) -> list[Certificate]:
    """Every certificate of the town, of every cycle, newest first."""
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.municipality_id == town.id)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
    )


def document_of(certificate: Certificate, language: str) -> CertificateDocument | None:
    """The certificate's stored document in ``language``, read from the database (not from a
    relationship loaded earlier, which a request racing this one would not have updated)."""
    return db.session.scalar(
        select(CertificateDocument).where(
            CertificateDocument.certificate_id == certificate.id,
            CertificateDocument.language == language,
        )
    )


def documents_by_sha256(digest: str) -> list[CertificateDocument]:
    """The stored documents whose bytes have this SHA-256 (lowercase hex); normally one."""
    return list(
        db.session.scalars(
            select(CertificateDocument)
            .where(CertificateDocument.sha256 == digest)
            .order_by(CertificateDocument.id)
        )
    )
