"""The evidence files a packet shows: which still exist, and how many pages each PDF has.

A revision snapshot (or the live toolkit) lists evidence entries; :func:`packet_files` turns
them into :class:`PacketFile` rows, checking each stored file is still there and still named by
an Evidence row of the town, and counting the pages of PDF evidence with pypdf (a PDF that
cannot be read is only listed, never appended).
"""

from __future__ import annotations

import functools
import io
import warnings
from dataclasses import dataclass

from pypdf import PdfReader
from sqlalchemy import select

from sct_forms.evidence import storage
from sct_forms.extensions import db
from sct_forms.models import Evidence, Toolkit


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


def packet_files(toolkit: Toolkit, evidence: list[dict]) -> list[PacketFile]:
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
            pages = _pdf_page_count(name)
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
    return storage.exists(name)


@functools.lru_cache(maxsize=2048)
def _pdf_page_count(name: str) -> int | None:
    """Pages of a stored PDF, or None if pypdf cannot read it now (it is listed instead).

    Every packet request needs the counts for its key; a stored file never changes under its
    (random) name, so a count is kept by name.
    """
    try:
        data = storage.read(name)
    except OSError:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                return None
            return len(reader.pages) or None
    except Exception:  # noqa: BLE001 - pypdf raises many types on damaged files
        return None


__all__ = ["PacketFile", "packet_files"]
