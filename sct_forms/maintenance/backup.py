"""A backup: every table of the database and every stored record file, with their hashes.

Layout of a backup folder::

    manifest.json               what is inside, with the SHA-256 and size of every file
    database/<table>.jsonl      one JSON object per row (see table_rows)
    files/evidence/ab/<name>    stored files, as in an instance folder
    files/certificates/<name>

Files are read from the app's storage (the instance folder or the S3 bucket) and written into
the backup folder in the same layout either way, so a backup of one restores into the other.

The rows are read in one snapshot. Files live outside the database, so they are copied around
it: first everything stored, then the snapshot, then the files of rows saved in between; copies
no row of the snapshot refers to are dropped. Every row then has its file, unless the file was
already missing (check-files reports it) or was uploaded and deleted while the backup ran; such
rows are listed in the manifest as ``missing``. The packet cache is not backed up: it is rebuilt
on demand.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from sct_forms import audit
from sct_forms.extensions import db
from sct_forms.files import write_atomically
from sct_forms.maintenance.stored_files import (
    Store,
    list_store,
    load_references,
    record_stores,
)
from sct_forms.maintenance.table_rows import alembic_revision, dump_table, snapshot
from sct_forms.storage import StoredFileMissing, current_storage

FORMAT = "sct-forms-backup/1"
MANIFEST = "manifest.json"


class BackupError(Exception):
    """The backup could not be made or read; the message says why and what to do."""


@dataclass
class Manifest:
    """What a backup holds: tables with their row counts, and every file with its hash."""

    created_at: str = ""
    dialect: str = ""
    alembic_revision: str | None = None
    tables: dict[str, dict] = field(default_factory=dict)
    files: dict[str, dict] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    def as_json(self) -> str:
        data = {
            "format": FORMAT,
            "created_at": self.created_at,
            "database": {
                "dialect": self.dialect,
                "alembic_revision": self.alembic_revision,
                "tables": self.tables,
            },
            "files": self.files,
            "missing": self.missing,
        }
        return json.dumps(data, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> Manifest:
        data = json.loads(raw)
        if data.get("format") != FORMAT:
            raise BackupError(f"not a backup of this kind (format {data.get('format')!r})")
        database = data["database"]
        return cls(
            created_at=data.get("created_at", ""),
            dialect=database.get("dialect", ""),
            alembic_revision=database.get("alembic_revision"),
            tables=database["tables"],
            files=data["files"],
            missing=data.get("missing", []),
        )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def stored_file_key(store: Store, name: str) -> str:
    """The path of a stored file inside a backup: files/<area>/<name>, evidence spread over
    sub-folders by the first two characters of its name (as in an instance folder)."""
    if store.label == "evidence":
        return f"files/{store.label}/{name[:2]}/{name}"
    return f"files/{store.label}/{name}"


def _write_file(destination: Path, data: bytes) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(destination, data)


def _empty_destination(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} is not an empty folder; give a new folder for the backup")
    dest.mkdir(parents=True, exist_ok=True)


def _copy_stored_files(dest: Path) -> dict[str, set[str]]:
    """Copy every finished record file stored now; returns the names copied per store."""
    storage = current_storage()
    copied: dict[str, set[str]] = {}
    for store in record_stores():
        copied[store.label] = set()
        for name in sorted(list_store(store).stored):
            try:
                data = storage.read(store.label, name)
            except StoredFileMissing:
                continue  # deleted since the listing: its row is gone from the snapshot too
            _write_file(dest / stored_file_key(store, name), data)
            copied[store.label].add(name)
    return copied


def _dump_database(dest: Path, manifest: Manifest) -> dict[str, dict[str, str]]:
    """Write every table from one snapshot; returns the file names its rows refer to."""
    with snapshot(db.engine) as connection:
        manifest.dialect = connection.dialect.name
        manifest.alembic_revision = alembic_revision(connection)
        folder = dest / "database"
        folder.mkdir(parents=True, exist_ok=True)
        for table in db.metadata.sorted_tables:
            with (folder / f"{table.name}.jsonl").open("w", encoding="utf-8") as stream:
                rows = dump_table(connection, table, stream)
            manifest.tables[table.name] = {
                "rows": rows,
                "columns": sorted(column.name for column in table.columns),
            }
        refs = load_references(connection)
        return refs.by_store


def _saved_file(store: Store, name: str) -> bytes | None:
    """The file of a saved row: in place, or (saved a moment ago) still pending."""
    if not store.is_record_name(name):
        return None
    storage = current_storage()
    try:
        return storage.read(store.label, name)
    except StoredFileMissing:
        return storage.read_pending(store.label, name)


def _complete_files(dest: Path, copied: dict[str, set[str]], saved: dict[str, dict]) -> list[str]:
    """Copy files of rows saved after the first copy; drop copies no saved row refers to.

    Returns the rows whose file could not be found, described for a person.
    """
    missing = []
    for store in record_stores():
        names = saved.get(store.label, {})
        for name in sorted(set(names) - copied[store.label]):
            data = _saved_file(store, name)
            if data is None:
                missing.append(f"{names[name]}: {store.label}/{name}")
                continue
            _write_file(dest / stored_file_key(store, name), data)
        for name in copied[store.label] - set(names):
            (dest / stored_file_key(store, name)).unlink()
    return missing


def _hash_everything(dest: Path, manifest: Manifest) -> None:
    for path in sorted(p for p in dest.rglob("*") if p.is_file()):
        key = path.relative_to(dest).as_posix()
        if key != MANIFEST:
            manifest.files[key] = {"sha256": sha256_of(path), "size": path.stat().st_size}


def write_backup(dest: Path, created_at: str) -> Manifest:
    """Back up the database and every stored record file into the empty folder ``dest``.

    The manifest is written last: a folder without one is not a finished backup.
    """
    _empty_destination(dest)
    manifest = Manifest(created_at=created_at)
    copied = _copy_stored_files(dest)
    saved = _dump_database(dest, manifest)
    manifest.missing = _complete_files(dest, copied, saved)
    _hash_everything(dest, manifest)
    write_atomically(dest / MANIFEST, manifest.as_json().encode("utf-8"))
    _flush(dest)
    audit.record(
        "backup.written",
        actor=None,
        object_type="backup",
        object_id=dest.name[:40],
        destination=str(dest),
        tables={name: table["rows"] for name, table in manifest.tables.items()},
        files=sum(1 for key in manifest.files if key.startswith("files/")),
        missing=len(manifest.missing),
    )
    db.session.commit()
    return manifest


def _flush(folder: Path) -> None:
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
