"""The forms a town fills in, each read from its own versioned definition.

* The Equity Toolkit (action 1.1) is applied to another action of the catalog, the paired action;
  a town has one per paired action and cycle.
* The record of action 1.2 (equity training) and of action 1.3 (a statement on equity) are
  actions in their own right: one per town and cycle, their paired action is the action itself.

All three use the same form engine, the same answers and evidence, and the same review workflow;
only the definition and the few rules the definition cannot state (domain.action_rules) differ.
"""

from __future__ import annotations

import enum


class Form(enum.StrEnum):
    """Which definition a record is read with; the value names the definition's YAML files."""

    TOOLKIT = "equity-toolkit"
    TRAINING = "equity-training"
    STATEMENT = "equity-statement"


#: The catalog action a form documents by itself; the toolkit documents a paired action instead.
OWN_ACTION: dict[Form, str] = {Form.TRAINING: "1.2", Form.STATEMENT: "1.3"}

#: Forms that are actions in their own right, in the order the town page lists them.
ACTION_FORMS: tuple[Form, ...] = (Form.TRAINING, Form.STATEMENT)

FORMS: tuple[Form, ...] = tuple(Form)


def form_of(value: str) -> Form:
    """The Form named by ``value``; ValueError for anything else."""
    return Form(value)


def tier_item_kind(form: str) -> str:
    """How the tier rules count a record of ``form``: "toolkit" or "action" (domain.tiers)."""
    return "toolkit" if form == Form.TOOLKIT else "action"


def form_for_action(number: str) -> Form | None:
    """The form that documents action ``number`` by itself (1.2, 1.3), or None."""
    for form, own in OWN_ACTION.items():
        if own == number:
            return form
    return None
