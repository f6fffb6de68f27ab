"""Who is told what about coaching: emails added to the transaction of the change they report."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import LazyString

from sct_forms.coaching import queries
from sct_forms.domain.forms import ACTION_FORMS
from sct_forms.mail import outbox
from sct_forms.models import CoachComment, CoachRequest, Municipality, Toolkit, User


def _send(recipients: Iterable[User], template_base: str, *, kind: str, **context: Any) -> None:
    """One email per active recipient, each in their own language; nobody gets it twice."""
    seen: set[str] = set()
    for user in recipients:
        address = (user.email or "").strip()
        if not address or not user.active or address.lower() in seen:
            continue
        seen.add(address.lower())
        subject, text, html = outbox.render_email(
            template_base,
            language=user.preferred_language or "en",
            recipient_name=(user.name or "").strip(),
            **context,
        )
        outbox.queue_email(
            kind=kind,
            to_address=address,
            to_name=user.name or "",
            subject=subject,
            body_text=text,
            body_html=html,
            toolkit_id=context.get("toolkit_id"),
        )


def after_request(request: CoachRequest) -> None:
    """Tell the program's administrators that a town asks for a coach."""
    _send(
        queries.admins(),
        "coach_requested",
        kind="coaching.requested",
        request=request,
        town=request.municipality.name,
        requester=request.requested_by,
        link=outbox.public_url("coaching.requests"),
    )


def after_assignment(town: Municipality, coach: User, request: CoachRequest | None) -> None:
    """Tell the coach which town asked for what (when it asked through the app), and the
    town's staff who their coach is."""
    _send(
        [coach],
        "coach_assigned_coach",
        kind="coaching.assigned",
        request=request,
        town=town.name,
        requester=request.requested_by if request is not None else None,
        # Without a request in the app there is no one who asked: the coach writes to the staff.
        contacts=queries.town_staff(town.id) if request is None else [],
        link=outbox.public_url("coaching.my_towns"),
    )
    _send(
        queries.town_staff(town.id),
        "coach_assigned_town",
        kind="coaching.assigned",
        town=town.name,
        coach=coach,
        link=outbox.public_url("coaching.town_request", slug=town.slug),
    )


def after_comment(comment: CoachComment, toolkit: Toolkit, step_number: int | None) -> None:
    """Tell the town's staff that their coach left advice on a record."""
    link = (
        outbox.public_url("toolkits.step", toolkit_id=toolkit.id, step_key=comment.step_key)
        if comment.step_key
        else outbox.public_url("toolkits.review", toolkit_id=toolkit.id)
    )
    _send(
        queries.town_staff(toolkit.municipality_id),
        "coach_commented",
        kind="coaching.commented",
        toolkit_id=toolkit.id,
        coach=comment.author.name,
        town=toolkit.municipality.name,
        action=LazyString(lambda: toolkit.paired_action.label),
        # A record of action 1.2 or 1.3 is named by its own title, in the recipient's language.
        is_action_record=toolkit.form in ACTION_FORMS,
        toolkit=toolkit,
        step_number=step_number,
        body=comment.body,
        link=link,
    )
