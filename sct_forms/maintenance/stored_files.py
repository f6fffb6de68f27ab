"""The storage areas the app keeps files in, what is in them, and which rows refer to which file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from sct_forms.certificates.storage import is_certificate_name
from sct_forms.documents import packet_cache
from sct_forms.evidence import storage as evidence_storage
from sct_forms.models import Certificate, CertificateDocument, Evidence, Revision, User
from sct_forms.storage import Unfinished, current_storage


@dataclass(frozen=True)
class Store:
    """One storage area. Records are backed up and checked against rows; a cache is not."""

    label: str  # the storage area
    is_name: Callable[[str], bool] | None  # None: a cache, whose files have no rows

    @property
    def holds_records(self) -> bool:
        return self.is_name is not None

    def is_record_name(self, name: str) -> bool:
        return self.is_name is not None and self.is_name(name)

    def where(self, name: str) -> str:
        """Where a file of this area is, for a person."""
        return current_storage().where(self.label, name)


def stores() -> list[Store]:
    return [
        Store(evidence_storage.AREA, evidence_storage.is_storage_name),
        Store("certificates", is_certificate_name),
        Store(packet_cache.AREA, None),
    ]


def record_stores() -> list[Store]:
    return [store for store in stores() if store.holds_records]


# --- What is stored ---------------------------------------------------------------------------


@dataclass
class Listing:
    """A store's files: finished records by name, and unfinished (pending, .part) files."""

    store: Store
    stored: set[str] = field(default_factory=set)
    leftovers: list[Unfinished] = field(default_factory=list)

    def pending_names(self) -> set[str]:
        return {leftover.final_name for leftover in self.leftovers if leftover.kind == "pending"}


def list_store(store: Store) -> Listing:
    """Read a store's area. Files that are neither ours nor unfinished are left out."""
    storage = current_storage()
    listing = Listing(store, leftovers=storage.unfinished(store.label))
    if store.holds_records:
        listing.stored = {name for name in storage.list(store.label) if store.is_record_name(name)}
    return listing


def has_unfinished_file_for(store: Store, name: str) -> bool:
    """Whether a pending file for ``name`` exists now (its writer may still be at work)."""
    return store.is_record_name(name) and current_storage().has_pending(store.label, name)


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
