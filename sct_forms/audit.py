"""Recording audit events; callers commit them with the change they describe."""

from __future__ import annotations

from typing import Any

from sct_forms.extensions import db
from sct_forms.models import AuditEvent, User


def record(
    action: str,
    *,
    actor: User | None,
    object_type: str,
    object_id: int | str,
    municipality_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the current transaction (not committed here)."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None and actor.is_authenticated else None,
        object_type=object_type,
        object_id=str(object_id),
        municipality_id=municipality_id,
        details=details,
    )
    db.session.add(event)
    return event


def record_toolkit_event(action: str, toolkit, actor: User | None, **details: Any) -> AuditEvent:  # noqa: ANN001
    """An audit event about a toolkit, filed under its town so timelines can find it."""
    return record(
        action,
        actor=actor,
        object_type="toolkit",
        object_id=toolkit.id,
        municipality_id=toolkit.municipality_id,
        **details,
    )
