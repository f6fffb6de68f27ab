"""Submission packets: a toolkit's (or all of a town's) answers and evidence as one PDF.

A packet is built in three parts:

1. **Context.** :func:`toolkit_packet` and :func:`town_packet` gather what the packet shows:
   for a toolkit with reviewers or decided, the latest revision (what the reviewers judged);
   for a draft, the live answers. Each packet carries a cache key built from that content.
2. **PDF.** :func:`build_pdf` renders the HTML template with the render service (images come
   in as the print renditions made at upload, ``evidence:<print_storage_name>``, never
   re-encoded here) and appends PDF evidence after the rendered pages with pypdf, one bookmark
   each, keeping WeasyPrint's own bookmarks, tags and metadata.
3. **Cache.** :func:`cached_pdf` keeps packets under ``instance/packets/`` by key, written
   atomically; :func:`start_background_build` builds one in a thread for the progress page,
   with a lock file so one key is never built twice at once (across app servers too).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_request_context
from flask_babel import force_locale
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject
from sqlalchemy import func, select

from sct_forms.documents.render import render_html, render_pdf
from sct_forms.domain.tiers import Item, TierAssessment, assess_tiers
from sct_forms.domain.toolkit_definition import Step, ToolkitDefinition, load_definition
from sct_forms.evidence import storage
from sct_forms.extensions import db
from sct_forms.i18n import gettext as _
from sct_forms.models import (
    AuditEvent,
    ChangeRequest,
    Cycle,
    Evidence,
    Municipality,
    Revision,
    Toolkit,
    utcnow,
)
from sct_forms.review.snapshots import snapshot_of
from sct_forms.toolkits.labels import town_label
from sct_forms.toolkits.presenters import build_items
from sct_forms.toolkits.services import definition_for, toolkits_of

#: Part of every cache key: raise it whenever a packet template, print.css or this module
#: changes what a packet looks like, so packets made by the old code are not served again.
TEMPLATE_VERSION = "2026.1"

TOOLKIT_TEMPLATE = "pdf/toolkit_packet.html"
TOWN_TEMPLATE = "pdf/town_packet.html"

#: States in which the packet shows the latest revision, as the reviewers received it.
REVISION_STATES = frozenset({"submitted", "in_review", "approved", "not_approved"})

#: A build that holds its lock longer than this is taken to have died with its process.
BUILD_TIMEOUT_SECONDS = 15 * 60
#: Packets kept per toolkit (or town and cycle); older ones are deleted after a new build.
KEEP_PER_PACKET = 4

_SLUG = re.compile(r"[^a-z0-9.]+")


# --- What a packet shows ------------------------------------------------------------------------


@dataclass(frozen=True)
class PacketFile:
    """One evidence file, as a revision snapshot (or the live toolkit) describes it."""

    step_key: str
    title: str
    alt_text: str
    display_name: str
    size: int
    sha256: str
    kind: str
    mime_type: str
    storage_name: str
    print_storage_name: str | None
    # The stored file still exists (a file replaced after submission may be gone).
    available: bool
    # PDF evidence: how many pages it has; None when it cannot be read (then it is only listed).
    pages: int | None = None

    @property
    def image_name(self) -> str:
        """The storage name an image is printed from: the print rendition when there is one."""
        return self.print_storage_name or self.storage_name

    @property
    def placement(self) -> str:
        """ "image" (placed in its step), "pdf" (appended at the end) or "listed"."""
        if self.available and self.kind == "image":
            return "image"
        if self.available and self.mime_type == "application/pdf" and self.pages:
            return "pdf"
        return "listed"


@dataclass
class StepSection:
    """One step of a toolkit in a packet: its answers and its evidence."""

    step: Step
    title: str
    anchor: str
    items: list
    files: list[PacketFile]

    @property
    def images(self) -> list[PacketFile]:
        return [f for f in self.files if f.placement == "image"]

    @property
    def pdfs(self) -> list[PacketFile]:
        return [f for f in self.files if f.placement == "pdf"]

    @property
    def listed(self) -> list[PacketFile]:
        return [f for f in self.files if f.placement == "listed"]


@dataclass
class ToolkitPacket:
    """Everything a toolkit's packet shows, and the cache key of exactly that."""

    toolkit: Toolkit
    definition: ToolkitDefinition
    language: str
    revision: Revision | None
    answers: dict[str, dict]
    sections: list[StepSection]
    open_requests: int
    key: str = ""

    kind = "toolkit"

    @property
    def town(self) -> Municipality:
        return self.toolkit.municipality

    @property
    def municipality_id(self) -> int:
        return self.toolkit.municipality_id

    @property
    def anchor(self) -> str:
        return f"toolkit-{self.toolkit.id}"

    @property
    def shows_revision(self) -> bool:
        return self.revision is not None

    @property
    def team(self) -> str:
        return str(self.answers.get("context", {}).get("team") or "")

    @property
    def status_words(self) -> str:
        """The state in the town's words, as on the town's pages."""
        return town_label(self.toolkit.state, self.open_requests)

    @property
    def status_mark(self) -> str | None:
        """The mark on every page: what this packet is not (yet); None once approved."""
        state = self.toolkit.state
        if state == "approved":
            return None
        if state in ("submitted", "in_review") and self.revision is not None:
            return _("Revision %(num)s — with reviewers", num=self.revision.number)
        if state == "not_approved" and self.revision is not None:
            return _("Revision %(num)s — not approved", num=self.revision.number)
        if state == "withdrawn":
            return _("Withdrawn — not submitted")
        return _("DRAFT — not submitted")

    @property
    def revision_words(self) -> str:
        """Which version of the answers the packet shows."""
        if self.revision is not None:
            return _("Revision %(num)s", num=self.revision.number)
        if self.toolkit.revision_count:
            return _(
                "Changes after revision %(num)s, not yet submitted",
                num=self.toolkit.revision_count,
            )
        return _("Not yet submitted")

    @property
    def attachments(self) -> list[PacketFile]:
        """PDF evidence appended after the rendered pages, in step order."""
        return [f for section in self.sections for f in section.pdfs]

    @property
    def title(self) -> str:
        return _("Equity Toolkit for %(action)s", action=self.toolkit.paired_action.label)

    @property
    def file_name(self) -> str:
        return f"{_slug(self.town.slug)}-{self.toolkit.paired_action.number}-equity-toolkit.pdf"

    @property
    def cache_prefix(self) -> str:
        return f"toolkit-{self.toolkit.id}"


