"""Plain-language sentences for the problem codes the domain returns."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import format_date

from sct_forms.i18n import get_locale_language, ngettext
from sct_forms.i18n import gettext as _


def _date(iso: str) -> str:
    return format_date(date.fromisoformat(iso), "long")


def problem_message(code: str, params: dict[str, Any], *, in_group: bool = False) -> str:
    """The sentence shown next to a field (or in the list of what is missing)."""
    if code == "required":
        return _("Fill in this field.") if in_group else _("Answer this question.")
    if code == "too_long":
        return _(
            "Use %(max)s characters or fewer. You have %(length)s.",
            max=params["max"],
            length=params["length"],
        )
    if code == "not_a_date":
        return _("Enter a real date, for example %(example)s.", example=_date("2026-03-14"))
    if code == "date_before_lookback":
        return _(
            "This date is before %(start)s, when work for this cycle could start. "
            "Check the year, or use work done on or after that date.",
            start=_date(params["start"]),
        )
    if code == "date_in_future":
        return _("This date is in the future. Enter the date it happened.")
    if code == "not_a_number":
        return _("Enter a number, like 25.")
    if code == "not_whole":
        return _("Enter a whole number, like 25.")
    if code == "below_min":
        return _("Enter %(min)s or more.", min=params["min"])
    if code == "above_max":
        return _("Enter %(max)s or less.", max=params["max"])
    if code == "unknown_choice":
        return _("Choose one of the options shown.")
    if code == "too_few_rows":
        return ngettext(
            "Add at least %(num)s entry.", "Add at least %(num)s entries.", params["min"]
        )
    if code == "too_many_rows":
        return ngettext("Use at most %(num)s entry.", "Use at most %(num)s entries.", params["max"])
    if code == "response_needed":
        return _("Say what you changed, then check “Done”.")
    if code == "evidence_missing":
        return ngettext(
            "Upload at least %(num)s file as evidence for this step.",
            "Upload at least %(num)s files as evidence for this step.",
            params.get("min", 1),
        )
    if code in _RULE_MESSAGES:
        return _RULE_MESSAGES[code](params)
    return _("Check this answer.")


def _role(params: dict[str, Any]) -> str:
    role = params["role"]
    return role.get(get_locale_language()) if hasattr(role, "get") else str(role)


def _sessions_short(params: dict[str, Any]) -> str:
    return ngettext(
        "List every session of the series: %(num)s session is needed, %(have)s listed.",
        "List every session of the series: %(num)s sessions are needed, %(have)s listed.",
        params["needed"],
        have=params["have"],
    )


def _role_short(params: dict[str, Any]) -> str:
    return ngettext(
        "The delegation needs %(num)s person in the role “%(role)s” who attended all "
        "%(sessions)s sessions. It has %(have)s.",
        "The delegation needs %(num)s people in the role “%(role)s” who attended all "
        "%(sessions)s sessions. It has %(have)s.",
        params["needed"],
        role=_role(params),
        sessions=params["sessions"],
        have=params["have"],
    )


def _member_short(params: dict[str, Any]) -> str:
    return _(
        "%(name)s (%(role)s) attended %(attended)s of the %(sessions)s sessions.",
        name=params["name"],
        role=_role(params),
        attended=params["attended"],
        sessions=params["sessions"],
    )


# The rules of actions 1.2 and 1.3 (domain.action_rules) in words.
_RULE_MESSAGES = {
    "training_sessions_short": _sessions_short,
    "delegation_role_short": _role_short,
    "member_sessions_short": _member_short,
}


def rule_notes(progress: Any) -> list[str]:
    """The sentences of a step's rule gaps (domain.action_rules), for the step page's meter."""
    return [
        _RULE_MESSAGES[missing.code](missing.params)
        for missing in progress.missing
        if missing.code in _RULE_MESSAGES
    ]


def start_refused_message(code: str, params: dict[str, Any]) -> str:
    if code == "no_action":
        return _("Choose the action this Equity Toolkit is for.")
    if code == "is_equity_action":
        return _(
            "Action 1.1 is the equity process itself. Choose another action that your town "
            "is doing, and apply the process to it."
        )
    if code == "not_in_catalog":
        return _(
            "%(action)s is not in the %(year)s action catalog used by this cycle. "
            "Choose an action from the list.",
            action=params["action"],
            year=params["year"],
        )
    if code == "retired":
        return _(
            "%(action)s is retired from the catalog: the program no longer offers it. "
            "Choose another action from the list.",
            action=params["action"],
        )
    if code == "already_paired":
        return _(
            "Your town already has an Equity Toolkit for %(action)s in this cycle. "
            "One action counts once: continue that toolkit, or choose another action.",
            action=params["action"],
        )
    if code == "not_confirmed":
        return _(
            "Confirm that this action is part of your town's certification submission this cycle."
        )
    return _("This toolkit could not be started.")


def field_anchor(path: str) -> str:
    """The HTML id of the field a path names: ``groups.2.name`` -> ``q-groups-2-name``."""
    return "q-" + path.replace(".", "-") if path else "evidence"
