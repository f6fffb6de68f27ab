"""A packet as PDF bytes: its template rendered, then its PDF evidence appended.

:func:`build_pdf` renders the HTML template with the render service (images come in as the
print renditions made at upload, ``evidence:<print_storage_name>``, never re-encoded here) and
appends PDF evidence after the rendered pages with pypdf, one bookmark each, keeping
WeasyPrint's own bookmarks, tags and metadata. :func:`render_preview` renders the same
template as HTML for the browser.
"""

from __future__ import annotations

import io
import re
import warnings
from typing import Any

from flask import current_app
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject

from sct_forms.documents.packet_evidence import PacketFile
from sct_forms.documents.packets import Packet, ToolkitPacket
from sct_forms.documents.render import document_context, render_html, render_pdf
from sct_forms.evidence import storage
from sct_forms.i18n import gettext as _
from sct_forms.models import utcnow

TOOLKIT_TEMPLATE = "pdf/toolkit_packet.html"
TOWN_TEMPLATE = "pdf/town_packet.html"


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
    with document_context(packet.language):
        return render_html(template_for(packet), **template_context(packet, preview=True))


def build_pdf(packet: Packet) -> bytes:
    """Render a packet and append its PDF evidence: the bytes the cache stores."""
    with document_context(packet.language):
        return _build_pdf(packet)


def _build_pdf(packet: Packet) -> bytes:
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
    rendered = render_pdf(
        template_for(packet),
        municipality_id=packet.municipality_id,
        # The page numbers count the evidence pages appended after the rendered ones.
        pages_after=sum(file.pages or 0 for _title, files in groups for file in files),
        **template_context(packet, preview=False),
    )
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
                        PdfReader(io.BytesIO(storage.read(file.storage_name))),
                        import_outline=False,
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


__all__ = [
    "TOOLKIT_TEMPLATE",
    "TOWN_TEMPLATE",
    "append_attachments",
    "build_pdf",
    "render_preview",
    "template_context",
    "template_for",
]
