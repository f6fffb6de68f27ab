"""backup and restore: every row of every table and every stored file comes back as it was."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from sct_forms.certificates import services as certificates
from sct_forms.documents import packet_cache
from sct_forms.evidence import services
from sct_forms.extensions import db
from sct_forms.maintenance.backup import stored_file_key
from sct_forms.maintenance.stored_files import list_store, record_stores
from sct_forms.maintenance.table_rows import decode, empty_tables, encode, rows_of
from sct_forms.models import AuditEvent, Cycle, Evidence, Revision, User
from sct_forms.models.certificates import Certificate
from sct_forms.review.snapshots import snapshot_of
from tests.conftest import make_app
from tests.evidence import samples
from tests.maintenance.helpers import check_files, upload_photo
from tests.storage_helpers import delete_stored, read_stored, replace_stored, stored_names
from tests.toolkit_helpers import fill_completely, make_toolkit


def approved_toolkit(town, cycle, action, user):  # noqa: ANN001, ANN201
    toolkit = make_toolkit(town, cycle, action, user)
    toolkit.state = "approved"
    db.session.commit()
    return toolkit


@pytest.fixture
def filled(app, town, cycle, catalog, staff_user, reviewer_user, admin_user, monkeypatch):
    """Accounts, a toolkit with answers, evidence with print copies, a revision whose file the
    draft has since deleted, audit rows, and a bronze certificate superseded by a silver one."""
    toolkit = make_toolkit(town, cycle, catalog["3.4"], staff_user)
    fill_completely(toolkit, staff_user, with_evidence=False)
    upload_photo(toolkit, staff_user)
    services.add_evidence(
        toolkit,
        "engagement",
        data=samples.pdf_bytes(),
        filename="Flyer (Spanish).pdf",
        title="Flyer",
        alt_text="",
        people_consented=False,
        user=staff_user,
    )
    withdrawn = upload_photo(toolkit, staff_user)
    db.session.add(
        Revision(
            toolkit_id=toolkit.id,
            number=1,
            definition_version=toolkit.definition_version,
            snapshot=snapshot_of(toolkit),
            submitted_by_id=staff_user.id,
        )
    )
    toolkit.state = "approved"
    db.session.commit()
    services.delete_evidence(withdrawn, staff_user)  # its files stay for revision 1

    monkeypatch.setattr(
        certificates,
        "render_certificate",
        lambda certificate, *rest: (f"%PDF-1.7 {certificate.serial}".encode(), "pdf/a-3b"),
    )
    # What the program does after the reviewer's approvals.
    assert certificates.issue_after_decision(town, cycle, reviewer_user) is not None
    for number in ("3.12", "5.4"):
        approved_toolkit(town, cycle, catalog[number], staff_user)
    assert certificates.issue_after_decision(town, cycle, reviewer_user) is not None
    db.session.commit()
    db.session.close()


def every_row() -> dict[str, list[dict]]:
    with db.engine.connect() as connection:
        return {t.name: list(rows_of(connection, t)) for t in db.metadata.sorted_tables}


def every_file(app) -> dict[str, bytes]:  # noqa: ANN001
    """Every stored record file of the app, by area and name."""
    return {
        f"{store.label}/{name}": read_stored(store.label, name)
        for store in record_stores()
        for name in list_store(store).stored
    }


def wipe(app) -> None:  # noqa: ANN001
    """Lose everything: every row (PostgreSQL ids start again at 1) and every stored file."""
    db.session.close()
    tables = db.metadata.sorted_tables
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        else:
            empty_tables(connection, tables)
    for store in record_stores():
        for name in stored_names(store.label):
            delete_stored(store.label, name)


def run(app, *args: str):  # noqa: ANN001, ANN201
    result = app.test_cli_runner().invoke(args=list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_a_backup_restored_into_an_empty_installation_gives_back_every_row_and_file(
    app, tmp_path, filled
):
    rows, files = every_row(), every_file(app)
    assert len(rows["evidence"]) == 2 and len(rows["revision"]) == 1
    assert len(files) == 7  # 2 photos with their print copies, a flyer, 2 certificates
    superseded = [r for r in rows["certificate"] if r["superseded_by_id"]]
    assert superseded and superseded[0]["superseded_by_id"] > superseded[0]["id"]

    dest = tmp_path / "backup-1"
    made = run(app, "backup", str(dest))
    assert made.exit_code == 0, made.output
    assert "7 files" in made.output
    manifest = json.loads((dest / "manifest.json").read_text())
    assert {key for key in manifest["files"] if key.startswith("files/")} == {
        stored_file_key(store, name)
        for store in record_stores()
        for name in list_store(store).stored
    }
    assert manifest["database"]["tables"]["evidence"]["rows"] == 2

    wipe(app)
    assert every_file(app) == {}
    restored = run(app, "restore", str(dest))
    assert restored.exit_code == 0, restored.output

    after = every_row()
    assert [e["action"] for e in after["audit_event"][-1:]] == ["backup.restored"]
    after["audit_event"] = [e for e in after["audit_event"] if e["action"] != "backup.restored"]
    backup_event = [e for e in rows["audit_event"] if e["action"] == "backup.written"]
    assert backup_event == []  # written after the snapshot, so not in the backup
    assert after == rows
    assert every_file(app) == files
    assert check_files(app).exit_code == 0

    # New rows get new ids (PostgreSQL's sequences continue after the restored rows).
    db.session.add(AuditEvent(action="test.after", object_type="test", object_id="1"))
    db.session.commit()
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "test.after")) > max(
        e["id"] for e in rows["audit_event"]
    )


def test_a_backup_restores_into_a_new_sqlite_installation(app, tmp_path, filled, monkeypatch):
    """Portable: in the PostgreSQL run of the suite this goes from PostgreSQL to SQLite."""
    rows, files = every_row(), every_file(app)
    dest = tmp_path / "backup"
    assert run(app, "backup", str(dest)).exit_code == 0

    monkeypatch.setenv("SCT_INSTANCE_PATH", str(tmp_path / "new-instance"))
    other = make_app(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'new.sqlite3'}")
    with other.app_context():
        db.create_all()
        restored = run(other, "restore", str(dest))
        assert restored.exit_code == 0, restored.output
        after = every_row()
        after["audit_event"] = [e for e in after["audit_event"] if e["action"] != "backup.restored"]
        assert after == rows
        assert every_file(other) == files
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_a_database_that_holds_data_unless_forced(app, tmp_path, filled):
    dest = tmp_path / "backup"
    assert run(app, "backup", str(dest)).exit_code == 0
    rows = every_row()
    extra = db.session.query(Evidence).first()
    services.delete_evidence(extra, db.session.get(type(extra.uploaded_by), extra.uploaded_by_id))

    refused = run(app, "restore", str(dest))
    assert refused.exit_code != 0
    assert "nothing was restored: the database or the storage already holds data" in (
        refused.output
    )
    assert "--force" in refused.output
    assert db.session.query(Evidence).count() == 1

    forced = run(app, "restore", "--force", str(dest))
    assert forced.exit_code == 0, forced.output
    db.session.expire_all()
    assert db.session.query(Evidence).count() == 2
    after = every_row()
    assert [r["id"] for r in after["certificate"]] == [r["id"] for r in rows["certificate"]]
    assert check_files(app).exit_code == 0


def test_restore_refuses_a_damaged_backup_and_changes_nothing(app, tmp_path, filled):
    dest = tmp_path / "backup"
    assert run(app, "backup", str(dest)).exit_code == 0
    photo = next((dest / "files" / "evidence").rglob("*"))
    while photo.is_dir():
        photo = next(photo.iterdir())
    photo.write_bytes(b"changed")
    wipe(app)

    refused = run(app, "restore", str(dest))
    assert refused.exit_code != 0
    assert "missing or changed" in refused.output and "nothing was restored" in refused.output
    assert db.session.query(Certificate).count() == 0


def test_a_folder_without_a_manifest_is_not_a_backup(app, tmp_path):
    (tmp_path / "half").mkdir()
    refused = run(app, "restore", str(tmp_path / "half"))
    assert refused.exit_code != 0
    assert "has no manifest.json: it is not a finished backup" in refused.output


def test_backup_refuses_a_folder_that_is_not_empty(app, tmp_path, filled):
    dest = tmp_path / "used"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    refused = run(app, "backup", str(dest))
    assert refused.exit_code != 0
    assert "is not an empty folder" in refused.output
    assert sorted(p.name for p in dest.iterdir()) == ["notes.txt"]


def test_the_packet_cache_is_not_backed_up(app, tmp_path, filled):
    replace_stored(packet_cache.AREA, "toolkit-1-abc.pdf", b"%PDF cached")
    dest = tmp_path / "backup"
    assert run(app, "backup", str(dest)).exit_code == 0
    assert not (dest / "files" / "packets").exists()
    manifest = json.loads((dest / "manifest.json").read_text())
    assert not any("packets" in key for key in manifest["files"])


def test_values_keep_their_types_through_json(app):
    moments = [
        (User.__table__.c.created_at, datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),
        (Cycle.__table__.c.opens_on, date(2026, 7, 1)),
        (Evidence.__table__.c.people_consented, True),
        (Revision.__table__.c.snapshot, {"answers": {"a": [1, "b"]}}),
        (Evidence.__table__.c.size, 1234),
    ]
    for column, value in moments:
        written = json.loads(json.dumps(encode(value)))
        assert decode(column, written) == value
        assert type(decode(column, written)) is type(value)


def test_a_backup_is_the_manifest_plus_one_file_per_table(app, tmp_path, filled):
    dest = tmp_path / "backup"
    assert run(app, "backup", str(dest)).exit_code == 0
    dumps = sorted(p.name for p in (dest / "database").iterdir())
    assert dumps == sorted(f"{t.name}.jsonl" for t in db.metadata.sorted_tables)
    first = json.loads((dest / "database" / "evidence.jsonl").read_text().splitlines()[0])
    assert isinstance(first["uploaded_at"], str) and first["uploaded_at"].endswith("+00:00")
    assert Path(dest / "manifest.json").is_file()


def test_a_row_whose_file_is_already_missing_is_backed_up_with_a_warning(app, tmp_path, filled):
    photo = db.session.query(Evidence).filter_by(kind="image").one()
    delete_stored("evidence", photo.print_storage_name)
    dest = tmp_path / "backup"
    made = run(app, "backup", str(dest))
    assert made.exit_code == 0, made.output
    assert "Warning: 1 row(s) refer to a file that was not there" in made.output
    assert f'the print copy of evidence {photo.id} "Sign-in table"' in made.output
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["missing"] == [
        f'the print copy of evidence {photo.id} "Sign-in table" (toolkit {photo.toolkit_id}, '
        f"outreach): evidence/{photo.print_storage_name}"
    ]
