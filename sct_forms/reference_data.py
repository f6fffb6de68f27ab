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
from sct_forms.i18n import gettext as _
from sct_forms.models import Action, Category, Cycle, Municipality

ACTION_NUMBER = re.compile(r"^[0-9]{1,2}\.[0-9]{1,2}$")
CATEGORY_NUMBER = re.compile(r"^[0-9]{1,2}$")
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
    """A catalog file with problems; ``problems`` lists each as 'Line N: what is wrong.'."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


TITLE_LIMIT = 200  # the length of Action.title
# Spreadsheet programs run a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@")
# Every control code (line breaks included): a title is one line of plain text.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _tiers(text: str) -> list[str]:
    return [t.strip().lower() for t in text.split(",") if t.strip()]


def _row_problems(row: dict, categories: set[int], seen: dict[str, int]) -> list[str]:
    """What is wrong with one row, each in a sentence (empty when the row is good)."""
    if None in row:
        return [_("this line has more values than the header has columns.")]
    number = (row.get("number") or "").strip()
    title = (row.get("title") or "").strip()
    category_text = (row.get("category_number") or "").strip()
    if not ACTION_NUMBER.match(number):
        return [_('the action number "%(number)s" is not like 3.4.', number=number[:20])]
    problems = []
    if number in seen:
        problems.append(
            _("action %(number)s is already on line %(line)s.", number=number, line=seen[number])
        )
    if not title:
        problems.append(_("action %(number)s has no title.", number=number))
    elif len(title) > TITLE_LIMIT:
        problems.append(
            _(
                "the title of action %(number)s has %(length)s characters; the limit is %(max)s.",
                number=number,
                length=len(title),
                max=TITLE_LIMIT,
            )
        )
    elif _CONTROL.search(title):
        problems.append(
            _(
                "the title of action %(number)s has a line break or an invisible control "
                "character. Write it on one line.",
                number=number,
            )
        )
    elif title.startswith(_FORMULA_START):
        problems.append(
            _(
                'the title of action %(number)s starts with "%(sign)s", which spreadsheet '
                "programs run as a formula. Start it with a word.",
                number=number,
                sign=title[0],
            )
        )
    if not category_text:
        problems.append(_("action %(number)s has no category number.", number=number))
    elif not CATEGORY_NUMBER.match(category_text) or int(category_text) not in categories:
        problems.append(_("the category %(category)s does not exist.", category=category_text[:20]))
    elif number.split(".")[0] != category_text:
        problems.append(
            _(
                "action %(number)s does not belong to category %(category)s.",
                number=number,
                category=category_text,
            )
        )
    unknown = [t for t in _tiers(row.get("required_for") or "") if t not in KNOWN_TIERS]
    if unknown:
        problems.append(
            _(
                "required_for names %(tiers)s; it may only list bronze, silver and gold, "
                "separated by commas.",
                tiers=", ".join(f'"{t[:20]}"' for t in unknown[:3]),
            )
        )
    return problems


def _line_problem(line: int, problem: str) -> str:
    return _("Line %(line)s: %(problem)s", line=line, problem=problem)


def parse_action_rows(stream: TextIO) -> list[ActionRow]:
    """Read and check every row of an action catalog CSV; raise with all problems found.

    The web upload (admin.catalog) and the ``import-actions`` command both read files here.
    """
    reader = csv.DictReader(stream)
    try:
        fieldnames = [name.strip() for name in (reader.fieldnames or [])]
    except csv.Error as error:
        raise CatalogImportError([_line_problem(1, _unreadable(error))]) from error
    reader.fieldnames = fieldnames
    missing = [c for c in ACTION_COLUMNS[:3] if c not in fieldnames]
    if missing:
        raise CatalogImportError(
            [
                _line_problem(
                    1,
                    _(
                        "the header must name the columns %(columns)s; missing: %(missing)s.",
                        columns=", ".join(ACTION_COLUMNS),
                        missing=", ".join(missing),
                    ),
                )
            ]
        )
    categories = set(db.session.scalars(select(Category.number)))
    rows: list[ActionRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            # The csv module cannot go on after such an error: report it and stop reading.
            problems.append(_line_problem(reader.line_num, _unreadable(error)))
            break
        line = reader.line_num
        row_problems = _row_problems(row, categories, seen)
        number = (row.get("number") or "").strip() if None not in row else ""
        if number and number not in seen and ACTION_NUMBER.match(number):
            seen[number] = line
        if row_problems:
            problems.extend(_line_problem(line, problem) for problem in row_problems)
            continue
        rows.append(
            ActionRow(
                line,
                number,
                row["title"].strip(),
                int(row["category_number"]),
                ",".join(_tiers(row.get("required_for") or "")),
            )
        )
    if not rows and not problems:
        problems.append(_("The file has no actions."))
    if problems:
        raise CatalogImportError(problems)
    return rows


def _unreadable(error: csv.Error) -> str:
    return _("this line cannot be read as CSV (%(reason)s).", reason=str(error)[:80])


@dataclass
class ActionChange:
    action: Action
    before: dict[str, str | int]
    after: dict[str, str | int]


@dataclass
class CatalogPlan:
    """What importing rows into a catalog year would change, before anything is written."""

    catalog_year: int
    added: list[ActionRow]
    changed: list[ActionChange]
    # Actions of the year that the file leaves out: kept (retire them by hand if they should go).
    not_in_file: list[Action]
    unchanged: int

    @property
    def change_count(self) -> int:
        return len(self.added) + len(self.changed)

    def fingerprint(self) -> list:
        """The changes as plain values, for telling whether two plans are the same."""
        added = [[r.number, r.title, r.category_number, r.required_for] for r in self.added]
        changed = [[c.action.id, c.before, c.after] for c in self.changed]
        return [added, changed]


def _values(action_category_number: int, title: str, required_for: str) -> dict[str, str | int]:
    return {"title": title, "category": action_category_number, "required_for": required_for}


def plan_import(rows: list[ActionRow], catalog_year: int) -> CatalogPlan:
    """Compare checked rows with the catalog of ``catalog_year``; nothing is written."""
    existing = {
        a.number: a
        for a in db.session.scalars(select(Action).where(Action.catalog_year == catalog_year))
    }
    added, changed, unchanged = [], [], 0
    for row in rows:
        action = existing.get(row.number)
        if action is None:
            added.append(row)
            continue
        before = _values(action.category.number, action.title, action.required_for)
        after = _values(row.category_number, row.title, row.required_for)
        if before == after:
            unchanged += 1
        else:
            changed.append(ActionChange(action, before, after))
    numbers = {row.number for row in rows}
    not_in_file = sorted(
        (a for number, a in existing.items() if number not in numbers), key=lambda a: a.sort_key
    )
    return CatalogPlan(catalog_year, added, changed, not_in_file, unchanged)


def apply_plan(plan: CatalogPlan) -> list[Action]:
    """Write a plan's additions and changes (the caller commits); returns the added actions."""
    categories = {c.number: c for c in db.session.scalars(select(Category))}
    added = []
    for row in plan.added:
        action = Action(
            catalog_year=plan.catalog_year,
            number=row.number,
            title=row.title,
            category=categories[row.category_number],
            required_for=row.required_for,
        )
        db.session.add(action)
        added.append(action)
    for change in plan.changed:
        change.action.title = str(change.after["title"])
        change.action.category = categories[int(change.after["category"])]
        change.action.required_for = str(change.after["required_for"])
    db.session.flush()
    return added


def import_actions(stream: TextIO, catalog_year: int) -> tuple[int, int]:
    """Add or update the catalog of ``catalog_year`` from CSV; all rows or none.

    Returns (added, updated). The caller commits; on error nothing has been added.
    """
    plan = plan_import(parse_action_rows(stream), catalog_year)
    apply_plan(plan)
    return len(plan.added), len(plan.changed)


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