@dataclass
class ToolkitHistory:
    """A toolkit's review history as the asking person may see it."""

    events: list[AuditEvent]
    requests: list[ChangeRequest]


@dataclass
class TownPacket:
    """All of a town's toolkits of one cycle (but withdrawn ones) with its tier summary."""

    town: Municipality
    cycle: Cycle
    language: str
    toolkits: list[ToolkitPacket]
    tiers: TierAssessment
    # None unless asked for; then toolkit id -> history.
    history: dict[int, ToolkitHistory] | None
    for_town: bool
    key: str = ""

    kind = "town"

    @property
    def municipality_id(self) -> int:
        return self.town.id

    @property
    def title(self) -> str:
        return _(
            "Equity Toolkits of %(town)s: %(cycle)s", town=self.town.name, cycle=self.cycle.name
        )

    @property
    def file_name(self) -> str:
        suffix = "-with-history" if self.history is not None else ""
        return f"{_slug(self.town.slug)}-{_slug(self.cycle.name)}-equity-toolkits{suffix}.pdf"

    @property
    def cache_prefix(self) -> str:
        return f"town-{self.town.id}-{self.cycle.id}"


Packet = ToolkitPacket | TownPacket


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-.") or "packet"


def _digest(material: Any) -> str:
    encoded = json.dumps(material, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def latest_revision(toolkit: Toolkit) -> Revision | None:
    return db.session.scalar(
        select(Revision)
        .where(Revision.toolkit_id == toolkit.id)
        .order_by(Revision.number.desc())
        .limit(1)
    )


def _pdf_page_count(path: Path) -> int | None:
    """Pages of a stored PDF, or None if pypdf cannot read it now (it is listed instead)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    # Every packet request needs the counts for its key; stored files do not change.
    return _page_count(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2048)
def _page_count(path: str, _mtime_ns: int, _size: int) -> int | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(path)
            if reader.is_encrypted:
                return None
            return len(reader.pages) or None
    except Exception:  # noqa: BLE001 - pypdf raises many types on damaged files
        return None


def _packet_files(toolkit: Toolkit, evidence: list[dict]) -> list[PacketFile]:
    """Snapshot evidence entries as packet files, checking each stored file still exists."""
    names = {e["storage_name"] for e in evidence} | {
        e["print_storage_name"] for e in evidence if e.get("print_storage_name")
    }
    # The PDF URL fetcher serves only files an Evidence row of the town still names.
    known = set()
    if names:
        rows = db.session.execute(
            select(Evidence.storage_name, Evidence.print_storage_name).where(
                Evidence.municipality_id == toolkit.municipality_id,
                Evidence.toolkit_id == toolkit.id,
            )
        )
        for storage_name, print_name in rows:
            known.update(n for n in (storage_name, print_name) if n)
    files = []
    for entry in evidence:
        name = entry["storage_name"]
        print_name = entry.get("print_storage_name")
        shown = print_name if entry["kind"] == "image" and print_name else name
        available = shown in known and _stored(shown)
        pages = None
        if available and entry["mime_type"] == "application/pdf":
            pages = _pdf_page_count(storage.path_for(name))
        files.append(
            PacketFile(
                step_key=entry["step_key"],
                title=entry["title"],
                alt_text=entry.get("alt_text") or "",
                display_name=entry["display_name"],
                size=entry["size"],
                sha256=entry["sha256"],
                kind=entry["kind"],
                mime_type=entry["mime_type"],
                storage_name=name,
                print_storage_name=print_name,
                available=available,
                pages=pages,
            )
        )
    return files


def _stored(name: str) -> bool:
    try:
        return storage.path_for(name).is_file()
    except ValueError:
        return False


def toolkit_packet(toolkit: Toolkit, language: str) -> ToolkitPacket:
    """What a toolkit's packet shows: the latest revision once submitted, else live answers."""
    with in_language(language):
        return _toolkit_packet(toolkit, language)


def _toolkit_packet(toolkit: Toolkit, language: str) -> ToolkitPacket:
    revision = latest_revision(toolkit) if toolkit.state in REVISION_STATES else None
    if revision is not None:
        definition = load_definition(revision.definition_version)
        answers, evidence = revision.answers, revision.evidence
    else:
        definition = definition_for(toolkit)
        live = snapshot_of(toolkit)
        answers, evidence = live["answers"], live["evidence"]
    files = _packet_files(toolkit, evidence)
    sections = []
    for step in definition.steps:
        sections.append(
            StepSection(
                step=step,
                title=step.title.get(language),
                anchor=f"toolkit-{toolkit.id}-step-{step.key}",
                items=build_items(step, answers.get(step.key, {}), [], language),
                files=[f for f in files if f.step_key == step.key],
            )
        )
    open_requests = db.session.scalar(
        select(func.count(ChangeRequest.id)).where(
            ChangeRequest.toolkit_id == toolkit.id, ChangeRequest.status == "open"
        )
    )
    packet = ToolkitPacket(
        toolkit=toolkit,
        definition=definition,
        language=language,
        revision=revision,
        answers=answers,
        sections=sections,
        open_requests=open_requests or 0,
    )
    packet.key = _digest(_toolkit_key_material(packet))
    return packet


def _toolkit_key_material(packet: ToolkitPacket) -> dict[str, Any]:
    toolkit = packet.toolkit
    content = (
        f"revision:{packet.revision.number}"
        if packet.revision is not None
        else "live:" + _digest(packet.answers)
    )
    return {
        "template": TEMPLATE_VERSION,
        "kind": "toolkit",
        "toolkit": toolkit.id,
        "state": toolkit.state,
        "content": content,
        "definition": packet.definition.version,
        "revisions": toolkit.revision_count,
        "open_requests": packet.open_requests,
        "evidence": [
            [f.step_key, f.sha256, f.title, f.alt_text, f.display_name, f.available, f.pages]
            for section in packet.sections
            for f in section.files
        ],
        "names": [toolkit.municipality.name, toolkit.cycle.name, toolkit.paired_action.label],
        "language": packet.language,
    }


def town_packet(
    town: Municipality, cycle: Cycle, language: str, *, history: bool, for_town: bool
) -> TownPacket:
    """All of a town's toolkits in ``cycle`` but withdrawn ones, with the tier summary.

    ``history`` adds each toolkit's review history and change requests; ``for_town`` limits
    the history to what the town sees (reviewers and admins see every workflow event).
    """
    with in_language(language):
        return _town_packet(town, cycle, language, history=history, for_town=for_town)


def _town_packet(
    town: Municipality, cycle: Cycle, language: str, *, history: bool, for_town: bool
) -> TownPacket:
    from sct_forms.review.presenters import requests_of
    from sct_forms.review.queries import timeline

    every = toolkits_of(town, cycle)
    items = [Item("toolkit", t.paired_action.number, t.state, t.cycle_id) for t in every]
    tiers = assess_tiers(cycle.tier_rules, items, cycle.id)
    shown = sorted(
        (t for t in every if t.state != "withdrawn"),
        key=lambda t: (t.paired_action.sort_key, t.id),
    )
    packets = [toolkit_packet(t, language) for t in shown]
    histories = None
    if history:
        histories = {
            t.id: ToolkitHistory(events=timeline(t, for_town=for_town), requests=requests_of(t))
            for t in shown
        }
    packet = TownPacket(
        town=town,
        cycle=cycle,
        language=language,
        toolkits=packets,
        tiers=tiers,
        history=histories,
        for_town=for_town,
    )
    material = {
        "template": TEMPLATE_VERSION,
        "kind": "town",
        "town": [town.id, town.name],
        "cycle": [cycle.id, cycle.name, cycle.tier_rules_data],
        "toolkits": [p.key for p in packets],
        "states": sorted((t.paired_action.number, t.state) for t in every),
        "language": language,
        "history": None,
    }
    if histories is not None:
        material["history"] = {
            "for_town": for_town,
            "events": {tid: [e.id for e in h.events] for tid, h in histories.items()},
            "requests": {
                tid: [
                    [r.id, r.status, r.body, r.town_response, r.step_key, r.target]
                    for r in h.requests
                ]
                for tid, h in histories.items()
            },
        }
    packet.key = _digest(material)
    return packet


# --- Building the PDF -----------------------------------------------------------------------


@contextmanager
def in_language(language: str) -> Iterator[None]:
    """Translate in ``language``, inside a request (a made-up one outside requests).

    Packets are built in requests, CLI commands, tests and background threads; their words
    must be in the packet's language (part of the cache key), whatever the request's locale.
    """
    if has_request_context():
        with force_locale(language):
            yield
        return
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        with force_locale(language):
            yield


def template_context(packet: Packet, *, preview: bool) -> dict[str, Any]:
    """The context both the PDF and the preview page are rendered with."""
    context: dict[str, Any] = {
        "packet": packet,
        "preview": preview,
        "generated_at": utcnow(),
        "language": packet.language,
    }
    if isinstance(packet, ToolkitPacket):
        context["status_mark"] = packet.status_mark
    return context


def template_for(packet: Packet) -> str:
    return TOOLKIT_TEMPLATE if isinstance(packet, ToolkitPacket) else TOWN_TEMPLATE


def render_preview(packet: Packet) -> str:
    """The packet's HTML for a browser: evidence images by URL instead of ``evidence:``."""
    with in_language(packet.language):
        return render_html(template_for(packet), **template_context(packet, preview=True))


def build_pdf(packet: Packet) -> bytes:
    """Render a packet and append its PDF evidence: the bytes the cache stores."""
    with in_language(packet.language):
        return _build_pdf(packet)


def _build_pdf(packet: Packet) -> bytes:
    rendered = render_pdf(
        template_for(packet),
        municipality_id=packet.municipality_id,
        **template_context(packet, preview=False),
    )
    if isinstance(packet, ToolkitPacket):
        groups = [(None, packet.attachments)]
    else:
        groups = [
            (
                _("Attachments: %(action)s", action=p.toolkit.paired_action.label),
                p.attachments,
            )
            for p in packet.toolkits
        ]
    return append_attachments(rendered, groups)


def append_attachments(rendered: bytes, groups: list[tuple[str | None, list[PacketFile]]]) -> bytes:
    """Append PDF evidence after the rendered pages, with a bookmark for each file.

    ``groups`` are (parent bookmark title or None for the top level, files). The rendered
    document is cloned whole, so its bookmarks, tags, language and metadata stay as they are.
    """
    if not any(files for _title, files in groups):
        return rendered
    with warnings.catch_warnings():
        # Evidence PDFs come from many programs; pypdf warns about what it repairs.
        warnings.simplefilter("ignore")
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(rendered)))
        for parent_title, files in groups:
            placed: list[tuple[PacketFile, int]] = []
            for file in files:
                start = len(writer.pages)
                try:
                    writer.append(
                        PdfReader(storage.path_for(file.storage_name)), import_outline=False
                    )
                except Exception:  # noqa: BLE001 - one broken file must not sink the packet
                    current_app.logger.exception(
                        "Packet: could not append evidence %s", file.sha256
                    )
                    # Leave no half of it behind.
                    while len(writer.pages) > start:
                        del writer.pages[-1]
                    continue
                for page in writer.pages[start:]:
                    _detach_from_structure(page)
                placed.append((file, start))
            if not placed:
                continue
            parent = None
            if parent_title:
                parent = writer.add_outline_item(title=parent_title, page_number=placed[0][1])
            for file, start in placed:
                writer.add_outline_item(
                    title=_("Attached: %(title)s", title=file.title),
                    page_number=start,
                    parent=parent,
                )
        _drop_pdf_ua_claim(writer)
        buffer = io.BytesIO()
        writer.write(buffer)
    return buffer.getvalue()


