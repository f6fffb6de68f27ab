"""Autosave under load: 16 clients saving steps against gunicorn, beside a bare Flask route.

For each database (SQLite, then PostgreSQL when it answers) a fresh instance gets 16 towns,
each with a staff member and a toolkit answered in full. Each client signs in as one of them,
opens their toolkit's first step and saves it again and again as the page's autosave does
(``bench.saving``): its own session, its own step, the version of its last save. The bare
route (``bench.bare``) is served beside it by the same gunicorn settings, to 16 clients too;
the two loads take turns (5 s each, twice, after a second of warm-up each time).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bench.instance import POSTGRESQL, SQLITE, Instance, postgres_problem
from bench.load import HttpSession, LoadResult, alternate
from bench.options import Options
from bench.report import Figure, at_least, at_most, none_allowed, progress, reported, skipped
from bench.saving import StepSaver, unwritten_saves
from bench.server import APP, BARE_APP, Server
from bench.world import PASSWORD, World
from sct_forms.domain.roles import Role
from sct_forms.extensions import db
from sct_forms.toolkits import services as toolkit_services

GROUP = "autosave"
CLIENTS = 16
ROUNDS = 2
SECONDS = 5  # per round: 10 s of each load in all
WARMUP_SECONDS = 1
SHARE_TARGET = 25  # % of the bare route's requests per second
P95_TARGET_MS = 50


class BareClient:
    def __init__(self, session: HttpSession) -> None:
        self.session = session

    def act(self) -> int:
        return self.session.request("GET", "/").status


def _people(instance: Instance) -> tuple[list[tuple[str, int]], str]:
    """(email, toolkit id) of each client's staff member, and the step they save."""
    with instance.context():
        world = World()
        people = []
        for index in range(CLIENTS):
            town = world.town(index)
            staff = world.person(Role.STAFF, town)
            toolkit = world.start(town, staff, world.action(0))
            world.answer(toolkit, staff)
            people.append((staff.email, toolkit.id))
        step_key = toolkit_services.definition_for(toolkit).steps[0].key
        db.session.commit()
    return people, step_key


def _savers(server: Server, people: list[tuple[str, int]], step_key: str) -> list[StepSaver]:
    def ready(person: tuple[str, int]) -> StepSaver:
        email, toolkit_id = person
        session = HttpSession(server.host, server.port)
        session.sign_in(email, PASSWORD)
        saver = StepSaver(session, toolkit_id, step_key)
        saver.open_page()
        return saver

    # Signing in checks an Argon2 hash (about half a second): the clients sign in together.
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        return list(pool.map(ready, people))


def _figures(database: str, bare: LoadResult, saves: LoadResult, unwritten: int) -> list[Figure]:
    prefix = f"autosave.{database}"
    where = "SQLite" if database == SQLITE else "PostgreSQL"
    share = 100 * saves.per_second / bare.per_second if bare.per_second else None
    return [
        reported(
            GROUP,
            f"{prefix}.bare",
            f"Bare Flask route, {CLIENTS} clients",
            bare.per_second,
            "req/s",
            note=f"p95 {bare.latency_ms(0.95):.1f} ms; {bare.outcome_words()}",
        ),
        reported(
            GROUP,
            f"{prefix}.saves",
            f"Autosaves, {CLIENTS} clients, {where}",
            saves.per_second,
            "req/s",
            note="every 2xx answer wrote a new version"
            if unwritten == 0
            else f"{unwritten} 2xx answers wrote no new version",
        ),
        at_least(
            GROUP, f"{prefix}.share", f"Autosaves ÷ bare route, {where}", share, "%", SHARE_TARGET
        ),
        reported(GROUP, f"{prefix}.p50", f"Autosave p50, {where}", saves.latency_ms(0.5), "ms"),
        at_most(
            GROUP,
            f"{prefix}.p95",
            f"Autosave p95, {where}",
            saves.latency_ms(0.95),
            "ms",
            P95_TARGET_MS,
        ),
        reported(GROUP, f"{prefix}.p99", f"Autosave p99, {where}", saves.latency_ms(0.99), "ms"),
        none_allowed(
            GROUP,
            f"{prefix}.failed",
            f"Autosaves not saved (not 2xx), {where}",
            saves.failed,
            "requests",
            note=f"not 2xx: {saves.failure_words()}",
        ),
    ]


def measure(database: str, options: Options) -> list[Figure]:
    with Instance(database, options.postgres_url) as instance:
        progress(f"autosave ({database}): {CLIENTS} towns with a toolkit each")
        people, step_key = _people(instance)
        instance.release_connections()
        env = instance.process_env()
        log = instance.folder / "gunicorn.log"
        progress(
            f"autosave ({database}): autosaves and the bare route in turns, "
            f"{ROUNDS * SECONDS} s each"
        )
        with (
            Server(BARE_APP, env, log, ready_path="/") as bare_server,
            Server(APP, env, log, ready_path="/healthz") as server,
        ):
            savers = _savers(server, people, step_key)
            bare_clients = [
                BareClient(HttpSession(bare_server.host, bare_server.port)) for _ in range(CLIENTS)
            ]
            results = alternate(
                {"bare": bare_clients, "saves": savers}, ROUNDS, SECONDS, WARMUP_SECONDS
            )
            for client in [*savers, *bare_clients]:
                client.session.close()
    return _figures(database, results["bare"], results["saves"], unwritten_saves(savers))


def run(options: Options) -> list[Figure]:
    figures = measure(SQLITE, options)
    problem = postgres_problem(options.postgres_url)
    if problem is None:
        figures += measure(POSTGRESQL, options)
    else:
        why = f"PostgreSQL did not answer at {options.postgres_url}: {problem}"
        figures += [
            skipped(
                GROUP,
                f"autosave.{POSTGRESQL}.{name}",
                f"Autosave {name}, PostgreSQL",
                unit,
                target,
                why,
            )
            for name, unit, target in (
                ("share", "%", f"≥ {SHARE_TARGET}%"),
                ("p95", "ms", f"≤ {P95_TARGET_MS} ms"),
            )
        ]
    return figures
