"""Submission packets: a toolkit's (or all of a town's) answers and evidence as one PDF.

A packet is made in three steps, each in its own module:

1. **What it shows** (this module). :func:`toolkit_packet` and :func:`town_packet` gather it:
   for a toolkit with reviewers or decided, the latest revision (what the reviewers judged);
   for a draft, the live answers. Each packet carries a cache key built from that content.
   Its evidence files come from :mod:`sct_forms.documents.packet_evidence`.
2. **The PDF.** :func:`sct_forms.documents.packet_pdf.build_pdf` renders the packet's template
   and appends its PDF evidence.
3. **The cache.** :mod:`sct_forms.documents.packet_cache` keeps built packets on disk by key
   and builds them on the job queue for the progress page.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from sct_forms.documents.packet_evidence import PacketFile, packet_files
from sct_forms.documents.render import document_context
from sct_forms.domain import workflow
from sct_forms.domain.tiers import TierAssessment
from sct_forms.domain.toolkit_definition import Step, ToolkitDefinition, load_definition
from sct_forms.domain.workflow import State
from sct_forms.extensions import db
from sct_forms.i18n import gettext as _
from sct_forms.models import (
    AuditEvent,
    ChangeRequest,
    Cycle,
    Municipality,
    Revision,
    Toolkit,
)
from sct_forms.review import services as review_services
from sct_forms.review.queries import requests_of, timeline
from sct_forms.review.snapshots import snapshot_of
from sct_forms.toolkits.labels import record_title, town_label
from sct_forms.toolkits.presenters import build_items
from sct_forms.toolkits.services import definition_for, toolkits_of
from sct_forms.towns.queries import tiers_for

#: Part of every cache key: raise it whenever a packet template, print.css or the packet code
#: (this module, packet_evidence, packet_pdf) changes what a packet looks like, so packets made
#: by the old code are not served again.
TEMPLATE_VERSION = "2026.2"

_SLUG = re.compile(r"[^a-z0-9.]+")


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
        if state == State.APPROVED:
            return None
        if workflow.is_with_reviewers(state) and self.revision is not None:
            return _("Revision %(num)s — with reviewers", num=self.revision.number)
        if state == State.NOT_APPROVED and self.revision is not None:
            return _("Revision %(num)s — not approved", num=self.revision.number)
        if state == State.WITHDRAWN:
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
        return record_title(self.toolkit)

    @property
    def file_name(self) -> str:
        number = self.toolkit.paired_action.number
        return f"{_slug(self.town.slug)}-{number}-{self.toolkit.form}.pdf"

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


def toolkit_packet(toolkit: Toolkit, language: str) -> ToolkitPacket:
    """What a toolkit's packet shows: the latest revision once submitted, else live answers."""
    with document_context(language):
        return _toolkit_packet(toolkit, language)


def _toolkit_packet(toolkit: Toolkit, language: str) -> ToolkitPacket:
    revision = (
        review_services.latest_revision(toolkit) if workflow.shows_revision(toolkit.state) else None
    )
    if revision is not None:
        definition = load_definition(revision.definition_version, revision.toolkit.form)
        answers, evidence = revision.answers, revision.evidence
    else:
        definition = definition_for(toolkit)
        live = snapshot_of(toolkit)
        answers, evidence = live["answers"], live["evidence"]
    files = packet_files(toolkit, evidence)
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
    with document_context(language):
        return _town_packet(town, cycle, language, history=history, for_town=for_town)


def _town_packet(
    town: Municipality, cycle: Cycle, language: str, *, history: bool, for_town: bool
) -> TownPacket:
    every = toolkits_of(town, cycle, form=None)
    tiers = tiers_for(town, cycle)
    shown = sorted(
        (t for t in every if t.state != State.WITHDRAWN),
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


__all__ = [
    "TEMPLATE_VERSION",
    "Packet",
    "StepSection",
    "ToolkitPacket",
    "TownPacket",
    "toolkit_packet",
    "town_packet",
]