def _detach_from_structure(page) -> None:  # noqa: ANN001 - a pypdf PageObject
    """Appended pages are not in the packet's structure tree: drop keys that point into one."""
    if "/StructParents" in page:
        del page[NameObject("/StructParents")]
    for annotation in page.get("/Annots") or []:
        annotation = annotation.get_object()
        if "/StructParent" in annotation:
            del annotation[NameObject("/StructParent")]


_PDFUA_PART = re.compile(rb"<pdfuaid:part>\s*\d+\s*</pdfuaid:part>|pdfuaid:part=\"\d+\"")


def _drop_pdf_ua_claim(writer: PdfWriter) -> None:
    """Appended evidence is not tagged, so the whole file may no longer claim PDF/UA."""
    root = writer.root_object
    if "/Metadata" not in root:
        return
    stream = root["/Metadata"].get_object()
    data = stream.get_data()
    cleaned = _PDFUA_PART.sub(b"", data)
    if cleaned != data:
        stream.set_data(cleaned)


# --- The cache --------------------------------------------------------------------------------


def cache_dir() -> Path:
    return Path(current_app.instance_path) / "packets"


def cache_path(packet: Packet) -> Path:
    return cache_dir() / f"{packet.cache_prefix}-{packet.key}.pdf"


def _lock_path(packet: Packet) -> Path:
    return cache_path(packet).with_suffix(".lock")


