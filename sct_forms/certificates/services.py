"""Issuing, storing and revoking certificates of the equity requirement's tiers.

A certificate is issued only when the cycle's tier rules pass on the town's APPROVED Equity
Toolkits. It is rendered to PDF once, and those bytes are stored with their SHA-256: downloads
serve the stored file and never render again, so the hash on the public verification page
always matches the file the town was given.

Rules decided here:

* Expiry: "Certification lasts 3 years and ends on Dec 31 of the third year" (domain.md). The
  year of issue counts as the first year, so a certificate issued on any day of 2026 expires on
  2028-12-31. The year of issue is taken in the program's time zone (BABEL_DEFAULT_TIMEZONE,
  America/New_York), not UTC, so an issue late on Dec 31 belongs to that year.
* One valid certificate per town and cycle. Asking again for the tier already certified returns
  the same certificate. Reaching a higher tier issues a new one and marks the old one
  superseded. Reaching a lower tier than the valid certificate issues nothing: the valid one is
  returned, and taking it back is an administrator's decision (revoke).
* After a certificate of the cycle was revoked, only an administrator may issue a new one for
  that cycle; otherwise town staff could undo a revocation with one click.
* The PDF is PDF/A-3b (archival; fonts embedded, colours defined). Should WeasyPrint fail to
  make it, the certificate falls back to PDF/UA-1 and the audit record names the variant used.
* The PDF is always in English: it is the program's official record, the same whoever clicks;
  the verification page speaks the reader's language.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import segno
from flask import current_app, has_request_context
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sct_forms.audit import record
from sct_forms.documents.render import render_pdf
from sct_forms.domain.roles import REVIEW_PARTIES, REVIEWING_ROLES, Role, is_town_staff
from sct_forms.domain.tiers import (
    TIER_ORDER,
    Item,
    RequirementStatus,
    TierAssessment,
    TierStatus,
    assess_tiers,
    next_tier,
)
from sct_forms.extensions import db
from sct_forms.files import PendingWrites
from sct_forms.models import Cycle, Municipality, Toolkit, User, utcnow
from sct_forms.models.certificates import Certificate

__all__ = [
    "CERTIFICATE_TEMPLATE",
    "ISSUING_ROLES",
    "PDF_VARIANTS",
    "CertificateRefusedError",
    "RevokeRefusedError",
    "assessment_for",
    "certificate_path",
    "certificate_root",
    "expiry_for",
    "issue_certificate",
    "make_qr_svg",
    "new_serial",
    "normalise_serial",
    "read_stored_pdf",
    "revoke",
    "valid_certificate",
    "verification_url",
]

CERTIFICATE_TEMPLATE = "pdf/certificate.html"

#: Who may ask for a certificate (staff only for their own town; the views check the town).
ISSUING_ROLES = REVIEW_PARTIES

#: Tried in order; the first that renders is stored.
PDF_VARIANTS = ("pdf/a-3b", "pdf/ua-1")

CERTIFICATE_YEARS = 3

# No 0/O, 1/I/L or U: a serial read aloud or typed from paper cannot be misread.
SERIAL_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
SERIAL_GROUPS = 2
SERIAL_GROUP_LENGTH = 4
_SERIAL_PREFIX = "SCT"
# Hyphens, the dashes a word processor or phone puts in their place, and spaces.
_SERIAL_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")

_STORAGE_ALPHABET = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


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


# --- Tiers ------------------------------------------------------------------------------------


def assessment_for(town: Municipality, cycle: Cycle) -> TierAssessment:
    """Where ``town`` stands in ``cycle``, judged exactly as the town page judges it."""
    toolkits = db.session.scalars(
        select(Toolkit).where(Toolkit.municipality_id == town.id, Toolkit.cycle_id == cycle.id)
    )
    items = [Item("toolkit", t.paired_action.number, t.state, t.cycle_id) for t in toolkits]
    return assess_tiers(cycle.tier_rules, items, cycle.id)


def _tier_rank(tier: str | None) -> int:
    return -1 if tier is None else TIER_ORDER.index(tier)


def _refusal(assessment: TierAssessment) -> CertificateRefusedError:
    status: TierStatus | None = next_tier(assessment)
    if status is None:  # pragma: no cover - only called when no tier is reached
        raise AssertionError("a refusal needs a tier that is not met")
    missing = tuple(r for r in status.requirements if not r.met)
    return CertificateRefusedError(
        "tier_not_reached", tier=status.tier, missing=missing, assessment=assessment
    )


# --- Serials, dates and the verification link ----------------------------------------------


def new_serial(year: int) -> str:
    """A random serial such as "SCT-2026-7K4Q-9XWM" (30^8, about 6.6e11, per year)."""
    groups = [
        "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(SERIAL_GROUP_LENGTH))
        for _ in range(SERIAL_GROUPS)
    ]
    return "-".join([_SERIAL_PREFIX, f"{year:04d}", *groups])


def normalise_serial(raw: str) -> str | None:
    """A typed serial in canonical form, or None if it cannot be one.

    Case is forgiven, and so are spaces or dash look-alikes between the groups.
    """
    parts = [part for part in _SERIAL_SEPARATORS.split(raw.upper()) if part]
    if len(parts) != 2 + SERIAL_GROUPS or parts[0] != _SERIAL_PREFIX:
        return None
    year, groups = parts[1], parts[2:]
    if len(year) != 4 or not year.isdigit():
        return None
    for group in groups:
        if len(group) != SERIAL_GROUP_LENGTH or not set(group) <= set(SERIAL_ALPHABET):
            return None
    return "-".join(parts)


def local_date(moment: datetime) -> date:
    """The calendar date of ``moment`` in the program's time zone."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "America/New_York")
    return moment.astimezone(zone).date()


