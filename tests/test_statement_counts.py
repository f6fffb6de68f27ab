"""How many SQL statements the busiest requests issue: a few, and as many for eight towns or
toolkits as for two, so that no page issues a statement per town, per toolkit or per step.

Counted, not timed: a statement per row is what makes a page slow as the program grows, and the
count is the same on every machine. Each test warms the request once (what is cached once per
app), measures it on the smaller data set, grows the data and measures it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from sct_forms.domain.forms import ACTION_FORMS, OWN_ACTION, Form
from sct_forms.domain.roles import Role
from sct_forms.domain.workflow import State
from sct_forms.extensions import db
from sct_forms.models import (
    Action,
    Category,
    Cycle,
    Evidence,
    Municipality,
    Toolkit,
    User,
    utcnow,
)
from tests.conftest import PASSWORD, make_town, make_user
from tests.sql_helpers import counted_statements
from tests.toolkit_helpers import (
    fill_completely,
    fill_record_completely,
    make_record,
    make_toolkit,
)

HX = {"HX-Request": "true"}

# The most statements each request may issue, at every size; a new one is a choice to make here.
# An autosave: the signed-in person; the toolkit with its cycle and steps; the guarded UPDATE of
# the step; the toolkit's "last edited"; the toolkit's latest audit records, then the one
# brought up to date (or added); the saved step's files, for its meter.
AUTOSAVE_MAX = 7
# The town page: the person, the town, the cycles, the toolkits with their steps and files, the
# records of 1.2 and 1.3 with theirs, the catalog's 1.2 and 1.3, the tiers, open requests.
TOWN_PAGE_MAX = 13
QUEUE_MAX = 10
STATEWIDE_MAX = 8

SMALL, LARGE = 2, 8




def statements_of(client: FlaskClient, method: str, url: str, **kwargs) -> list[str]:  # noqa: ANN003
    """The statements of one request, which must succeed."""
    with counted_statements() as statements:
        response = client.open(url, method=method, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return statements


def signed_in(app, user: User) -> FlaskClient:
    client = app.test_client()
    response = client.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303
    return client


@dataclass
class Program:
    """Towns, each with its own staff member and a toolkit submitted for review: every other
    one is in review, held by one of two reviewers in turn."""

    cycle: Cycle
    actions: list[Action]
    reviewers: list[User]
    password_hash: str
    towns: list[Municipality]

    def grow_to(self, count: int) -> None:
        while len(self.towns) < count:
            n = len(self.towns)
            town = make_town(f"Town {n}", f"9{n:08d}")
            person = make_user(Role.STAFF, f"staff{n}@town{n}.test", self.password_hash, town)
            toolkit = make_toolkit(town, self.cycle, self.actions[n % len(self.actions)], person)
            fill_completely(toolkit, person)
            toolkit.submitted_at = utcnow()
            toolkit.revision_count = 1
            toolkit.state = State.SUBMITTED
            if n % 2:
                toolkit.state = State.IN_REVIEW
                toolkit.assigned_reviewer_id = self.reviewers[n // 2 % 2].id
            db.session.commit()
            self.towns.append(town)


def more_actions(count: int) -> list[Action]:
    """``count`` actions of category 3 besides the small catalog's, to pair toolkits with."""
    category = db.session.query(Category).filter_by(number=3).one()
    actions = [
        Action(catalog_year=2024, number=f"3.{50 + n}", title=f"Action {n}", category=category)
        for n in range(count)
    ]
    db.session.add_all(actions)
    db.session.commit()
    return actions


@pytest.fixture
def program(cycle, catalog, password_hash, reviewer_user, second_reviewer_user) -> Program:
    actions = [catalog["3.4"], catalog["3.12"], catalog["5.4"], catalog["5.7"]]
    reviewers = [reviewer_user, second_reviewer_user]
    return Program(cycle, actions, reviewers, password_hash, towns=[])


def add_file(toolkit: Toolkit, step_key: str, user: User) -> None:
    """A PDF's evidence row on one step (no stored file behind it: only counts are read)."""
    number = db.session.query(Evidence).count()
    db.session.add(
        Evidence(
            toolkit=toolkit,
            municipality_id=toolkit.municipality_id,
            step_key=step_key,
            title=f"Flyer {number}",
            kind="document",
            mime_type="application/pdf",
            display_name=f"flyer-{number}.pdf",
            size=10,
            sha256=f"{number:064d}",
            storage_name=f"counted-{number}",
            uploaded_by_id=user.id,
        )
    )
    db.session.commit()


