"""The town packet: its build time beside the floor, its size and pages, memory, and the cache.

The data set: one town with three approved toolkits, six 12-megapixel photos each (uploaded
through the real upload service, so each has its print copy) and a ten-page scanned PDF each.

- build: ``packet_pdf.build_pdf`` of the town packet, as the cache and the worker call it
  (the fastest of a few runs, the packet's content gathered beforehand);
- floor: WeasyPrint alone laying out and writing the same final HTML (the template as the
  build renders it) with every image and style sheet already in memory,
  then a plain pypdf append of the evidence PDFs: what the build cannot go below;
- peak memory: the peak RSS of a fresh process that builds the packet (``bench.child``);
- cached re-serve: the first download (``/towns/<slug>/packet.pdf``, which builds and stores
  the packet) against the downloads after it (served from the cache).
"""

from __future__ import annotations

import inspect
import io
import json
import subprocess
import sys
import time

import weasyprint
from pypdf import PdfReader, PdfWriter
from weasyprint.urls import URLFetcher, URLFetcherResponse

from bench.browser import AppBrowser
from bench.files import PHOTO_12MP, PhotoMaker, scanned_pdf
from bench.instance import BenchError, Instance
from bench.options import Options
from bench.report import Figure, at_least, at_most, median, progress, reported
from bench.world import Upload, World
from sct_forms.config import PROJECT_ROOT
from sct_forms.documents import packet_pdf, packets
from sct_forms.documents.render import (
    DOCUMENT_BASE_URL,
    document_context,
    render_html,
    render_pdf,
    url_fetcher_for,
)
from sct_forms.domain.roles import Role
from sct_forms.evidence import storage
from sct_forms.extensions import db
from sct_forms.models import Cycle, Municipality

GROUP = "packet"
TOOLKITS = 3
PHOTOS_PER_TOOLKIT = 6
EVIDENCE_PAGES = 10
BUILD_RUNS = 2
CACHED_RUNS = 5
MB = 1024 * 1024

SIZE_LIMIT_MB = 15  # what a town can email
FLOOR_LIMIT = 1.1  # times the floor
# The build of this data set before fonts were decoded once per process (1.81 s on the 2-core
# machine the targets are set for); the target is at least 25% below it.
BUILD_BEFORE_SECONDS = 1.81
BUILD_TARGET_SECONDS = round(BUILD_BEFORE_SECONDS * 0.75, 2)
# About 200 MB before the work on packets (how it was measured is not known: a process with
# the app loaded holds about 175 MB before it builds anything); the target keeps it near that.
PEAK_RSS_LIMIT_MB = 250
RESERVE_LIMIT = 100  # times faster from the cache than the first build


def packet_uploads(photos: PhotoMaker, toolkit_index: int, photo_count: int) -> list[Upload]:
    """A toolkit's evidence: photos on outreach and engagement, a scanned PDF on outreach."""
    uploads = []
    for number in range(photo_count):
        index = toolkit_index * photo_count + number
        uploads.append(
            Upload(
                "outreach" if number % 2 else "engagement",
                photos.photo(index),
                f"photo-{index + 1}.jpg",
                f"Workshop photo {index + 1}",
                alt_text=f"Residents around a table at workshop {index + 1}, marking a map",
            )
        )
    uploads.append(
        Upload(
            "outreach",
            scanned_pdf(EVIDENCE_PAGES, seed=toolkit_index),
            f"minutes-{toolkit_index + 1}.pdf",
            f"Signed meeting minutes {toolkit_index + 1}",
        )
    )
    return uploads


def approved_toolkits(
    world: World,
    town: Municipality,
    photos: PhotoMaker,
    count: int,
    *,
    first: int = 0,
    photo_count: int = PHOTOS_PER_TOOLKIT,
) -> None:
    """``count`` more approved toolkits of ``town`` (the first-th onwards), with evidence."""
    staff = world.person(Role.STAFF, town)
    reviewer = world.person(Role.REVIEWER)
    for index in range(first, first + count):
        uploads = packet_uploads(photos, index, photo_count)
        world.toolkit(town, staff, world.action(index), uploads, approve_by=reviewer)


