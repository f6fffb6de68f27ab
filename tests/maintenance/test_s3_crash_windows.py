"""The moments a crash can hit a file write or delete, with the files in an S3 bucket.

An object does not say which server wrote it, so a pending object counts as a dead writer's
once it is old; a young one is left alone (its writer may still be at work on another server).
These run against SeaweedFS whichever storage the rest of the suite uses.
"""

from __future__ import annotations

import hashlib
import uuid

import pytest

from sct_forms.evidence import services, storage
from sct_forms.extensions import db
from sct_forms.maintenance import file_check
from sct_forms.models import Evidence
from sct_forms.storage import PendingWrites, current_storage
from tests.conftest import make_app
from tests.maintenance.helpers import Killed, check_files, repair, upload_photo
from tests.seaweedfs import ACCESS_KEY, SECRET_KEY, SeaweedFS
from tests.storage_helpers import every_file, read_stored, stored_names
from tests.toolkit_helpers import make_toolkit

NO_PROBLEMS = "No problems: every stored file has its row, and every row its file."


@pytest.fixture
def bucket(app, seaweedfs: SeaweedFS) -> SeaweedFS:
    """This test's app keeps its files under a prefix of its own in the test bucket."""
    app.config["STORAGE_URL"] = seaweedfs.storage_url(f"crash-{uuid.uuid4().hex}")
    app.config["STORAGE_ACCESS_KEY"], app.config["STORAGE_SECRET_KEY"] = ACCESS_KEY, SECRET_KEY
    assert "S3Storage" in repr(current_storage())
    return seaweedfs


@pytest.fixture
def toolkit(staff_user, cycle, catalog):
    return make_toolkit(staff_user.municipality, cycle, catalog["3.4"], staff_user)


@pytest.fixture
def writers_long_gone(monkeypatch):
    """Pending objects count as a dead writer's at once (as they do after an hour)."""
    monkeypatch.setattr(file_check, "UNKNOWN_WRITER_DEAD_AFTER_SECONDS", -1)



def test_an_upload_killed_before_its_commit_leaves_pending_objects_that_repair_removes(
    app, bucket, staff_user, toolkit, monkeypatch
):
    real_record = services._record_evidence

    def record_then_die(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        real_record(*args, **kwargs)
        raise Killed

    monkeypatch.setattr(services, "_record_evidence", record_then_die)
    monkeypatch.setattr(PendingWrites, "discard", lambda self: None)  # nothing cleans up
    with pytest.raises(Killed):
        upload_photo(toolkit, staff_user)
    monkeypatch.undo()

    assert db.session.query(Evidence).count() == 0
    left = every_file("evidence")
    assert len(left) == 2 and all("/pending/evidence/" in key for key in left)
    # Young: its writer may be another server still at work.
    assert check_files(app).lines == [NO_PROBLEMS]

    monkeypatch.setattr(file_check, "UNKNOWN_WRITER_DEAD_AFTER_SECONDS", -1)
    check = check_files(app)
    assert check.exit_code == 1
    assert sum("the app stopped before this upload was saved" in x for x in check.lines) == 2
    assert all(x.startswith("unfinished: s3://sct-forms-test/") for x in check.lines[:2])
    repair(app)
    assert every_file("evidence") == []
    assert check_files(app).lines == [NO_PROBLEMS]


def test_an_upload_killed_after_its_commit_is_placed_by_repair(
    app, bucket, staff_user, toolkit, monkeypatch, writers_long_gone
):
    def die(self):  # noqa: ANN001, ANN202
        raise Killed

    monkeypatch.setattr(PendingWrites, "place", die)
    with pytest.raises(Killed):
        upload_photo(toolkit, staff_user)
    monkeypatch.undo()
    monkeypatch.setattr(file_check, "UNKNOWN_WRITER_DEAD_AFTER_SECONDS", -1)

    evidence = db.session.query(Evidence).one()
    assert stored_names("evidence") == []
    check = check_files(app)
    moved = [x for x in check.lines if "was saved, but the app stopped before its file" in x]
    assert len(moved) == 2, check.output
    assert not any(x.startswith("missing:") for x in check.lines)

    repair(app)
    original = read_stored("evidence", evidence.storage_name)
    assert hashlib.sha256(original).hexdigest() == evidence.sha256
    assert evidence.print_storage_name in stored_names("evidence")
    assert len(every_file("evidence")) == 2  # nothing pending is left
    assert check_files(app).lines == [NO_PROBLEMS]


def test_a_delete_killed_after_its_commit_leaves_orphans_that_repair_removes(
    app, bucket, staff_user, toolkit, monkeypatch
):
    evidence = upload_photo(toolkit, staff_user)

    def die(name):  # noqa: ANN001, ANN202
        raise Killed

    monkeypatch.setattr(storage, "remove", die)
    with pytest.raises(Killed):
        services.delete_evidence(evidence, staff_user)
    monkeypatch.undo()

    check = check_files(app)
    orphans = [x for x in check.lines if x.startswith("orphan: s3://")]
    assert len(orphans) == 2, check.output
    repair(app)
    assert every_file("evidence") == []
    assert check_files(app).lines == [NO_PROBLEMS]


def test_a_row_whose_object_is_gone_is_reported_and_never_deleted(app, bucket, staff_user, toolkit):
    evidence = upload_photo(toolkit, staff_user)
    current_storage().delete("evidence", evidence.storage_name)
    check = check_files(app, "--repair")
    assert check.exit_code == 1
    [missing] = [x for x in check.lines if x.startswith("missing:")]
    assert f"evidence {evidence.id} " in missing and "put the file back from a backup" in missing
    assert db.session.get(Evidence, evidence.id) is not None


def test_a_backup_of_the_bucket_restores_into_an_instance_folder(
    app, bucket, staff_user, toolkit, tmp_path, monkeypatch
):
    photo = upload_photo(toolkit, staff_user)
    originals = {
        name: read_stored("evidence", name)
        for name in (photo.storage_name, photo.print_storage_name)
    }
    dest = tmp_path / "backup"
    made = app.test_cli_runner().invoke(args=["backup", str(dest)])
    assert made.exit_code == 0, made.output
    assert (dest / "files" / "evidence" / photo.storage_name[:2] / photo.storage_name).is_file()

    monkeypatch.setenv("SCT_INSTANCE_PATH", str(tmp_path / "new-instance"))
    other = make_app(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'new.sqlite3'}", STORAGE_URL="")
    with other.app_context():
        db.create_all()
        restored = other.test_cli_runner().invoke(args=["restore", str(dest)])
        assert restored.exit_code == 0, restored.output
        assert "LocalStorage" in repr(current_storage())
        assert {name: read_stored("evidence", name) for name in originals} == originals
        db.session.remove()
        db.engine.dispose()
