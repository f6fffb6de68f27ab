"""Each moment a crash can hit a file write or delete: check-files finds it, --repair fixes it."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from sct_forms import files
from sct_forms.certificates import services as certificates
from sct_forms.certificates.storage import read_stored_pdf
from sct_forms.config import DefaultConfig
from sct_forms.evidence import services, storage
from sct_forms.extensions import db
from sct_forms.files import Writer, host_name, this_writer
from sct_forms.maintenance.recovery import recover
from sct_forms.models import AuditEvent, Evidence, Revision
from sct_forms.models.certificates import Certificate
from sct_forms.storage import PendingWrites
from tests.conftest import make_app
from tests.maintenance.helpers import (
    Killed,
    check_files,
    dead_writer,
    evidence_files,
    evidence_path,
    repair,
    upload_photo,
)
from tests.toolkit_helpers import make_toolkit

# What a process killed in the middle of writing leaves in a folder: these windows are the local
# storage's (tests/maintenance/test_s3_crash_windows.py has the bucket's).
pytestmark = pytest.mark.local_storage


@pytest.fixture
def toolkit(staff_user, cycle, catalog):
    return make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)


@pytest.fixture
def killed_writer(monkeypatch):
    """Files are written as by a process that is then killed: it is dead, nothing cleans up."""
    writer = dead_writer()
    monkeypatch.setattr(files, "this_writer", lambda: writer)
    monkeypatch.setattr(PendingWrites, "discard", lambda self: None)
    return writer


def assert_clean(app) -> None:
    check = check_files(app)
    assert check.exit_code == 0, check.output
    assert check.lines == ["No problems: every stored file has its row, and every row its file."]



# --- crash windows of an upload -------------------------------------------------------------


def test_kill_while_writing_leaves_a_partial_file_that_repair_removes(
    app, staff_user, toolkit, killed_writer, monkeypatch
):
    def write_half_then_die(path, data):  # noqa: ANN001, ANN202
        path.write_bytes(data[: len(data) // 2])
        raise Killed

    monkeypatch.setattr(files, "_write_and_flush", write_half_then_die)
    with pytest.raises(Killed):
        upload_photo(toolkit, staff_user)

    check = check_files(app)
    assert check.exit_code == 1
    assert any(
        line.startswith("unfinished: evidence/")
        and "the app stopped before this upload was saved" in line
        for line in check.lines
    ), check.output
    repair(app)
    assert evidence_files(app) == []
    assert_clean(app)


def test_kill_between_writing_and_commit_leaves_photo_and_print_copy_that_repair_removes(
    app, staff_user, toolkit, killed_writer, monkeypatch
):
    real_record = services._record_evidence

    def record_then_die(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        real_record(*args, **kwargs)
        raise Killed

    monkeypatch.setattr(services, "_record_evidence", record_then_die)
    with pytest.raises(Killed):
        upload_photo(toolkit, staff_user)

    assert db.session.query(Evidence).count() == 0
    left = evidence_files(app)
    assert len(left) == 2 and all(p.name.endswith(".pending") for p in left)
    assert all(f".{killed_writer.pid}-" in p.name and host_name() in p.name for p in left)
    check = check_files(app)
    assert check.exit_code == 1
    assert sum("the app stopped before this upload was saved" in x for x in check.lines) == 2
    assert "--repair would fix 2" in check.output

    repaired = repair(app)
    assert "Repaired 2 problem(s); 0 need a person" in repaired.output
    assert evidence_files(app) == []
    assert_clean(app)


def test_kill_after_commit_before_the_move_is_finished_by_repair(
    app, staff_user, toolkit, killed_writer, monkeypatch
):
    def die(self):  # noqa: ANN001, ANN202
        raise Killed

    monkeypatch.setattr(PendingWrites, "place", die)
    with pytest.raises(Killed):
        upload_photo(toolkit, staff_user)

    evidence = db.session.query(Evidence).one()
    assert not evidence_path(app, evidence.storage_name).exists()
    check = check_files(app)
    assert check.exit_code == 1
    moved = [x for x in check.lines if "was saved, but the app stopped before its file" in x]
    assert len(moved) == 2, check.output
    assert any(f"evidence {evidence.id} " in x for x in moved)
    assert any("the print copy of evidence" in x for x in moved)
    assert not any(x.startswith("missing:") for x in check.lines)

    repair(app)
    original = evidence_path(app, evidence.storage_name).read_bytes()
    assert hashlib.sha256(original).hexdigest() == evidence.sha256
    assert evidence_path(app, evidence.print_storage_name).is_file()
    assert not [p for p in evidence_files(app) if p.name.endswith(".pending")]
    assert_clean(app)


def test_an_upload_that_fails_to_commit_leaves_nothing(app, staff_user, toolkit, monkeypatch):
    def refuse_commit():  # noqa: ANN202
        raise RuntimeError("database went away")

    monkeypatch.setattr(db.session, "commit", refuse_commit)
    with pytest.raises(RuntimeError):
        upload_photo(toolkit, staff_user)
    monkeypatch.undo()
    assert evidence_files(app) == []
    assert_clean(app)


# --- crash window of a delete ---------------------------------------------------------------


def test_kill_after_a_committed_delete_leaves_orphans_that_repair_removes(
    app, staff_user, toolkit, monkeypatch
):
    evidence = upload_photo(toolkit, staff_user)
    names = {evidence.storage_name, evidence.print_storage_name}

    def die(name):  # noqa: ANN001, ANN202
        raise Killed

    monkeypatch.setattr(storage, "remove", die)
    with pytest.raises(Killed):
        services.delete_evidence(evidence, staff_user)

    assert db.session.query(Evidence).count() == 0
    assert {p.name for p in evidence_files(app)} == names
    check = check_files(app)
    assert check.exit_code == 1
    orphans = [x for x in check.lines if x.startswith("orphan: evidence/")]
    assert len(orphans) == 2 and all("no row refers to this evidence file" in x for x in orphans)

    repair(app)
    assert evidence_files(app) == []
    assert_clean(app)


def test_a_deleted_file_that_a_submitted_revision_froze_is_not_an_orphan(app, staff_user, toolkit):
    evidence = upload_photo(toolkit, staff_user)
    frozen = {"storage_name": evidence.storage_name, "title": evidence.title}
    db.session.add(
        Revision(
            toolkit_id=toolkit.id,
            number=1,
            definition_version="2024.1",
            snapshot={"answers": {}, "evidence": [frozen]},
            submitted_by_id=staff_user.id,
        )
    )
    db.session.commit()
    services.delete_evidence(evidence, staff_user)

    assert [p.name for p in evidence_files(app)] == [frozen["storage_name"]]
    assert_clean(app)
    repair(app)
    assert [p.name for p in evidence_files(app)] == [frozen["storage_name"]]


# --- certificates ---------------------------------------------------------------------------


def test_kill_after_a_certificate_commit_is_finished_by_repair(
    app, town, cycle, catalog, staff_user, reviewer_user, killed_writer, monkeypatch
):
    toolkit = make_toolkit(town, cycle, catalog["3.4"], staff_user)
    toolkit.state = "approved"
    db.session.commit()
    monkeypatch.setattr(
        certificates, "render_certificate", lambda *args: (b"%PDF-1.7 test", "pdf/a-3b")
    )

    def die(self):  # noqa: ANN001, ANN202
        raise Killed

    monkeypatch.setattr(PendingWrites, "place", die)
    with pytest.raises(Killed):
        # What the program does after a reviewer's approval.
        certificates.issue_after_decision(town, cycle, reviewer_user)

    certificate = db.session.query(Certificate).one()
    check = check_files(app)
    assert check.exit_code == 1
    assert any(
        x.startswith("unfinished: certificates/") and f"certificate {certificate.serial}" in x
        for x in check.lines
    ), check.output
    repair(app)
    [english] = certificate.documents
    assert read_stored_pdf(english) == b"%PDF-1.7 test"
    assert_clean(app)


# --- leftovers, live writers and other hosts ------------------------------------------------


def test_part_files_of_dead_writers_are_removed_and_a_live_writers_are_left_alone(app, staff_user):
    dead = files.part_path(
        (Path(app.instance_path) / "packets") / "toolkit-1-abc.pdf", dead_writer()
    )
    live = files.part_path(
        (Path(app.instance_path) / "packets") / "toolkit-2-def.pdf", this_writer()
    )
    for path in (dead, live):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"%PDF-half")

    check = check_files(app)
    assert check.exit_code == 1
    assert check.lines[0].startswith(f"partial: packets/{dead.name}: a half-written file")
    assert not any(live.name in x for x in check.lines)
    repair(app)
    assert not dead.exists() and live.exists()


def test_a_live_upload_between_commit_and_move_is_neither_reported_nor_touched(
    app, staff_user, toolkit, monkeypatch
):
    monkeypatch.setattr(PendingWrites, "place", lambda self: None)  # still about to move
    evidence = upload_photo(toolkit, staff_user)
    pending = evidence_files(app)
    assert len(pending) == 2

    assert_clean(app)
    repair(app)
    assert evidence_files(app) == pending
    assert db.session.get(Evidence, evidence.id) is not None


def test_recovery_in_another_process_during_an_upload_leaves_the_upload_whole(
    app, staff_user, toolkit, monkeypatch
):
    real_record = services._record_evidence

    def record_while_another_worker_starts(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        evidence = real_record(*args, **kwargs)  # files written, row not yet committed
        assert recover(by="start") == []
        return evidence

    monkeypatch.setattr(services, "_record_evidence", record_while_another_worker_starts)
    evidence = upload_photo(toolkit, staff_user)
    assert evidence_path(app, evidence.storage_name).is_file()
    assert evidence_path(app, evidence.print_storage_name).is_file()
    assert_clean(app)


def test_unfinished_files_of_another_host_are_never_touched(app, staff_user):
    target = evidence_path(app, "x" * 43)
    other = Writer("another-app-server", 12345, 1)
    old = files.pending_path(target, other)
    old.parent.mkdir(parents=True)
    old.write_bytes(b"old")
    an_hour_ago = time.time() - 2 * 60 * 60
    os.utime(old, (an_hour_ago, an_hour_ago))
    fresh = files.pending_path(evidence_path(app, "y" * 43), other)
    fresh.parent.mkdir(parents=True)
    fresh.write_bytes(b"new")

    check = check_files(app, "--repair")
    assert check.exit_code == 1  # a person must look at the old one
    assert len(check.lines) == 2, check.output
    assert check.lines[0].startswith(f"elsewhere: evidence/xx/{old.name}: an unfinished file")
    assert "run 'flask --app sct_forms check-files --repair' on another-app-server" in check.output
    assert old.exists() and fresh.exists()


def test_a_reused_pid_is_not_taken_for_the_writer_that_died():
    me = this_writer()
    assert me.is_alive()
    assert not Writer(me.host, me.pid, me.started + 1).is_alive()
    assert not dead_writer().is_alive()
    assert Writer("another-app-server", 1, 1).is_alive()


# --- rows whose file is missing -------------------------------------------------------------


def test_a_row_whose_file_is_missing_is_reported_with_advice_and_never_deleted(
    app, staff_user, toolkit
):
    evidence = upload_photo(toolkit, staff_user)
    evidence_path(app, evidence.print_storage_name).unlink()

    for args in ((), ("--repair",)):
        check = check_files(app, *args)
        assert check.exit_code == 1
        missing = [x for x in check.lines if x.startswith("missing:")]
        assert len(missing) == 1, check.output
        assert missing[0].startswith(f'missing: the print copy of evidence {evidence.id} "Sign-in')
        assert "put the file back from a backup" in missing[0]
        assert "ask the town to upload the file again" in missing[0]
    assert db.session.get(Evidence, evidence.id) is not None


def test_orphans_are_kept_when_the_database_has_no_accounts(app):
    kept = evidence_path(app, storage.store(b"a resident's photo"))
    check = check_files(app, "--repair")
    assert check.exit_code == 1
    assert "the database has no accounts at all" in check.output
    assert "check that DATABASE_URL names this installation's database" in check.output
    assert kept.exists()


# --- recovery when the app starts serving ---------------------------------------------------


def test_recovery_runs_before_the_first_request_when_enabled(
    app, tmp_path, staff_user, toolkit, killed_writer, monkeypatch
):
    def die(self):  # noqa: ANN001, ANN202
        raise Killed

    monkeypatch.setattr(PendingWrites, "place", die)
    with pytest.raises(Killed):
        upload_photo(toolkit, staff_user)
    saved = db.session.query(Evidence).one()
    orphan = evidence_path(app, storage.store(b"left by a delete"))
    db.session.commit()

    restarted = make_app(
        tmp_path, DATABASE_URL=app.config["DATABASE_URL"], RECOVER_FILES_ON_START=True
    )
    with restarted.test_client() as client:
        assert client.get("/sign-in").status_code == 200
    with restarted.app_context():
        db.engine.dispose()
    assert evidence_path(app, saved.storage_name).is_file()
    assert not orphan.exists()
    assert_clean(app)
    event = db.session.query(AuditEvent).filter_by(action="files.repaired").one()
    assert event.details["by"] == "start"
    assert event.details["counts"] == {"unfinished": 2, "orphan": 1}


def test_recovery_on_start_is_on_by_default_and_off_in_tests(app):
    assert DefaultConfig.RECOVER_FILES_ON_START is True
    assert app.config["RECOVER_FILES_ON_START"] is False


def test_check_files_says_so_when_the_database_has_no_tables(app, tmp_path, monkeypatch):
    monkeypatch.setenv("SCT_INSTANCE_PATH", str(tmp_path / "new-instance"))
    empty = make_app(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'no-tables.sqlite3'}")
    with empty.app_context():
        result = empty.test_cli_runner().invoke(args=["check-files"])
        db.engine.dispose()
    assert result.exit_code == 1
    assert "could not read the database" in result.output
    assert "flask --app sct_forms db upgrade" in result.output