def town_packet(town_id: int, cycle_id: int) -> packets.TownPacket:
    """The town packet as the town's staff download it."""
    town, cycle = db.session.get(Municipality, town_id), db.session.get(Cycle, cycle_id)
    return packets.town_packet(town, cycle, "en", history=False, for_town=True)


def timed_build(packet: packets.TownPacket) -> tuple[float, bytes]:
    started = time.perf_counter()
    pdf = packet_pdf.build_pdf(packet)
    return time.perf_counter() - started, pdf


class MemoryFetcher(URLFetcher):
    """Serves from memory what the app's fetcher served once: images and style sheets."""

    def __init__(self, source: URLFetcher) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False)
        self.source = source
        self.kept: dict[str, tuple[bytes, str]] = {}

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        if url not in self.kept:
            response = self.source.fetch(url, headers)
            self.kept[url] = (response.read(), response.headers.get("Content-Type", ""))
            response.close()
        body, content_type = self.kept[url]
        return URLFetcherResponse(url, body, {"Content-Type": content_type})


class Floor:
    """WeasyPrint alone on the build's final HTML, then a plain append of the evidence PDFs."""

    def __init__(self, packet: packets.TownPacket) -> None:
        with document_context(packet.language):
            context = packet_pdf.template_context(packet, preview=False)
            # The document's own pages: the build's stand-ins for appended pages are left out.
            self.html = render_html(packet_pdf.template_for(packet), **context)
            self.fetcher = MemoryFetcher(url_fetcher_for(packet.municipality_id))
        self.attachments = [
            storage.read(file.storage_name) for part in packet.toolkits for file in part.attachments
        ]
        # The PDF variant the build writes (render_pdf's default), so both write the same kind.
        self.variant = inspect.signature(render_pdf).parameters["pdf_variant"].default

    def render(self) -> bytes:
        document = weasyprint.HTML(
            string=self.html, base_url=DOCUMENT_BASE_URL, url_fetcher=self.fetcher
        )
        rendered = document.write_pdf(pdf_variant=self.variant)
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(rendered)))
        for data in self.attachments:
            writer.append(PdfReader(io.BytesIO(data)))
        buffer = io.BytesIO()
        writer.write(buffer)
        return buffer.getvalue()

    def timed(self) -> float:
        started = time.perf_counter()
        self.render()
        return time.perf_counter() - started


