"""SQL statements per request, at two sizes of the program, to show which pages grow with it.

Size N: the home town has N toolkits (one a draft, the others submitted) and N - 1 other towns
have a submitted toolkit each, so the queue lists 2N - 2 toolkits, the town page N and the
statewide page N towns at work. Each page is asked twice as the person who uses it and the
second request's statements are counted (a SQLAlchemy ``before_cursor_execute`` listener).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event

from bench.browser import AppBrowser
from bench.instance import BenchError, Instance
from bench.options import Options
from bench.report import Figure, progress
from bench.saving import StepSaver
from bench.world import World, light_uploads
from sct_forms.domain.roles import Role
from sct_forms.extensions import db
from sct_forms.toolkits import services as toolkit_services

GROUP = "sql"
SIZES = (3, 30)


class StatementCounter:
    """Counts the statements an engine sends to the database."""

    def __init__(self, engine) -> None:  # noqa: ANN001 - a SQLAlchemy Engine
        self.engine = engine
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: object) -> None:
        self.count += 1

    def during(self, action: Callable[[], object]) -> int:
        before = self.count
        action()
        return self.count - before

    def remove(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


@dataclass(frozen=True)
class Page:
    name: str
    label: str
    ask: Callable[[], int]  # makes the request, returns its status


class Program:
    """The home town, the other towns and the people who look at them, grown to a size."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.reviewer = world.person(Role.REVIEWER)
        home = world.town(0)
        self.home_slug = home.slug
        self.staff = world.person(Role.STAFF, home)
        draft = world.toolkit(home, self.staff, world.action(0), light_uploads())
        self.draft_id = draft.id
        self.draft_step = toolkit_services.definition_for(draft).steps[0].key
        self.home_submitted: list[int] = []
        self.other_towns = 0

    def grow_to(self, size: int) -> None:
        world = self.world
        home = world.town(0)
        staff = self.staff
        while len(self.home_submitted) < size - 1:
            action = world.action(len(self.home_submitted) + 1)
            toolkit = world.toolkit(home, staff, action, light_uploads(), submit=True)
            self.home_submitted.append(toolkit.id)
        while self.other_towns < size - 1:
            self.other_towns += 1
            town = world.town(self.other_towns)
            their_staff = world.person(Role.STAFF, town)
            world.toolkit(town, their_staff, world.action(0), light_uploads(), submit=True)


def _pages(program: Program, instance: Instance) -> list[Page]:
    reviewer = AppBrowser(instance.app).sign_in(program.reviewer.email)
    staff = AppBrowser(instance.app).sign_in(program.staff.email)
    saver = StepSaver(staff, program.draft_id, program.draft_step)
    saver.open_page()
    reviewed = program.home_submitted[0]

    def get(browser: AppBrowser, path: str) -> Callable[[], int]:
        return lambda: browser.get(path).status

    return [
        Page("sql.queue", "Review queue (reviewer)", get(reviewer, "/review/queue")),
        Page("sql.town", "Town page (town staff)", get(staff, f"/towns/{program.home_slug}")),
        Page("sql.step", "Step page (town staff)", get(staff, saver.page)),
        Page("sql.review", "Review page (reviewer)", get(reviewer, f"/review/toolkits/{reviewed}")),
        Page("sql.statewide", "Statewide page (reviewer)", get(reviewer, "/statewide/")),
        Page("sql.autosave", "Autosave of a step (town staff)", saver.act),
    ]


def _count(page: Page, counter: StatementCounter) -> tuple[int, int]:
    """(statements, status) of the page's second request."""
    page.ask()
    status = 0

    def ask() -> None:
        nonlocal status
        status = page.ask()

    statements = counter.during(ask)
    return statements, status


def run(options: Options) -> list[Figure]:
    counts: dict[str, dict[int, tuple[int, int]]] = {}
    labels: dict[str, str] = {}
    with Instance(postgres_url=options.postgres_url) as instance, instance.context():
        program = Program(World())
        counter = StatementCounter(db.engine)
        try:
            for size in SIZES:
                progress(f"sql: {size} towns, {2 * size - 1} toolkits")
                program.grow_to(size)
                # The requests write (sign-in, autosave): this session must hold no lock.
                db.session.commit()
                for page in _pages(program, instance):
                    labels[page.name] = page.label
                    counts.setdefault(page.name, {})[size] = _count(page, counter)
        finally:
            counter.remove()
    small, large = SIZES
    figures = []
    for name, by_size in counts.items():
        (few, few_status), (many, many_status) = by_size[small], by_size[large]
        if {few_status, many_status} - {200}:
            raise BenchError(f"{name} answered {few_status} and {many_status}")
        figures.append(
            Figure(
                GROUP,
                name,
                labels[name],
                many,
                "statements",
                "constant",
                few == many,
                f"{few} with {small} towns, {many} with {large} towns",
            )
        )
    return figures