def _failed_path(packet: Packet) -> Path:
    return cache_path(packet).with_suffix(".failed")


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _prune(packet: Packet) -> None:
    """Keep the few most recently used packets of one toolkit (or town and cycle)."""
    keep = cache_path(packet)
    found = sorted(
        cache_dir().glob(f"{packet.cache_prefix}-*.pdf"),
        key=lambda p: p.stat().st_mtime if p.exists() else 0,
        reverse=True,
    )
    for old in found[KEEP_PER_PACKET:]:
        if old != keep:
            old.unlink(missing_ok=True)
    for failed in cache_dir().glob(f"{packet.cache_prefix}-*.failed"):
        if time.time() - failed.stat().st_mtime > BUILD_TIMEOUT_SECONDS:
            failed.unlink(missing_ok=True)


def cached(packet: Packet) -> Path | None:
    """The cached PDF of exactly this content, if there is one (marked as just used)."""
    path = cache_path(packet)
    try:
        os.utime(path)
    except FileNotFoundError:
        return None
    return path


def store(packet: Packet, data: bytes) -> Path:
    path = cache_path(packet)
    _write_atomically(path, data)
    _failed_path(packet).unlink(missing_ok=True)
    _prune(packet)
    return path


def cached_pdf(packet: Packet) -> Path:
    """The packet's PDF on disk, built now if it is not cached (waits for a running build)."""
    path = cached(packet)
    if path is not None:
        return path
    deadline = time.monotonic() + BUILD_TIMEOUT_SECONDS
    while _lock_is_fresh(_lock_path(packet)) and time.monotonic() < deadline:
        time.sleep(0.25)
        path = cached(packet)
        if path is not None:
            return path
    return store(packet, build_pdf(packet))


