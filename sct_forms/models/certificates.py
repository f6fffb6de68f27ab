"""Certificates: the stored, verifiable record that a town reached a tier of the equity requirement.

A certificate is issued by the program. Its PDF is rendered once per language, the first time
someone asks for it in that language; those bytes are kept under instance/certificates/ with their
SHA-256 (CertificateDocument), and every download serves those very bytes. Anyone can check a
certificate by its serial number on the public verification page, which lists each language's
hash.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sct_forms.domain.certificates import EXPIRED, CertificateStatus
from sct_forms.extensions import db
from sct_forms.models.reference import Cycle, Municipality
from sct_forms.models.types import UTCDateTime, utcnow
from sct_forms.models.users import User

# Built from the enum, the SQL reads exactly as the migration wrote it:
# status IN ('valid', 'superseded', 'revoked').
_STATUS_KNOWN = "status IN ({})".format(", ".join(f"'{s}'" for s in CertificateStatus))
# At most one valid certificate per town and cycle: a higher tier supersedes the lower one, so
# two requests racing to issue cannot both leave a valid certificate behind.
_ONE_VALID = text(f"status = '{CertificateStatus.VALID}'")


class Certificate(db.Model):
    """One issued certificate: town, cycle, tier, dates, the stored PDF and what became of it."""

    __tablename__ = "certificate"
    __table_args__ = (
        CheckConstraint(_STATUS_KNOWN, name="status_known"),
        CheckConstraint("tier IN ('bronze', 'silver', 'gold')", name="tier_known"),
        Index(
            "uq_certificate_one_valid_per_town_cycle",
            "municipality_id",
            "cycle_id",
            unique=True,
            sqlite_where=_ONE_VALID,
            postgresql_where=_ONE_VALID,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Printed on the certificate and typed on the verification page, e.g. "SCT-2026-7K4Q-9XWM".
    # Random, not sequential, so one serial tells nothing about the others.
    serial: Mapped[str] = mapped_column(String(24), unique=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    tier: Mapped[str] = mapped_column(String(10))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Dec 31 of the third year, the year of issue counting as the first.
    expires_on: Mapped[date]
    # None: issued by the program on a reviewer's decision or at the cycle's release (the audit
    # log names the decision); older certificates name the person who asked for them.
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[str] = mapped_column(String(12), default=CertificateStatus.VALID, index=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Internal: seen by signed-in users of the town's pages, never on the public page.
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    municipality: Mapped[Municipality] = relationship()
    cycle: Mapped[Cycle] = relationship()
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    superseded_by: Mapped[Certificate | None] = relationship(
        remote_side=[id], foreign_keys=[superseded_by_id]
    )
    documents: Mapped[list[CertificateDocument]] = relationship(
        back_populates="certificate", order_by="CertificateDocument.language"
    )

    def document(self, language: str) -> CertificateDocument | None:
        """The stored PDF in ``language`` ("en", "es"), if it was rendered already."""
        return next((d for d in self.documents if d.language == language), None)

    @property
    def is_valid(self) -> bool:
        """Valid as stored; whether its term is over is is_expired's question."""
        return self.status == CertificateStatus.VALID

    @property
    def is_superseded(self) -> bool:
        return self.status == CertificateStatus.SUPERSEDED

    @property
    def is_revoked(self) -> bool:
        return self.status == CertificateStatus.REVOKED

    def is_expired(self, today: date) -> bool:
        """Whether the certificate's term is over on ``today`` (it still counts on expires_on)."""
        return today > self.expires_on

    def public_status(self, today: date) -> str:
        """What the verification page says: the status, or EXPIRED for a valid one past its term."""
        if self.is_valid and self.is_expired(today):
            return EXPIRED
        return self.status

    def __repr__(self) -> str:
        return f"<Certificate {self.serial} {self.tier} {self.status}>"


class CertificateDocument(db.Model):
    """The stored PDF of a certificate in one language, with the SHA-256 of its bytes."""

    __tablename__ = "certificate_document"
    __table_args__ = (UniqueConstraint("certificate_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    # Shown on the verification page so anyone can compare a copy.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # A random file name under instance/certificates/.
    storage_name: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    certificate: Mapped[Certificate] = relationship(back_populates="documents")
