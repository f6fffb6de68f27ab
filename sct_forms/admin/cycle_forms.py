"""The cycle form: dates, catalog year, tier rules and the training rule of action 1.2.

The form reads what was typed (dates, whole numbers, action numbers); the rules about how
the values fit together are the service's (admin.cycles), whose problems ``show_problems``
puts beside their fields in plain words.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from flask_babel import format_date
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError
from wtforms.widgets import TextInput

from sct_forms.admin.cycles import CycleSettings, Problem
from sct_forms.domain.action_rules import DEFAULT_TRAINING_RULE
from sct_forms.domain.tiers import TIER_ORDER
from sct_forms.forms import TOO_LONG, ButtonForm, NoControlCharacters, WholeNumberField, tidy
from sct_forms.i18n import gettext as _
from sct_forms.i18n import lazy_gettext as _l
from sct_forms.inputs import bounded_int

__all__ = ["TRAINING_ROLES", "CycleForm", "show_problems"]

#: The delegation roles a cycle's rule for action 1.2 may ask for (the 1.2 form's choices).
TRAINING_ROLES = tuple(DEFAULT_TRAINING_RULE["roles"])
MAX_COUNT = 99


class PlainDateField(DateField):
    """A date typed as year-month-day (what a date input sends); anything else is a plain
    message, and the typed text comes back in the box."""

    def process_formdata(self, valuelist: list[str]) -> None:
        text = (valuelist[0] if valuelist else "").strip()
        if not text:
            self.data = None
            return
        try:
            self.data = datetime.strptime(text, "%Y-%m-%d").date()
        except ValueError:
            self.data = None
            raise ValueError(
                _l("Enter a date as year-month-day, for example 2027-01-15.")
            ) from None


class CountField(WholeNumberField):
    """A whole number typed with ASCII digits; anything else is a plain message. A text box
    (with a numeric keyboard): a number box would drop what it cannot read."""

    widget = TextInput()
    unreadable = _l("Enter a whole number, such as 3.")


def _count(label: Any) -> IntegerField:
    """A whole number from 0 to MAX_COUNT; empty is allowed here and judged by the caller."""
    message = _l("Enter a whole number from %(min)s to %(max)s.")
    return CountField(
        label,
        validators=[Optional(), NumberRange(min=0, max=MAX_COUNT, message=message)],
        render_kw={"inputmode": "numeric", "class": "input-short"},
    )


def _year(value: Any) -> int | None:
    """A catalog year as sent; anything else is None, which no choice matches."""
    try:
        return bounded_int(str(value))
    except ValueError:
        return None


def _numbers() -> StringField:
    return StringField(
        _l("Actions also required"),
        filters=[tidy],
        validators=[Length(max=200, message=TOO_LONG), NoControlCharacters()],
    )


class CycleForm(ButtonForm):
    name = StringField(
        _l("Name"),
        filters=[tidy],
        validators=[Length(max=60, message=TOO_LONG), NoControlCharacters()],
    )
    opens_on = PlainDateField(_l("Opening date"))
    submission_deadline = PlainDateField(_l("Submission deadline"))
    lookback_start = PlainDateField(_l("Lookback start"))
    catalog_year = SelectField(_l("Catalog year"), coerce=_year, validate_choice=False)
    bronze_actions = _count(_l("Different actions with an approved Equity Toolkit"))
    bronze_also = _numbers()
    silver_actions = _count(_l("Different actions with an approved Equity Toolkit"))
    silver_also = _numbers()
    gold_actions = _count(_l("Different actions with an approved Equity Toolkit"))
    gold_also = _numbers()
    training_elected_official = _count(_l("Elected officials"))
    training_municipal_staff = _count(_l("Municipal staff"))
    training_commissioner = _count(_l("Members of a board or commission"))
    training_sessions = _count(_l("Sessions each person attends"))
    release_on = PlainDateField(_l("Release date"))
    confirmation = StringField(
        _l("Type the cycle's name to confirm"),
        filters=[tidy],
        validators=[Length(max=200, message=TOO_LONG), NoControlCharacters()],
    )

    def __init__(self, years: list[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.catalog_year.choices = [(year, str(year)) for year in years]

    def validate_catalog_year(self, field: SelectField) -> None:
        if field.data not in dict(field.choices):
            raise ValidationError(_("Choose a catalog year from the list."))

    def fill(self, settings: CycleSettings) -> None:
        """Show ``settings`` in the boxes (a page not yet sent)."""
        self.name.data = settings.name
        self.opens_on.data = settings.opens_on
        self.submission_deadline.data = settings.submission_deadline
        self.lookback_start.data = settings.lookback_start
        self.catalog_year.data = settings.catalog_year
        self.release_on.data = settings.release_on
        rules = {rule.get("tier"): rule for rule in settings.tier_rules_data}
        for tier in TIER_ORDER:
            rule = rules.get(tier, {})
            self[f"{tier}_actions"].data = rule.get("distinct_actions")
            self[f"{tier}_also"].data = ", ".join(rule.get("also_required") or [])
        training = settings.training_rule_data
        if training is not None:
            roles = training.get("roles") or {}
            for role in TRAINING_ROLES:
                self[f"training_{role}"].data = roles.get(role)
            self.training_sessions.data = training.get("sessions")

    def settings(self) -> CycleSettings:
        """What was typed, as settings for the service to check."""
        tier_rules = [
            {
                "tier": tier,
                "distinct_actions": self[f"{tier}_actions"].data
                if self[f"{tier}_actions"].data is not None
                else 0,
                "also_required": _action_numbers(self[f"{tier}_also"].data or ""),
            }
            for tier in TIER_ORDER
        ]
        return CycleSettings(
            name=self.name.data or "",
            opens_on=self.opens_on.data,
            submission_deadline=self.submission_deadline.data,
            lookback_start=self.lookback_start.data,
            catalog_year=self.catalog_year.data,
            tier_rules_data=tier_rules,
            training_rule_data=self._training_rule(),
            release_on=self.release_on.data,
        )

    def _training_rule(self) -> dict[str, Any] | None:
        """None (the program's rule) when every box is empty."""
        roles = {role: self[f"training_{role}"].data for role in TRAINING_ROLES}
        sessions = self.training_sessions.data
        if sessions is None and all(count is None for count in roles.values()):
            return None
        return {
            "roles": {role: count for role, count in roles.items() if count},
            "sessions": sessions,
        }

    def missing_counts(self) -> None:
        """An empty tier box is a problem beside it (0 must be typed, not left out)."""
        for tier in TIER_ORDER:
            f = self[f"{tier}_actions"]
            if f.data is None and not f.errors:
                f.errors = [_("Enter how many different actions this tier needs, 0 or more.")]


def _action_numbers(text: str) -> list[str]:
    """Action numbers typed with commas, spaces or "and" between them."""
    parts = re.split(r"[,;\s]+|\band\b|\by\b", text)
    return [part for part in parts if part]


def _problem_text(problem: Problem) -> str:
    """A problem in plain words, one message per code."""
    values = problem.values
    code = problem.code
    if code == "name_missing":
        return _("Enter a name for the cycle, for example 2027 Spring.")
    if code == "name_taken":
        return _("A cycle named %(name)s already exists. Choose another name.", name=values["name"])
    if code == "date_missing":
        return _("Enter this date.")
    if code == "catalog_unknown":
        return _("Choose a catalog year from the list.")
    if code == "deadline_not_after_opening":
        return _("The submission deadline must be after the opening date.")
    if code == "lookback_after_opening":
        return _("The lookback start must be on or before the opening date.")
    if code == "release_before_deadline":
        return _("The release date must be on or after the submission deadline, or left empty.")
    if code == "new_cycle_not_future":
        return _(
            "A new cycle must open after today (%(today)s). Choose a later opening date.",
            today=_format(values["today"]),
        )
    if code == "deadline_passed":
        return _(
            "The submission deadline must be today (%(today)s) or later: a cycle whose "
            "deadline has passed can no longer change.",
            today=_format(values["today"]),
        )
    if code == "running_cannot_reopen_later":
        return _(
            "This cycle is running: its opening date must stay on or before today "
            "(%(today)s), since towns already work in it.",
            today=_format(values["today"]),
        )
    if code == "running_catalog_fixed":
        return _(
            "This cycle is running: its catalog year cannot change, since towns' records "
            "use its actions."
        )
    if code == "not_an_action_number":
        return _(
            "%(number)s is not an action number. Write numbers like 1.2, separated by commas.",
            number=values["number"],
        )
    if code == "action_not_in_catalog":
        return _(
            "Action %(number)s is not in the %(year)s catalog.",
            number=values["number"],
            year=values["year"],
        )
    if code == "fewer_than_lower_tier":
        return _(
            "This tier needs at least as many actions as %(tier)s.",
            tier=_tier_name(values["lower"]),
        )
    if code == "tier_missing":
        return _("Enter the rules of Bronze, Silver and Gold.")
    if code == "training_rule":
        return _(
            "Enter how many sessions count (1 or more) and at least one role with 1 person "
            "or more, or leave every box of the training rule empty for the program's rule."
        )
    if code == "tier_rules":
        return _("Enter how many different actions each tier needs, 0 or more.")
    return code


def _tier_name(tier: str) -> str:
    return {"bronze": _("Bronze"), "silver": _("Silver"), "gold": _("Gold")}.get(tier, tier)


def _format(value: date) -> str:
    return format_date(value, "long")


def show_problems(form: CycleForm, problems: list[Problem]) -> None:
    """Each problem beside its field, in the order the form shows them."""
    for problem in problems:
        target = form[problem.field] if problem.field in form else form.name
        text = _problem_text(problem)
        if text not in target.errors:
            target.errors = [*target.errors, text]
