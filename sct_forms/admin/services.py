"""Account administration shared by the CLI and, later, the admin console."""

from __future__ import annotations

from sqlalchemy import select

from sct_forms import audit
from sct_forms.auth.password_policy import password_error, personal_words
from sct_forms.auth.passwords import generate_password, hash_password
from sct_forms.auth.services import normalise_email
from sct_forms.domain.accounts import may_have_town, needs_town
from sct_forms.domain.roles import Role
from sct_forms.extensions import db
from sct_forms.models import ROLES, CoachAssignment, Municipality, User, new_session_nonce


class AccountError(ValueError):
    """A request for an account that cannot be met, with a plain reason.

    The message is for the command line; ``code`` names the reason for pages, which say it in
    the reader's language beside ``field`` (the form field at fault, if one is), and ``status``
    is the HTTP answer.
    """

    def __init__(
        self, message: str, *, code: str = "invalid", field: str | None = None, status: int = 422
    ) -> None:
        super().__init__(message)
        self.code, self.field, self.status = code, field, status


def find_municipality(name_or_slug: str) -> Municipality | None:
    value = name_or_slug.strip()
    return db.session.scalar(
        select(Municipality).where(
            (Municipality.slug == value.lower()) | (Municipality.name == value)
        )
    )


def create_user(
    *,
    email: str,
    name: str,
    role: str,
    municipality: Municipality | None = None,
    password: str | None = None,
    language: str = "en",
    actor: User | None = None,
) -> tuple[User, str]:
    """Create an account; returns it with its password (generated when not given)."""
    email = normalise_email(email)
    if role not in ROLES:
        raise AccountError(
            f"role must be one of {', '.join(ROLES)}", code="unknown_role", field="role"
        )
    if needs_town(role) and municipality is None:
        raise AccountError("staff accounts need a town", code="town_needed", field="town")
    if not may_have_town(role) and municipality is not None:
        raise AccountError(
            "only staff accounts belong to a town", code="no_town_for_role", field="town"
        )
    if db.session.scalar(select(User).where(User.email == email)):
        raise AccountError(f"an account for {email} already exists", code="exists", field="email")
    if password is not None:
        town = municipality.name if municipality is not None else None
        problem = password_error(password, personal_words(email, name, town))
        if problem:
            raise AccountError(problem, code="weak_password", field="password")
    password = password or generate_password()
    user = User(
        email=email,
        name=name.strip() or email,
        role=role,
        municipality=municipality if role == Role.STAFF else None,
        password_hash=hash_password(password),
        preferred_language=language,
    )
    db.session.add(user)
    db.session.flush()
    if role == Role.COACH and municipality is not None:
        db.session.add(CoachAssignment(coach=user, municipality=municipality))
    audit.record(
        "user.created",
        actor=actor,
        object_type="user",
        object_id=user.id,
        municipality_id=user.municipality_id,
        role=role,
        email=email,
    )
    return user, password


def reset_password(user: User, *, actor: User | None = None) -> str:
    """Give ``user`` a new generated password and end their other sessions."""
    password = generate_password()
    user.password_hash = hash_password(password)
    user.session_nonce = new_session_nonce()
    audit.record("user.password_reset", actor=actor, object_type="user", object_id=user.id)
    return password
