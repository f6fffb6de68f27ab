"""The reviewer's queue at 10, 100 and 1,000 submitted toolkits: the time of the page it serves.

The toolkits go round a hundred towns (one staff member each), each answered in full with a
flyer and a survey attached, and submitted; the queue is then asked for as a reviewer would
ask (``/review/queue``, whatever first page the app serves), in this process.
"""

from __future__ import annotations

import time

from bench.browser import AppBrowser
from bench.instance import BenchError, Instance
from bench.options import Options
from bench.report import Figure, at_most, median, progress, reported
from bench.world import World, light_uploads
from sct_forms.domain.roles import Role
from sct_forms.extensions import db
from sct_forms.models import User

GROUP = "queue"
SIZES = (10, 100, 1000)
TOWNS = 100
RUNS = 9
TARGET_MS = 50


def _time_queue(browser: AppBrowser) -> tuple[list[float], int]:
    """Milliseconds of RUNS requests after two unmeasured, and the page's bytes."""
    browser.get("/review/queue")
    browser.get("/review/queue")
    times, size = [], 0
    for _ in range(RUNS):
        started = time.perf_counter()
        reply = browser.get("/review/queue")
        times.append((time.perf_counter() - started) * 1000)
        if reply.status != 200:
            raise BenchError(f"the review queue answered {reply.status}")
        size = len(reply.body)
    return times, size


def run(options: Options) -> list[Figure]:
    figures = []
    with Instance(postgres_url=options.postgres_url) as instance, instance.context():
        world = World()
        reviewer = world.person(Role.REVIEWER)
        staff_of: dict[int, User] = {}
        made = 0
        for size in SIZES:
            progress(f"queue: submitting toolkits up to {size}")
            while made < size:
                town_index, action_index = made % TOWNS, made // TOWNS
                town = world.town(town_index)
                if town_index not in staff_of:
                    staff_of[town_index] = world.person(Role.STAFF, town)
                staff = staff_of[town_index]
                world.toolkit(town, staff, world.action(action_index), light_uploads(), submit=True)
                made += 1
            email = reviewer.email
            db.session.commit()  # the requests write (sign-in): this session holds no lock
            browser = AppBrowser(instance.app).sign_in(email)
            times, size_bytes = _time_queue(browser)
            milliseconds = median(times)
            label = f"Review queue with {size:,} submitted toolkits"
            name = f"queue.{size}"
            note = (
                f"median of {RUNS} (fastest {min(times):.1f} ms); "
                f"first page {size_bytes / 1024:.0f} KB of HTML"
            )
            if size == SIZES[-1]:
                figures.append(at_most(GROUP, name, label, milliseconds, "ms", TARGET_MS, note))
            else:
                figures.append(reported(GROUP, name, label, milliseconds, "ms", note))
    return figures