# --- Building in the background ---------------------------------------------------------------


@dataclass(frozen=True)
class PacketRequest:
    """How to make a packet again from ids, in a thread with no request behind it."""

    kind: str  # "toolkit" or "town"
    object_id: int  # the toolkit's id, or the town's
    language: str
    cycle_id: int | None = None
    history: bool = False
    for_town: bool = True

    def load(self) -> Packet | None:
        if self.kind == "toolkit":
            toolkit = db.session.get(Toolkit, self.object_id)
            return toolkit_packet(toolkit, self.language) if toolkit else None
        town = db.session.get(Municipality, self.object_id)
        cycle = db.session.get(Cycle, self.cycle_id) if self.cycle_id else None
        if town is None or cycle is None:
            return None
        return town_packet(town, cycle, self.language, history=self.history, for_town=self.for_town)


@dataclass
class _Builds:
    """Threads this process started, so tests (and shutdown) can wait for them."""

    threads: dict[str, threading.Thread] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_builds = _Builds()


def _lock_is_fresh(lock: Path) -> bool:
    """A build holds this lock: it is recent, and its process (on this host) is alive."""
    try:
        if time.time() - lock.stat().st_mtime >= BUILD_TIMEOUT_SECONDS:
            return False
        pid, host = lock.read_text().split()
        pid_number = int(pid)
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True  # just created and not yet written: its builder is alive
    if host != socket.gethostname():
        return True  # another app server's build: trust the time limit
    try:
        os.kill(pid_number, 0)
    except ProcessLookupError:
        return False  # the worker died mid-build (restarted, killed)
    except PermissionError:
        return True
    return True