def expiry_for(issued_on: date) -> date:
    """Dec 31 of the third year, the year of issue being the first: 2026 -> 2028-12-31."""
    return date(issued_on.year + CERTIFICATE_YEARS - 1, 12, 31)


def verification_url(serial: str) -> str:
    """The public page that checks ``serial``: PUBLIC_BASE_URL + /verify/<serial>."""
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/verify/{serial}"


def make_qr_svg(url: str) -> str:
    """An inline <svg> QR code that encodes exactly ``url`` (no fetch: the PDF fetcher is strict).

    Always a full QR code (never Micro QR, which phones do not read), error correction M, with
    the four-module quiet zone; sized by CSS through its viewBox.
    """
    qr = segno.make_qr(url, error="m", boost_error=False)
    return qr.svg_inline(omitsize=True, border=4, dark="#000", light="#fff", title=url)


# --- Storage ----------------------------------------------------------------------------------


def certificate_root() -> Path:
    return Path(current_app.instance_path) / "certificates"


def certificate_path(storage_name: str) -> Path:
    """The file behind a storage name; refuses anything that is not one of our names."""
    if len(storage_name) < 20 or not set(storage_name) <= _STORAGE_ALPHABET:
        raise ValueError("not a certificate storage name")
    return certificate_root() / storage_name


def _write_pending(pending: PendingWrites, data: bytes) -> str:
    """Write the bytes under a pending name for a new random name, which is returned.

    The file takes its name only after the certificate's row is committed (sct_forms.files).
    """
    name = secrets.token_urlsafe(24)
    pending.write(certificate_path(name), data)
    return name


def read_stored_pdf(certificate: Certificate) -> bytes:
    """The stored bytes, checked against the SHA-256 on record (ValueError if they differ)."""
    data = certificate_path(certificate.storage_name).read_bytes()
    if hashlib.sha256(data).hexdigest() != certificate.sha256:
        raise ValueError(f"stored file of certificate {certificate.serial} does not match")
    return data


# --- Issuing ----------------------------------------------------------------------------------


def valid_certificate(town: Municipality, cycle: Cycle) -> Certificate | None:
    """The town's valid certificate of ``cycle``, if any (there is at most one)."""
    return db.session.scalar(
        select(Certificate).where(
            Certificate.municipality_id == town.id,
            Certificate.cycle_id == cycle.id,
            Certificate.status == "valid",
        )
    )


