"""Who may do what: role checks and loading objects only for those who may see them.

Views use ``roles_required`` for the role and ``municipality_or_404`` / ``visible_or_404`` for the
object, so every route asks the same two questions in the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, session
from flask_login import current_user, login_required
from sqlalchemy import bindparam, select

from sct_forms.domain.roles import REVIEWING_ROLES, Role
from sct_forms.domain.toolkit_definition import Step, ToolkitDefinition, load_definition
from sct_forms.extensions import db
from sct_forms.models import CoachAssignment, Evidence, Municipality, Toolkit, User

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M")

ALL_TOWNS = None  # marker: the user may see every municipality


def roles_required(*roles: str) -> Callable[[F], F]:
    """Signed-in users with one of ``roles`` pass; others get 403 (anonymous: sign-in page)."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                # A town the user may not see stays unseen: 404, as for its objects, rather
                # than a refusal that tells the town or its record exists.
                abort(404 if names_hidden_town(kwargs) else 403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def has_signed_in_user() -> bool:
    """True when the session names a user (whether or not that session is still valid)."""
    return "_user_id" in session


def visible_municipality_ids(user: User) -> set[int] | None:
    """The towns ``user`` may see: a set of ids, or ALL_TOWNS for reviewers and admins."""
    if user.role in REVIEWING_ROLES:
        return ALL_TOWNS
    if user.role == Role.STAFF:
        return {user.municipality_id} if user.municipality_id else set()
    if user.role == Role.COACH:
        rows = db.session.scalars(
            select(CoachAssignment.municipality_id).where(CoachAssignment.coach_id == user.id)
        )
        return set(rows)
    return set()


def may_see_municipality(user: User, municipality_id: int) -> bool:
    visible = visible_municipality_ids(user)
    return visible is ALL_TOWNS or municipality_id in visible


def municipality_or_404(slug: str) -> Municipality:
    """The town named by ``slug``, if the current user may see it.

    A town the user may not see answers 404 like one that does not exist, as objects do in
    ``visible_or_404``: a coach learns nothing of the towns not assigned to them.
    """
    municipality = db.session.scalar(select(Municipality).where(Municipality.slug == slug))
    if municipality is None or not may_see_municipality(current_user, municipality.id):
        abort(404)
    return municipality


# Route arguments that name something of one town, and what they name.
_TOWN_OBJECT_ARGUMENTS: dict[str, type] = {"toolkit_id": Toolkit, "evidence_id": Evidence}


def names_hidden_town(arguments: dict[str, Any]) -> bool:
    """Whether a route's arguments name a town, or a record or file of a town, that the
    current user may not see (or that does not exist)."""
    slug = arguments.get("slug")
    if isinstance(slug, str):
        town_id = db.session.scalar(select(Municipality.id).where(Municipality.slug == slug))
        return town_id is None or not may_see_municipality(current_user, town_id)
    for name, model in _TOWN_OBJECT_ARGUMENTS.items():
        if name in arguments:
            obj = db.session.get(model, arguments[name])
            return obj is None or not may_see_municipality(current_user, obj.municipality_id)
    return False


# Statements that load one object by id, built once per model and loader options (the options
# are module constants, such as toolkits.services.SAVE_LOADS): SQLAlchemy then reuses their
# cache key instead of keying a new statement in every request. Bounded, in case a caller
# passes new option objects each time.
_LOADED_BY_ID: dict[tuple[type, tuple[Any, ...]], Any] = {}
_LOADED_BY_ID_LIMIT = 32


def get_by_id(model: type[M], object_id: int, *options: Any) -> M | None:
    """``db.session.get`` for the requests that run most (the signed-in person, the autosaved
    toolkit): an object already in the session is taken from it, else one prepared statement."""
    if db.session.identity_key(model, object_id) in db.session.identity_map:
        return db.session.get(model, object_id, options=options)
    statement = _LOADED_BY_ID.get((model, options))
    if statement is None:
        statement = select(model).options(*options).where(model.id == bindparam("object_id"))  # type: ignore[attr-defined]
        if len(_LOADED_BY_ID) < _LOADED_BY_ID_LIMIT:
            _LOADED_BY_ID[(model, options)] = statement
    return db.session.execute(statement, {"object_id": object_id}).unique().scalar_one_or_none()


def visible_or_404(model: type[M], object_id: int, *options: Any) -> M:
    """An object that belongs to a town (has ``municipality_id``), if the user may see it.

    Objects of other towns answer 404, so their existence is not revealed. ``options`` are
    loader options (such as ``joinedload``) for what the caller reads of it next.
    """
    obj = get_by_id(model, object_id, *options) if options else db.session.get(model, object_id)
    if obj is None or not may_see_municipality(current_user, obj.municipality_id):  # type: ignore[attr-defined]
        abort(404)
    return obj


def toolkit_and_step(
    toolkit_id: int, step_key: str, *options: Any
) -> tuple[Toolkit, ToolkitDefinition, Step]:
    """The toolkit (if the user may see it), its definition and one of its steps, or 404.

    ``options`` are loader options for the toolkit, as for ``visible_or_404``.
    """
    toolkit = visible_or_404(Toolkit, toolkit_id, *options)
    definition = load_definition(toolkit.definition_version, toolkit.form)
    try:
        step = definition.step(step_key)
    except KeyError:
        abort(404)
    return toolkit, definition, step
