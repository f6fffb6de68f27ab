"""Putting a backup back: check it whole, then the files, then every row in one transaction."""

from __future__ import annotations

from pathlib import Path

from sct_forms import audit
from sct_forms.documents import packet_cache
from sct_forms.extensions import db
from sct_forms.maintenance.backup import (
    MANIFEST,
    BackupError,
    Manifest,
    sha256_of,
    stored_file_key,
)
from sct_forms.maintenance.stored_files import list_store, record_stores
from sct_forms.maintenance.table_rows import (
    alembic_revision,
    empty_tables,
    is_empty,
    load_table,
    read_dump,
    reset_sequences,
    table_columns,
)
from sct_forms.storage import current_storage

UPGRADE_FIRST = "run 'flask --app sct_forms db upgrade' on an empty database first"


def read_manifest(source: Path) -> Manifest:
    """The backup's manifest, once every file it names is there with the right hash."""
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{source} has no {MANIFEST}: it is not a finished backup")
    manifest = Manifest.from_json(path.read_text(encoding="utf-8"))
    damaged = [
        key
        for key, expected in sorted(manifest.files.items())
        if not (source / key).is_file() or sha256_of(source / key) != expected["sha256"]
    ]
    if damaged:
        raise BackupError(
            f"{len(damaged)} file(s) of the backup are missing or changed, for example "
            f"{damaged[0]}; nothing was restored. Use another copy of the backup"
        )
    return manifest


def _check_schema(manifest: Manifest) -> None:
    """The database and the app must have exactly the backup's tables and columns."""
    app_tables = {
        table.name: sorted(column.name for column in table.columns)
        for table in db.metadata.sorted_tables
    }
    backup_tables = {name: table["columns"] for name, table in manifest.tables.items()}
    if app_tables != backup_tables:
        raise BackupError(
            "the backup was made by a version of sct-forms with other tables or columns; "
            "restore it with that version, then upgrade"
        )
    with db.engine.connect() as connection:
        found = table_columns(connection)
        revision = alembic_revision(connection)
    if any(found.get(name) != columns for name, columns in app_tables.items()):
        raise BackupError(f"the database does not have the app's tables yet: {UPGRADE_FIRST}")
    if revision and manifest.alembic_revision and revision != manifest.alembic_revision:
        raise BackupError(
            f"the backup is of schema {manifest.alembic_revision}, the database is at {revision}; "
            "restore with the version of sct-forms that made the backup"
        )


def _stored_files_now() -> list[tuple[str, str]]:
    """Every stored record file, as (area, name)."""
    return [(store.label, name) for store in record_stores() for name in list_store(store).stored]


def _refuse_unless_empty(force: bool) -> None:
    if force:
        return
    with db.engine.connect() as connection:
        empty = is_empty(connection, db.metadata.sorted_tables)
    files = _stored_files_now()
    if not empty or files:
        what = "rows" if not empty else f"{len(files)} stored file(s)"
        raise BackupError(
            f"the database or the storage already holds data ({what}); restoring replaces "
            "all of it. Run restore again with --force if that is what you want"
        )


def _restore_files(source: Path, manifest: Manifest) -> set[tuple[str, str]]:
    """Store every stored file of the backup; returns them as (area, name)."""
    stores = {store.label: store for store in record_stores()}
    storage = current_storage()
    written = set()
    for key in manifest.files:
        parts = key.split("/")
        if parts[0] != "files":
            continue
        store = stores.get(parts[1]) if len(parts) > 2 else None
        name = parts[-1]
        # Only the layout a backup is written in: nothing can name a place of its own choosing.
        if store is None or not store.is_record_name(name) or stored_file_key(store, name) != key:
            raise BackupError(f"the backup names a file that is not a stored file: {key}")
        storage.put(store.label, name, (source / key).read_bytes())
        written.add((store.label, name))
    return written


def _restore_rows(source: Path, manifest: Manifest) -> dict[str, int]:
    tables = db.metadata.sorted_tables
    counts = {}
    with db.engine.begin() as connection:
        empty_tables(connection, tables)
        for table in tables:
            rows = read_dump(table, source / "database" / f"{table.name}.jsonl")
            counts[table.name] = load_table(connection, table, rows)
            if counts[table.name] != manifest.tables[table.name]["rows"]:
                raise BackupError(f"table {table.name}: the dump does not match the manifest")
        reset_sequences(connection, tables)
    return counts


def _remove_other_files(kept: set[tuple[str, str]]) -> int:
    """Stored files the restored rows know nothing of, and the packet cache (rebuilt on demand)."""
    storage = current_storage()
    others = [stored for stored in _stored_files_now() if stored not in kept]
    for area, name in others:
        storage.delete(area, name)
    for name in storage.list(packet_cache.AREA):
        storage.delete(packet_cache.AREA, name)
    return len(others)


def restore_backup(source: Path, *, force: bool = False) -> dict[str, int]:
    """Replace the database's rows and the stored files with the backup's; returns row counts.

    Refuses (BackupError, nothing changed) a damaged backup, a schema that differs, or a
    database or storage that holds data unless ``force``.
    """
    db.session.remove()  # the rows are replaced over connections of their own
    manifest = read_manifest(source)
    _check_schema(manifest)
    _refuse_unless_empty(force)
    written = _restore_files(source, manifest)
    counts = _restore_rows(source, manifest)
    removed = _remove_other_files(written)
    audit.record(
        "backup.restored",
        actor=None,
        object_type="backup",
        object_id=source.name[:40],
        source=str(source),
        made_at=manifest.created_at,
        tables=counts,
        files=len(written),
        removed_files=removed,
    )
    db.session.commit()
    return counts