def _take_lock(lock: Path) -> bool:
    """Create the lock file unless a live build holds it; a stale one is taken over."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _attempt in range(2):
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            if _lock_is_fresh(lock):
                return False
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(handle, "w") as file:
            file.write(f"{os.getpid()} {socket.gethostname()}\n")
        return True
    return False


def build_state(packet: Packet) -> str:
    """Where the packet is: "ready", "building", "failed" or "missing"."""
    if cache_path(packet).is_file():
        return "ready"
    if _lock_is_fresh(_lock_path(packet)):
        return "building"
    if _failed_path(packet).is_file():
        return "failed"
    return "missing"


def forget_failure(packet: Packet) -> None:
    _failed_path(packet).unlink(missing_ok=True)


def start_background_build(packet: Packet, request: PacketRequest) -> bool:
    """Build the packet in a thread unless it is cached, being built or failed; True if started.

    A failed build stays failed (and says so) until :func:`forget_failure`: a poll every two
    seconds must not restart a build that breaks every time.
    """
    if build_state(packet) != "missing":
        return False
    lock = _lock_path(packet)
    if not _take_lock(lock):
        return False
    app = current_app._get_current_object()  # noqa: SLF001 - the thread needs the real app
    thread = threading.Thread(
        target=_build_in_thread,
        args=(app, request, packet.key, lock, _failed_path(packet)),
        name=f"packet-{packet.key[:12]}",
        daemon=True,
    )
    with _builds.lock:
        _builds.threads[packet.key] = thread
    thread.start()
    return True


def _build_in_thread(
    app: Flask, request: PacketRequest, key: str, lock: Path, failed: Path
) -> None:
    try:
        with app.app_context():
            try:
                packet = request.load()
                # Edited since the page asked: the next status check starts the new key.
                if packet is not None and packet.key == key and cached(packet) is None:
                    store(packet, build_pdf(packet))
            except Exception:
                app.logger.exception("Packet build failed (%s %s)", request.kind, request.object_id)
                failed.parent.mkdir(parents=True, exist_ok=True)
                failed.write_text(datetime.now().isoformat())
            finally:
                db.session.remove()
    finally:
        lock.unlink(missing_ok=True)
        with _builds.lock:
            _builds.threads.pop(key, None)


def wait_for_builds(timeout: float = 120) -> None:
    """Wait for every background build of this process (tests, orderly shutdown)."""
    deadline = time.monotonic() + timeout
    while True:
        with _builds.lock:
            threads = list(_builds.threads.values())
        if not threads:
            return
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if time.monotonic() >= deadline:
            return


__all__ = [
    "BUILD_TIMEOUT_SECONDS",
    "TEMPLATE_VERSION",
    "PacketFile",
    "PacketRequest",
    "StepSection",
    "ToolkitPacket",
    "TownPacket",
    "append_attachments",
    "build_pdf",
    "build_state",
    "cache_path",
    "cached",
    "cached_pdf",
    "forget_failure",
    "render_preview",
    "start_background_build",
    "toolkit_packet",
    "town_packet",
    "wait_for_builds",
]
