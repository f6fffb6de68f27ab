"""Loading the program's reference data: towns, categories, the action catalog, cycles.

Every loader is idempotent: it adds what is missing and leaves what is there.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import TextIO

from sqlalchemy import select

from sct_forms.domain.tiers import DEFAULT_TIER_RULES
from sct_forms.extensions import db
from sct_forms.models import Action, Category, Cycle, Municipality

ACTION_NUMBER = re.compile(r"^\d{1,2}\.\d{1,2}$")
KNOWN_TIERS = {"bronze", "silver", "gold"}
ACTION_COLUMNS = ("number", "title", "category_number", "required_for")


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _package_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("sct_forms.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def load_municipalities() -> int:
    existing = set(db.session.scalars(select(Municipality.fips)))
    added = 0
    for row in _package_csv("municipalities.csv"):
        if row["fips_2022"] in existing:
            continue
        db.session.add(
            Municipality(
                name=row["name"],
                slug=slugify(row["name"]),
                county=row["county"],
                planning_region=row["planning_region"],
                council_of_governments=row["council_of_governments"],
                fips=row["fips_2022"],
            )
        )
        added += 1
    return added


def load_categories() -> int:
    existing = set(db.session.scalars(select(Category.number)))
    added = 0
    for row in _package_csv("categories.csv"):
        if int(row["number"]) not in existing:
            db.session.add(Category(number=int(row["number"]), name=row["name"]))
            added += 1
    db.session.flush()
    return added


@dataclass
class ActionRow:
    line: int
    number: str
    title: str
    category_number: int
    required_for: str


class CatalogImportError(ValueError):
    """A catalog file with problems; ``problems`` lists each as 'line N: what is wrong'."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _row_problems(row: dict, categories: set[int], seen: set[str]) -> list[str]:
    if None in row:
        return ["more values than columns"]
    number = (row.get("number") or "").strip()
    title = (row.get("title") or "").strip()
    category_text = (row.get("category_number") or "").strip()
    tiers = [t.strip().lower() for t in (row.get("required_for") or "").split(",") if t.strip()]
    if not ACTION_NUMBER.match(number):
        return [f"action number {number!r} is not like 3.4"]
    problems = []
    if number in seen:
        problems.append(f"action {number} appears twice")
    if not title:
        problems.append(f"action {number} has no title")
    elif len(title) > 200:
        problems.append(f"the title of action {number} is over 200 characters")
    if not category_text.isdigit() or int(category_text) not in categories:
        problems.append(f"category {category_text!r} is not a known category")
    elif number.split(".")[0] != category_text:
        problems.append(f"action {number} does not belong to category {category_text}")
    unknown = [t for t in tiers if t not in KNOWN_TIERS]
    if unknown:
        problems.append(f"unknown tier in required_for: {', '.join(unknown)}")
    return problems


def parse_action_rows(stream: TextIO) -> list[ActionRow]:
    """Read and check every row of an action catalog CSV; raise with all problems found."""
    reader = csv.DictReader(stream)
    missing = [c for c in ACTION_COLUMNS[:3] if c not in (reader.fieldnames or [])]
    if missing:
        raise CatalogImportError(
            [
                f"line 1: the header must name the columns {', '.join(ACTION_COLUMNS)}; "
                f"missing: {', '.join(missing)}"
            ]
        )
    categories = set(db.session.scalars(select(Category.number)))
    rows: list[ActionRow] = []
    problems: list[str] = []
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        row_problems = _row_problems(row, categories, seen)
        if row_problems:
            problems.extend(f"line {line}: {problem}" for problem in row_problems)
            continue
        number = row["number"].strip()
        seen.add(number)
        tiers = [t.strip().lower() for t in (row.get("required_for") or "").split(",") if t.strip()]
        rows.append(
            ActionRow(
                line, number, row["title"].strip(), int(row["category_number"]), ",".join(tiers)
            )
        )
    if not rows and not problems:
        problems.append("the file has no actions")
    if problems:
        raise CatalogImportError(problems)
    return rows


def import_actions(stream: TextIO, catalog_year: int) -> tuple[int, int]:
    """Add or update the catalog of ``catalog_year`` from CSV; all rows or none.

    Returns (added, updated). The caller commits; on error nothing has been added.
    """
    rows = parse_action_rows(stream)
    categories = {c.number: c for c in db.session.scalars(select(Category))}
    existing = {
        a.number: a
        for a in db.session.scalars(select(Action).where(Action.catalog_year == catalog_year))
    }
    added = updated = 0
    for row in rows:
        category = categories[row.category_number]
        action = existing.get(row.number)
        if action is None:
            db.session.add(
                Action(
                    catalog_year=catalog_year,
                    number=row.number,
                    title=row.title,
                    category=category,
                    required_for=row.required_for,
                )
            )
            added += 1
        elif (action.title, action.category_id, action.required_for) != (
            row.title,
            category.id,
            row.required_for,
        ):
            action.title, action.category, action.required_for = (
                row.title,
                category,
                row.required_for,
            )
            updated += 1
    return added, updated


def load_2024_catalog() -> int:
    text = resources.files("sct_forms.data").joinpath("actions-2024.csv").read_text("utf-8")
    added, _updated = import_actions(io.StringIO(text), 2024)
    return added


def cycle_for_date(today: date) -> dict:
    """The default cycle that contains ``today``: a spring and a fall window each year.

    Dates are a starting point only; program staff set the real ones for each cycle.
    """
    if today.month <= 6:
        name, opens, deadline = (
            f"{today.year} Spring",
            date(today.year, 1, 1),
            date(today.year, 6, 30),
        )
    else:
        name, opens, deadline = (
            f"{today.year} Fall",
            date(today.year, 7, 1),
            date(today.year, 12, 31),
        )
    return {
        "name": name,
        "opens_on": opens,
        "submission_deadline": deadline,
        "lookback_start": opens.replace(year=opens.year - 3),
        "catalog_year": 2024,
        "tier_rules_data": DEFAULT_TIER_RULES,
    }


def ensure_cycle(today: date) -> bool:
    """Add the cycle for ``today`` unless a cycle of that name exists. True when added."""
    values = cycle_for_date(today)
    if db.session.scalar(select(Cycle).where(Cycle.name == values["name"])):
        return False
    db.session.add(Cycle(**values))
    return True


def seed(today: date) -> dict[str, int]:
    """Load all reference data; a second run adds nothing."""
    counts = {
        "municipalities": load_municipalities(),
        "categories": load_categories(),
        "actions": load_2024_catalog(),
        "cycles": int(ensure_cycle(today)),
    }
    db.session.commit()
    return counts