def peak_memory(town_id: int, cycle_id: int, env: dict[str, str]) -> dict:
    """Peak RSS of a fresh process building the packet (``python -m bench.child``)."""
    finished = subprocess.run(
        [sys.executable, "-m", "bench.child", str(town_id), str(cycle_id)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if finished.returncode != 0:
        raise BenchError(f"the packet build process failed:\n{finished.stderr[-2000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def _download(browser: AppBrowser, path: str) -> float:
    started = time.perf_counter()
    reply = browser.get(path)
    elapsed = time.perf_counter() - started
    if reply.status != 200 or not reply.body.startswith(b"%PDF-"):
        raise BenchError(f"{path} answered {reply.status} without a PDF")
    return elapsed


def cached_reserve(browser: AppBrowser, path: str) -> tuple[float, float]:
    """(first download, median of the downloads from the cache after it), in seconds."""
    first = _download(browser, path)
    return first, median([_download(browser, path) for _ in range(CACHED_RUNS)])


def _mb(size: int) -> float:
    return size / MB


def run(options: Options) -> list[Figure]:
    photos = PhotoMaker(PHOTO_12MP)
    with Instance(postgres_url=options.postgres_url) as instance, instance.context() as app:
        world = World()
        town = world.town(0)
        town_id, slug, cycle_id = town.id, town.slug, world.cycle_id
        progress(
            f"packet: {TOOLKITS} approved toolkits, {TOOLKITS * PHOTOS_PER_TOOLKIT} photos "
            f"of 12 MP, {TOOLKITS} PDFs of {EVIDENCE_PAGES} pages"
        )
        approved_toolkits(world, town, photos, TOOLKITS)
        staff_email = world.person(Role.STAFF, town).email
        db.session.commit()

        progress("packet: builds and floor")
        packet = town_packet(town_id, cycle_id)
        # The process's first render loads what every later one reuses (as in a worker).
        _first, pdf = timed_build(packet)
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        floor = Floor(packet)
        floor.render()  # fetches every image and style sheet once, into memory
        builds, floors = [], []
        for _ in range(BUILD_RUNS):  # alternated, so both see the machine's same moments
            elapsed, pdf = timed_build(packet)
            builds.append(elapsed)
            floors.append(floor.timed())
        build, floor_time = min(builds), min(floors)

        progress("packet: downloads (first, then from the cache)")
        browser = AppBrowser(app).sign_in(staff_email)
        first, cached = cached_reserve(browser, f"/towns/{slug}/packet.pdf")
        # The instance's data, built by another process: the data set is made only once.
        progress("packet: peak memory of a build in a fresh process")
        memory = peak_memory(town_id, cycle_id, instance.process_env())
        size_note = _size_note(packet, len(pdf))

    runs = f"fastest of {BUILD_RUNS}"
    return [
        at_most(
            GROUP,
            "packet.build",
            "Town packet build (3 toolkits, 18 photos, 3 PDFs)",
            build,
            "s",
            BUILD_TARGET_SECONDS,
            note=f"{runs}; target 25% below {BUILD_BEFORE_SECONDS} s (all runs: "
            f"{', '.join(f'{b:.2f}' for b in builds)} s)",
        ),
        reported(
            GROUP,
            "packet.floor",
            "Floor: WeasyPrint on the same HTML + plain append",
            floor_time,
            "s",
            note=runs,
        ),
        at_most(
            GROUP, "packet.vs_floor", "Packet build ÷ floor", build / floor_time, "×", FLOOR_LIMIT
        ),
        at_most(
            GROUP,
            "packet.size",
            "Town packet size",
            _mb(len(pdf)),
            "MB",
            SIZE_LIMIT_MB,
            note=size_note,
        ),
        reported(GROUP, "packet.pages", "Town packet pages", pages, "pages"),
        at_most(
            GROUP,
            "packet.peak_rss",
            "Peak RSS of a process building the packet",
            memory["peak_mb"],
            "MB",
            PEAK_RSS_LIMIT_MB,
            note=f"high-water mark (VmHWM); {memory['baseline_mb']:.0f} MB before the build, "
            f"with the app loaded",
        ),
        at_least(
            GROUP,
            "packet.cached",
            "First download ÷ download from the cache",
            first / cached,
            "×",
            RESERVE_LIMIT,
            note=f"first {first:.2f} s, from the cache {cached * 1000:.1f} ms "
            f"(median of {CACHED_RUNS})",
        ),
    ]


def _size_note(packet: packets.TownPacket, total: int) -> str:
    """What the packet's bytes are: the photos' print copies, the evidence PDFs, the rest."""
    files = [
        file for part in packet.toolkits for section in part.sections for file in section.files
    ]
    images = [storage.size(f.image_name) for f in files if f.placement == "image"]
    pdfs = [storage.size(f.storage_name) for f in files if f.placement == "pdf"]
    rest = total - sum(images) - sum(pdfs)
    return (
        f"print copies of the photos {_mb(sum(images)):.1f} MB ({len(images)}), "
        f"evidence PDFs {_mb(sum(pdfs)):.1f} MB ({len(pdfs)}), the rest {_mb(rest):.2f} MB"
    )
