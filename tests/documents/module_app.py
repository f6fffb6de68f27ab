"""An app with a database of its own for one test module: documents made once, checked by many.

A rendered PDF costs about a second; when several tests check different things of one document,
a module-scoped fixture builds its town and toolkits here and renders the document once. The
function-scoped ``app`` fixture (tests/conftest.py) cannot serve a module: its database is new
for every test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from flask import Flask

from sct_forms.domain.tiers import DEFAULT_TIER_RULES
from sct_forms.extensions import db
from sct_forms.models import Action, Category, Cycle
from tests.conftest import make_app


@contextmanager
def module_app(folder: Path, schema: Path | None) -> Iterator[Flask]:
    """A test app on a SQLite file of its own, a copy of ``schema`` (or built when None).

    Always SQLite, even when the rest of the suite runs on PostgreSQL: the ``app`` fixture
    empties the PostgreSQL tables after every test, which would take this app's rows with them.
    Building the app makes it the job queue's app; the ``app`` fixture takes the queue back
    for each test.
    """
    database = folder / "documents.sqlite3"
    if schema is not None:
        shutil.copyfile(schema, database)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCT_INSTANCE_PATH", str(folder / "instance"))
        for key in ("SECRET_KEY", "DATABASE_URL", "MAIL_SERVER"):
            patch.delenv(key, raising=False)
        application = make_app(folder, DATABASE_URL=f"sqlite:///{database}")
    if schema is None:
        with application.app_context():
            db.create_all()
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def add_cycle() -> Cycle:
    """The cycle of tests/conftest.py's ``cycle`` fixture: 2026 Fall, 2024 catalog."""
    current = Cycle(
        name="2026 Fall",
        opens_on=date(2026, 7, 1),
        submission_deadline=date(2026, 12, 31),
        lookback_start=date(2023, 7, 1),
        catalog_year=2024,
        tier_rules_data=DEFAULT_TIER_RULES,
    )
    db.session.add(current)
    db.session.commit()
    return current


def add_catalog() -> dict[str, Action]:
    """The catalog of tests/conftest.py's ``catalog`` fixture: 1.1-1.3, 3.4, 3.12, 5.4, 5.7."""
    categories = {
        1: Category(number=1, name="Inclusive and Equitable Community Impacts"),
        3: Category(number=3, name="Well-Stewarded Land and Natural Resources"),
        5: Category(number=5, name="Dynamic and Resilient Planning"),
    }
    actions = {}
    for number, title, required in [
        ("1.1", "Optimize for Equity", "bronze,silver,gold"),
        ("1.2", "Participate in Equity Training", "gold"),
        ("1.3", "Develop and Adopt a Statement on Equity", "gold"),
        ("3.4", "Develop an Open Space Plan", ""),
        ("3.12", "Enhance Pollinator Pathways", ""),
        ("5.4", "Assess Climate Vulnerability", ""),
        ("5.7", "Plan for Long-Term Recovery", ""),
    ]:
        category = categories[int(number.split(".")[0])]
        actions[number] = Action(
            catalog_year=2024,
            number=number,
            title=title,
            category=category,
            required_for=required,
        )
    db.session.add_all(actions.values())
    db.session.commit()
    return actions
