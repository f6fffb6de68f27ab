"""The folders the app writes files to, what is in them, and which rows refer to which file."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import Connection, select

from sct_forms.certificates.storage import certificate_path, certificate_root
from sct_forms.documents import packet_cache
from sct_forms.evidence import storage
from sct_forms.files import Leftover, is_unfinished, parse_leftover
from sct_forms.models import Certificate, CertificateDocument, Evidence, Revision, User


@dataclass(frozen=True)
class Store:
    """One folder of files. Records are backed up and checked against rows; a cache is not."""

    label: str
    root: Path
    path_for: Callable[[str], Path] | None  # None: a cache, whose files have no rows

    @property
    def holds_records(self) -> bool:
        return self.path_for is not None

    def final_path(self, name: str) -> Path | None:
        """Where a record named ``name`` lives, or None if it is not one of this store's names."""
        try:
            return self.path_for(name) if self.path_for else None
        except ValueError:
            return None


def stores() -> list[Store]:
    return [
        Store("evidence", storage.evidence_root(), storage.path_for),
        Store("certificates", certificate_root(), certificate_path),
        Store("packets", packet_cache.cache_dir(), None),
    ]


def record_stores() -> list[Store]:
    return [store for store in stores() if store.holds_records]


def relative(path: Path) -> str:
    """A path as people should read it: relative to the instance folder."""
    try:
        return str(path.relative_to(current_app.instance_path))
    except ValueError:
        return str(path)


# --- What is on disk --------------------------------------------------------------------------


@dataclass
class Listing:
    """A store's files: finished records by name, and unfinished (pending, .part) files."""

    store: Store
    stored: dict[str, Path] = field(default_factory=dict)
    leftovers: list[Leftover] = field(default_factory=list)

    def pending_names(self) -> set[str]:
        return {leftover.final_name for leftover in self.leftovers if leftover.kind == "pending"}


def _files_under(root: Path) -> Iterator[Path]:
    for folder, _subfolders, names in os.walk(root):
        for name in names:
            yield Path(folder) / name


def list_store(store: Store) -> Listing:
    """Read a store's folder. Files that are neither ours nor unfinished are left out."""
    listing = Listing(store)
    for path in _files_under(store.root):
        if is_unfinished(path):
            leftover = parse_leftover(path)
            if leftover is not None:
                listing.leftovers.append(leftover)
        elif store.final_path(path.name) == path:
            listing.stored[path.name] = path
    return listing


def has_unfinished_file_for(store: Store, name: str) -> bool:
    """Whether a pending file for ``name`` exists now (its writer may still be at work)."""
    target = store.final_path(name)
    if target is None or not target.parent.is_dir():
        return False
    return any(target.parent.glob(f".{name}.*.pending"))


# --- Which rows refer to which file -----------------------------------------------------------


@dataclass
class References:
    """For each store, the names rows refer to, each with the row described for a person."""

    by_store: dict[str, dict[str, str]] = field(default_factory=dict)
    has_accounts: bool = True

    def names(self, label: str) -> dict[str, str]:
        return self.by_store.setdefault(label, {})


def _evidence_references(connection: Connection, refs: References) -> None:
    rows = connection.execute(
        select(
            Evidence.id,
            Evidence.toolkit_id,
            Evidence.step_key,
            Evidence.title,
            Evidence.storage_name,
            Evidence.print_storage_name,
        )
    )
    names = refs.names("evidence")
    for row in rows:
        described = f'evidence {row.id} "{row.title}" (toolkit {row.toolkit_id}, {row.step_key})'
        names[row.storage_name] = described
        if row.print_storage_name:
            names[row.print_storage_name] = f"the print copy of {described}"


def _certificate_references(connection: Connection, refs: References) -> None:
    names = refs.names("certificates")
    # Every language's document of every certificate is a record to back up and check.
    query = select(
        Certificate.serial, CertificateDocument.language, CertificateDocument.storage_name
    ).join(CertificateDocument, CertificateDocument.certificate_id == Certificate.id)
    for row in connection.execute(query):
        names[row.storage_name] = f"certificate {row.serial} ({row.language})"


def add_revision_references(connection: Connection, refs: References) -> None:
    """Files a submitted revision froze: they stay while the revision exists."""
    names = refs.names("evidence")
    query = select(Revision.toolkit_id, Revision.number, Revision.snapshot)
    for row in connection.execute(query):
        for item in (row.snapshot or {}).get("evidence", []):
            described = (
                f'revision {row.number} of toolkit {row.toolkit_id} ("{item.get("title", "")}")'
            )
            for key in ("storage_name", "print_storage_name"):
                if item.get(key):
                    names.setdefault(item[key], described)


def load_references(connection: Connection, *, with_revisions: bool = True) -> References:
    """Every stored file some row refers to, read through ``connection``.

    ``with_revisions=False`` leaves out the files only a submitted revision refers to; add them
    with :func:`add_revision_references` before deciding that a file is unused.
    """
    refs = References()
    _evidence_references(connection, refs)
    _certificate_references(connection, refs)
    if with_revisions:
        add_revision_references(connection, refs)
    refs.has_accounts = connection.execute(select(User.id).limit(1)).first() is not None
    return refs