def _last_revoked(town: Municipality, cycle: Cycle) -> Certificate | None:
    return db.session.scalar(
        select(Certificate)
        .where(
            Certificate.municipality_id == town.id,
            Certificate.cycle_id == cycle.id,
            Certificate.status == "revoked",
        )
        .order_by(Certificate.revoked_at.desc())
        .limit(1)
    )


def _unused_serial(year: int) -> str:
    for _ in range(20):
        serial = new_serial(year)
        if db.session.scalar(select(Certificate.id).where(Certificate.serial == serial)) is None:
            return serial
    raise RuntimeError("could not find an unused certificate serial")  # pragma: no cover


@contextmanager
def _weasyprint_icc_file_left_open() -> Iterator[None]:
    """Silence one known ResourceWarning of WeasyPrint 70's PDF/A output, and only that one.

    For PDF/A, WeasyPrint opens its bundled sRGB2014.icc and never closes it
    (weasyprint/pdf/__init__.py); the file is dropped, unclosed, inside write_pdf. Harmless,
    but the test suite turns warnings into errors. Remove once WeasyPrint closes the file.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"unclosed file .*sRGB2014\.icc", category=ResourceWarning
        )
        yield


@contextmanager
def _english() -> Iterator[None]:
    """English for the certificate, in a request context (force_locale needs one)."""
    if has_request_context():
        with force_locale("en"):
            yield
        return
    base_url = current_app.config["PUBLIC_BASE_URL"]
    with current_app.test_request_context(base_url=base_url), force_locale("en"):
        yield


def _render(certificate: Certificate, town: Municipality, cycle: Cycle, user: User):
    """(PDF bytes, variant) for a certificate not yet stored: PDF/A-3b, else PDF/UA-1."""
    url = verification_url(certificate.serial)
    context = {
        "certificate": certificate,
        "town": town,
        "cycle": cycle,
        "issuer": user,
        "issued_on": local_date(certificate.issued_at),
        "verification_url": url,
        "qr_svg": make_qr_svg(url),
    }
    failure: Exception | None = None
    for variant in PDF_VARIANTS:
        try:
            with _english(), _weasyprint_icc_file_left_open():
                data = render_pdf(
                    CERTIFICATE_TEMPLATE,
                    municipality_id=town.id,
                    pdf_variant=variant,
                    **context,
                )
        except Exception as error:  # noqa: BLE001 - any failure of one variant tries the next
            current_app.logger.warning(
                "Certificate %s could not be rendered as %s: %r", certificate.serial, variant, error
            )
            failure = error
            continue
        return data, variant
    raise RuntimeError("the certificate could not be rendered") from failure


def issue_certificate(town: Municipality, cycle: Cycle, user: User) -> Certificate:
    """The town's certificate for the tier it has reached in ``cycle``, issuing it if needed.

    Raises CertificateRefusedError when no tier is reached on approved toolkits, or when a
    certificate of the cycle was revoked and ``user`` is not an administrator; PermissionError
    for a role that may not issue, or staff of another town. Commits.
    """
    if not (user.role in REVIEWING_ROLES or is_town_staff(user, town.id)):
        raise PermissionError("this user may not issue certificates for this town")
    assessment = assessment_for(town, cycle)
    if assessment.reached is None:
        raise _refusal(assessment)
    existing = valid_certificate(town, cycle)
    if existing is not None and _tier_rank(existing.tier) >= _tier_rank(assessment.reached):
        return existing
    if existing is None and user.role != Role.ADMIN:
        revoked = _last_revoked(town, cycle)
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
        tier=assessment.reached,
        issued_at=issued_at,
        expires_on=expiry_for(issued_on),
        issued_by_id=user.id,
        status="valid",
    )
    data, variant = _render(certificate, town, cycle, user)
    certificate.sha256 = hashlib.sha256(data).hexdigest()
    pending = PendingWrites()
    try:
        certificate.storage_name = _write_pending(pending, data)
        if existing is not None:
            # The old one stops being valid first: at most one valid certificate per cycle.
            existing.status = "superseded"
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
        if winner is None or _tier_rank(winner.tier) < _tier_rank(assessment.reached):
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
    if certificate.status == "revoked":
        raise RevokeRefusedError("already_revoked")
    previous = certificate.status
    certificate.status = "revoked"
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