def assert_constant(name: str, small: list[str], large: list[str], bound: int) -> None:
    assert len(small) == len(large), (
        f"{name}: {len(small)} statements with {SMALL}, {len(large)} with {LARGE}",
        small,
        large,
    )
    assert len(large) <= bound, (f"{name}: {len(large)} statements, at most {bound}", large)


# --- autosave ------------------------------------------------------------------------------------


def autosave(
    client: FlaskClient, toolkit: Toolkit, text: str, version: int, step: str = "outreach"
) -> list[str]:
    """The statements of an autosave of ``step`` (its one optional text field) from ``version``."""
    url = f"/toolkits/{toolkit.id}/steps/{step}/autosave"
    field = {"outreach": "accommodations_detail", "outcomes": "report_back_date"}[step]
    with counted_statements() as statements:
        response = client.post(url, data={field: text, "base_version": version}, headers=HX)
    assert response.status_code == 200, response.get_data(as_text=True)
    match = re.search(r'name="base_version" value="(\d+)"', response.get_data(as_text=True))
    assert match and int(match.group(1)) == version + 1
    return statements


def test_an_autosave_is_a_few_statements_however_many_toolkits_and_files(
    app, cycle, catalog, staff_user
):
    """The first autosave of a step adds its audit record, the next ones update it: both are
    few, whether the town has two toolkits or eight and the step one file or nine."""
    town = staff_user.municipality
    toolkits = [make_toolkit(town, cycle, catalog[n], staff_user) for n in ("3.4", "3.12")]
    small = toolkits[0]
    fill_completely(small, staff_user)
    client = signed_in(app, staff_user)
    autosave(client, small, "2026-05-01", 1, step="outcomes")  # what is cached once per app

    small_first = autosave(client, small, "Interpreters at every meeting", 1)
    small_next = autosave(client, small, "Interpreters and childcare at every meeting", 2)

    for action in more_actions(LARGE - SMALL):
        toolkits.append(make_toolkit(town, cycle, action, staff_user))
    large = toolkits[-1]
    fill_completely(large, staff_user)
    for _ in range(LARGE):
        add_file(large, "outreach", staff_user)
    large_first = autosave(client, large, "Interpreters at every meeting", 1)
    large_next = autosave(client, large, "Interpreters and childcare at every meeting", 2)

    assert_constant("first autosave of a step", small_first, large_first, AUTOSAVE_MAX)
    assert_constant("next autosave of a step", small_next, large_next, AUTOSAVE_MAX)


# --- pages ---------------------------------------------------------------------------------------


def test_the_town_page_issues_as_many_statements_for_eight_toolkits_as_for_two(
    app, cycle, catalog, staff_user, password_hash
):
    town = staff_user.municipality
    actions = [catalog["3.4"], catalog["3.12"], *more_actions(LARGE - SMALL)]
    colleague = make_user(Role.STAFF, "kim.staff@windham.test", password_hash, town)

    def add_toolkits(count: int) -> None:
        """More toolkits, each with its answers and files, edited last by different people."""
        for _ in range(count):
            done = db.session.query(Toolkit).filter_by(form=Form.TOOLKIT).count()
            person = (staff_user, colleague)[done % 2]
            toolkit = make_toolkit(town, cycle, actions[done], person)
            fill_completely(toolkit, person)
            add_file(toolkit, "context", person)

    add_toolkits(SMALL)
    for form in ACTION_FORMS:  # the town's records of actions 1.2 and 1.3 are listed too
        record = make_record(town, cycle, catalog[OWN_ACTION[form]], form, colleague)
        fill_record_completely(record, colleague)
    client = signed_in(app, staff_user)
    url = f"/towns/{town.slug}"
    statements_of(client, "GET", url)
    small = statements_of(client, "GET", url)
    add_toolkits(LARGE - SMALL)
    large = statements_of(client, "GET", url)

    assert_constant("town page", small, large, TOWN_PAGE_MAX)


@pytest.mark.parametrize(
    ("label", "url", "bound"),
    [
        ("review queue", "/review/queue", QUEUE_MAX),
        ("statewide page", "/statewide/", STATEWIDE_MAX),
    ],
)
def test_a_reviewers_page_issues_as_many_statements_for_eight_towns_as_for_two(
    app, program, reviewer_user, label, url, bound
):
    program.grow_to(SMALL)
    client = signed_in(app, reviewer_user)
    statements_of(client, "GET", url)
    small = statements_of(client, "GET", url)
    program.grow_to(LARGE)
    large = statements_of(client, "GET", url)

    assert_constant(label, small, large, bound)
