"""Commands: check-files [--repair], backup DEST, restore SRC [--force]."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from sct_forms.maintenance.backup import BackupError, write_backup
from sct_forms.maintenance.file_check import find_problems, repair
from sct_forms.maintenance.recovery import record_repairs
from sct_forms.maintenance.restore import restore_backup


def register(app: Flask) -> None:
    app.cli.add_command(check_files_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


@click.command("check-files")
@click.option("--repair", "do_repair", is_flag=True, help="Finish or remove what crashes left.")
def check_files_command(do_repair: bool) -> None:
    """List stored files and rows that disagree; exit status 1 if anything is found.

    With --repair: move saved files of stopped uploads into place, remove leftovers and files
    no row refers to, and exit 1 only if something is left that a person must deal with.
    Rows whose file is missing are never deleted.
    """
    try:
        findings = find_problems()
    except SQLAlchemyError as error:
        raise click.ClickException(
            f"could not read the database ({error.__class__.__name__}); check DATABASE_URL and "
            "run 'flask --app sct_forms db upgrade'"
        ) from error
    if not findings:
        click.echo("No problems: every stored file has its row, and every row its file.")
        return
    for finding in findings:
        click.echo(finding.line())
    if not do_repair:
        repairable = sum(finding.repairable for finding in findings)
        click.echo(f"{len(findings)} problem(s) found; --repair would fix {repairable}.")
        raise SystemExit(1)
    repaired = repair(findings)
    record_repairs(repaired, by="check-files")
    left = len(findings) - len(repaired)
    click.echo(f"Repaired {len(repaired)} problem(s); {left} need a person (see above).")
    if left:
        raise SystemExit(1)


@click.command("backup")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
def backup_command(dest: Path) -> None:
    """Write the database and every stored file into the new folder DEST, with a manifest."""
    try:
        manifest = write_backup(dest, datetime.now(UTC).isoformat(timespec="seconds"))
    except BackupError as error:
        raise click.ClickException(f"no backup was made: {error}") from error
    rows = sum(table["rows"] for table in manifest.tables.values())
    files = sum(1 for key in manifest.files if key.startswith("files/"))
    tables = len(manifest.tables)
    click.echo(f"Backed up {rows} rows in {tables} tables and {files} files to {dest}.")
    if manifest.missing:
        click.echo(
            f"Warning: {len(manifest.missing)} row(s) refer to a file that was not there, so "
            "the backup holds them without it; 'flask --app sct_forms check-files' tells more:"
        )
        for line in manifest.missing:
            click.echo(f"  {line}")


@click.command("restore")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
def restore_command(src: Path, force: bool) -> None:
    """Put back a backup made by 'backup': every row and every stored file."""
    try:
        counts = restore_backup(src, force=force)
    except BackupError as error:
        raise click.ClickException(f"nothing was restored: {error}") from error
    click.echo(f"Restored {sum(counts.values())} rows in {len(counts)} tables from {src}.")
