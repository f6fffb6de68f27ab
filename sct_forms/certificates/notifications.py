"""Who is told about a certificate: the town's staff, by email, in the issuing transaction."""

from __future__ import annotations

from sqlalchemy import select

from sct_forms.domain.roles import Role
from sct_forms.extensions import db
from sct_forms.mail import outbox
from sct_forms.models import Cycle, Municipality, User
from sct_forms.models.certificates import Certificate

__all__ = ["certificate_issued"]


def _town_staff(town: Municipality) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.STAFF, User.active, User.municipality_id == town.id)
            .order_by(User.id)
        )
    )


def certificate_issued(certificate: Certificate, town: Municipality, cycle: Cycle) -> None:
    """Queue one email per active staff member of the town, in their language; the caller
    commits it with the certificate."""
    link = outbox.public_url("certificates.town_certificates", slug=town.slug, cycle=cycle.id)
    seen: set[str] = set()
    for user in _town_staff(town):
        address = (user.email or "").strip()
        if not address or address.lower() in seen:
            continue
        seen.add(address.lower())
        subject, text, html = outbox.render_email(
            "certificate_issued",
            language=user.preferred_language or "en",
            recipient_name=(user.name or "").strip(),
            town=town.name,
            cycle=cycle.name,
            tier=certificate.tier,
            serial=certificate.serial,
            expires_on=certificate.expires_on,
            link=link,
        )
        outbox.queue_email(
            kind="certificate.issued",
            to_address=address,
            to_name=user.name or "",
            subject=subject,
            body_text=text,
            body_html=html,
        )
