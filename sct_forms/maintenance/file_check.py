"""Finding where stored files and the database disagree, and repairing what can be repaired.

What can be found, and what ``repair`` does about it:

* ``unfinished``: a pending file whose writer died. With a committed row it is moved into
  place (the upload was saved); without one it is removed (the upload never was).
* ``partial``: a ``.part`` file whose writer died: removed.
* ``orphan``: a stored file that no evidence, certificate or submitted revision refers to (a
  crash between writing and saving, or between a delete and the file's removal): removed.
* ``elsewhere``: an old unfinished file written on another host: never touched here, since its
  writer cannot be checked from this host.

A file in a folder names its writer (host, process), so a dead writer's file is known at once.
An object in S3 does not: a pending object counts as left by a dead writer once it is
``UNKNOWN_WRITER_DEAD_AFTER_SECONDS`` old (a writer places its file within seconds).
* ``missing``: a row whose file is gone: reported with what a person should do, never deleted.

Files are listed *before* the rows are read: a file reaches its final name only after its row
is committed, so a file seen in the listing always has its row visible to the later query.
A live writer's files (this host, a live process) are never reported or touched.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sct_forms.extensions import db
from sct_forms.maintenance.stored_files import (
    Listing,
    References,
    Store,
    add_revision_references,
    has_unfinished_file_for,
    list_store,
    load_references,
    stores,
)
from sct_forms.storage import Unfinished, current_storage

#: An unfinished file of another host is reported (never touched) once it is this old.
ELSEWHERE_REPORT_AFTER_SECONDS = 60 * 60
#: A ``.part`` file of an older version (no host in its name) is taken as dead at this age.
OLD_PART_DEAD_AFTER_SECONDS = 24 * 60 * 60
#: A pending object whose writer is not known (S3) is taken as dead at this age.
UNKNOWN_WRITER_DEAD_AFTER_SECONDS = 60 * 60


@dataclass(frozen=True)
class Finding:
    """One disagreement: what, where, why, and what repair does or a person should do."""

    kind: str
    subject: str
    reason: str
    remedy: str
    repair: Callable[[], None] | None = None

    @property
    def repairable(self) -> bool:
        return self.repair is not None

    def line(self) -> str:
        return f"{self.kind}: {self.subject}: {self.reason}. {self.remedy}"


def _remove_unfinished(leftover: Unfinished) -> Callable[[], None]:
    return lambda: current_storage().remove_unfinished(leftover)


def _remove(store: Store, name: str) -> Callable[[], None]:
    return lambda: current_storage().delete(store.label, name)


def _move_into_place(leftover: Unfinished) -> Callable[[], None]:
    return lambda: current_storage().finish(leftover)


def _age(leftover: Unfinished) -> float:
    return time.time() - leftover.modified


# --- Unfinished files -------------------------------------------------------------------------


def _writer_is_gone(leftover: Unfinished) -> bool | None:
    """True if the writer is dead; False if alive or still possibly at work; None: elsewhere."""
    if leftover.writer is None:
        if leftover.kind == "part":
            return _age(leftover) > OLD_PART_DEAD_AFTER_SECONDS
        return _age(leftover) > UNKNOWN_WRITER_DEAD_AFTER_SECONDS
    if not leftover.writer.on_this_host:
        return None
    return not leftover.writer.is_alive()


def _elsewhere(leftover: Unfinished) -> Finding | None:
    if _age(leftover) < ELSEWHERE_REPORT_AFTER_SECONDS:
        return None  # most likely still being written
    host = leftover.writer.host if leftover.writer else "?"
    return Finding(
        "elsewhere",
        leftover.where,
        f"an unfinished file written on host {host}, which this host cannot check",
        f"Not touched: run 'flask --app sct_forms check-files --repair' on {host}; if that "
        "host no longer exists, delete the file by hand",
    )


def _dead_leftover(leftover: Unfinished, saved_names: dict[str, str]) -> Finding:
    where = leftover.where
    if leftover.kind == "part":
        return Finding(
            "partial",
            where,
            "a half-written file whose writer stopped",
            "--repair removes it",
            _remove_unfinished(leftover),
        )
    if leftover.final_name in saved_names:
        return Finding(
            "unfinished",
            where,
            f"{saved_names[leftover.final_name]} was saved, but the app stopped before its "
            "file was moved into place",
            "--repair moves it into place",
            _move_into_place(leftover),
        )
    return Finding(
        "unfinished",
        where,
        "the app stopped before this upload was saved",
        "--repair removes it",
        _remove_unfinished(leftover),
    )


def _leftover_findings(listing: Listing, refs: References) -> list[Finding]:
    saved = refs.names(listing.store.label)
    findings = []
    for leftover in listing.leftovers:
        gone = _writer_is_gone(leftover)
        if gone is None:
            finding = _elsewhere(leftover)
        elif gone:
            finding = _dead_leftover(leftover, saved)
        else:
            finding = None  # a live writer's file
        if finding is not None:
            findings.append(finding)
    return findings


# --- Orphans and missing files ----------------------------------------------------------------


def _orphan_findings(listing: Listing, refs: References) -> list[Finding]:
    referenced = refs.names(listing.store.label)
    findings = []
    store = listing.store
    for name in sorted(listing.stored):
        if name in referenced:
            continue
        if refs.has_accounts:
            findings.append(
                Finding(
                    "orphan",
                    store.where(name),
                    f"no row refers to this {store.label} file (an upload or delete "
                    "was interrupted)",
                    "--repair removes it",
                    _remove(store, name),
                )
            )
        else:
            findings.append(
                Finding(
                    "orphan",
                    store.where(name),
                    "no row refers to this file, but the database has no accounts at all",
                    "Not removed: check that DATABASE_URL names this installation's database "
                    "(restore a backup first if it should hold data)",
                )
            )
    return findings


def _missing_findings(listing: Listing, refs: References) -> list[Finding]:
    store = listing.store
    unfinished = listing.pending_names()
    storage = current_storage()
    findings = []
    for name, described in sorted(refs.names(store.label).items(), key=lambda item: item[1]):
        if name in listing.stored or name in unfinished or not store.is_record_name(name):
            continue
        # Saved while we listed: its pending file appeared after the listing, or it just moved.
        if storage.exists(store.label, name) or has_unfinished_file_for(store, name):
            continue
        findings.append(
            Finding(
                "missing",
                described,
                f"its file {store.where(name)} is missing",
                _missing_remedy(store),
            )
        )
    return findings


def _missing_remedy(store: Store) -> str:
    if store.label == "certificates":
        return (
            "Not repaired: put the file back from a backup ('flask --app sct_forms restore'); "
            "otherwise an administrator revokes the certificate and issues it again"
        )
    return (
        "Not repaired: put the file back from a backup ('flask --app sct_forms restore'); "
        "otherwise ask the town to upload the file again, then delete this entry"
    )


# --- The whole check --------------------------------------------------------------------------


def find_problems(*, include_missing: bool = True) -> list[Finding]:
    """Every disagreement between the stores and the database, one finding each."""
    listings = [list_store(store) for store in stores()]  # before the rows: see above
    if not any(listing.stored or listing.leftovers for listing in listings) and not include_missing:
        return []
    with db.engine.connect() as connection:
        refs = load_references(connection, with_revisions=False)
        # Revisions hold whole snapshots: read them only when a file may depend on them.
        if include_missing or _unreferenced_files(listings, refs):
            add_revision_references(connection, refs)
    findings: list[Finding] = []
    for listing in listings:
        findings += _leftover_findings(listing, refs)
        if listing.store.holds_records:
            findings += _orphan_findings(listing, refs)
            if include_missing:
                findings += _missing_findings(listing, refs)
    return findings


def _unreferenced_files(listings: list[Listing], refs: References) -> bool:
    return any(
        name not in refs.names(listing.store.label)
        for listing in listings
        for name in listing.stored
    )


def repair(findings: list[Finding]) -> list[Finding]:
    """Carry out every repair that can be done here; returns the findings repaired."""
    repaired = []
    for finding in findings:
        if finding.repair is not None:
            finding.repair()
            repaired.append(finding)
    return repaired
