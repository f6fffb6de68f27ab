"""Stored files in an S3 bucket (AWS, MinIO, SeaweedFS ...): ``<prefix><area>/<name>``.

A PUT is atomic in S3, so :meth:`S3Storage.put` needs no temporary object. Pending files are
uploaded under ``<prefix>pending/<area>/<name>`` and placed by a copy inside the server and a
delete: a crash between upload and placing leaves only objects under ``pending/``, which no
reader looks at and which the file check can remove.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from typing import Any, BinaryIO, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from sct_forms.storage.base import (
    StorageUnavailable,
    StoredEntry,
    StoredFileMissing,
    Unfinished,
    check,
    check_area,
)

PENDING_FOLDER = "pending/"
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


# One client per server and keys, shared by the storages that use them (a client is safe to
# share between threads, and making one costs tens of milliseconds). Keyed by the secret's hash.
_clients: dict[tuple[str | None, str | None, str | None, str], Any] = {}
_clients_lock = threading.Lock()


def _client(
    endpoint_url: str | None, region: str | None, access_key: str | None, secret_key: str | None
) -> Any:
    secret_hash = hashlib.sha256((secret_key or "").encode()).hexdigest()
    key = (endpoint_url or None, region or None, access_key or None, secret_hash)
    with _clients_lock:
        if key not in _clients:
            # Path-style addresses ("host/bucket/key"): S3-compatible servers other than AWS
            # rarely have a DNS name per bucket. The keys are given to boto3 only, never shown.
            _clients[key] = boto3.client(
                "s3",
                endpoint_url=endpoint_url or None,
                region_name=region or None,
                aws_access_key_id=access_key or None,
                aws_secret_access_key=secret_key or None,
                config=Config(
                    s3={"addressing_style": "path"},
                    retries={"max_attempts": 3, "mode": "standard"},
                ),
            )
        return _clients[key]


def _is_missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in _MISSING_CODES


class _Client:
    """A boto3 S3 client whose failures, other than a missing key, are StorageUnavailable.

    A missing key stays a ClientError for the caller to turn into StoredFileMissing; a server
    that does not answer, refuses the keys or has no such bucket is the storage's fault.
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method) or name == "get_paginator":
            return method
        return functools.partial(self._call, method)

    @staticmethod
    def _call(method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except ClientError as error:
            if _is_missing(error):
                raise
            raise StorageUnavailable(f"S3 refused {method.__name__}: {_code(error)}") from error
        except BotoCoreError as error:
            raise StorageUnavailable(f"S3 did not answer {method.__name__}") from error


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "?"))


class S3Storage:
    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "",
    ) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._client = _Client(_client(endpoint_url, region, access_key, secret_key))

    def __repr__(self) -> str:
        where = f", endpoint_url={self.endpoint_url!r}" if self.endpoint_url else ""
        return f"S3Storage({self.bucket!r}, prefix={self.prefix!r}{where})"

    def key(self, area: str, name: str) -> str:
        check(area, name)
        return f"{self.prefix}{area}/{name}"

    def pending_key(self, area: str, name: str) -> str:
        check(area, name)
        return f"{self.prefix}{PENDING_FOLDER}{area}/{name}"

    def put(self, area: str, name: str, data: bytes) -> None:
        self._client.put_object(Bucket=self.bucket, Key=self.key(area, name), Body=data)

    def open(self, area: str, name: str) -> BinaryIO:
        try:
            found = self._client.get_object(Bucket=self.bucket, Key=self.key(area, name))
        except ClientError as error:
            if _is_missing(error):
                raise StoredFileMissing(area, name) from None
            raise
        return cast(BinaryIO, found["Body"])

    def read(self, area: str, name: str) -> bytes:
        body: Any = self.open(area, name)
        try:
            return body.read()
        except (BotoCoreError, OSError) as error:
            raise StorageUnavailable("S3 stopped sending a file") from error
        finally:
            body.close()

    def _head(self, area: str, name: str) -> dict[str, Any] | None:
        try:
            return self._client.head_object(Bucket=self.bucket, Key=self.key(area, name))
        except ClientError as error:
            if _is_missing(error):
                return None
            raise

    def exists(self, area: str, name: str) -> bool:
        return self._head(area, name) is not None

    def size(self, area: str, name: str) -> int:
        head = self._head(area, name)
        if head is None:
            raise StoredFileMissing(area, name)
        return int(head["ContentLength"])

    def delete(self, area: str, name: str) -> None:
        # S3 answers a delete of a missing key with success too.
        self._client.delete_object(Bucket=self.bucket, Key=self.key(area, name))

    def _objects(self, folder: str) -> list[dict[str, Any]]:
        """Every object under the key prefix ``folder``, as S3 lists them."""
        found: list[dict[str, Any]] = []
        pages = self._client.get_paginator("list_objects_v2")
        try:
            for page in pages.paginate(Bucket=self.bucket, Prefix=folder):
                found += page.get("Contents", [])
        except (ClientError, BotoCoreError) as error:
            raise StorageUnavailable("S3 did not list the files") from error
        return found

    def entries(self, area: str, prefix: str = "") -> list[StoredEntry]:
        check_area(area)
        folder = f"{self.prefix}{area}/"
        found = []
        for stored in self._objects(folder + prefix):
            name = stored["Key"][len(folder) :]
            if name and "/" not in name:
                modified = stored["LastModified"].timestamp()
                found.append(StoredEntry(name, int(stored["Size"]), modified))
        return sorted(found, key=lambda entry: entry.name)

    def list(self, area: str) -> list[str]:
        return [entry.name for entry in self.entries(area)]

    def where(self, area: str, name: str) -> str:
        return f"s3://{self.bucket}/{self.key(area, name)}"

    def put_pending(self, area: str, name: str, data: bytes) -> None:
        self._client.put_object(Bucket=self.bucket, Key=self.pending_key(area, name), Body=data)

    def place(self, area: str, name: str) -> None:
        pending = self.pending_key(area, name)
        try:
            self._client.copy_object(
                Bucket=self.bucket,
                Key=self.key(area, name),
                CopySource={"Bucket": self.bucket, "Key": pending},
            )
        except ClientError as error:
            if _is_missing(error):
                raise StoredFileMissing(area, name) from None
            raise
        self._client.delete_object(Bucket=self.bucket, Key=pending)

    def discard(self, area: str, name: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=self.pending_key(area, name))

    def unfinished(self, area: str) -> list[Unfinished]:
        check_area(area)
        folder = f"{self.prefix}{PENDING_FOLDER}{area}/"
        found = []
        for stored in self._objects(folder):
            name = stored["Key"][len(folder) :]
            if not name or "/" in name:
                continue
            found.append(
                Unfinished(
                    area=area,
                    final_name=name,
                    kind="pending",
                    writer=None,  # the object does not say which server wrote it
                    modified=stored["LastModified"].timestamp(),
                    where=f"s3://{self.bucket}/{stored['Key']}",
                    handle=stored["Key"],
                )
            )
        return found

    def has_pending(self, area: str, name: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self.pending_key(area, name))
        except ClientError as error:
            if _is_missing(error):
                return False
            raise
        return True

    def read_pending(self, area: str, name: str) -> bytes | None:
        try:
            found = self._client.get_object(Bucket=self.bucket, Key=self.pending_key(area, name))
        except ClientError as error:
            if _is_missing(error):
                return None
            raise
        body: Any = found["Body"]
        try:
            return body.read()
        finally:
            body.close()

    def finish(self, leftover: Unfinished) -> None:
        if leftover.handle != self.pending_key(leftover.area, leftover.final_name):
            raise ValueError(f"not a pending object of this storage: {leftover.handle!r}")
        if not self.exists(leftover.area, leftover.final_name):
            try:
                self.place(leftover.area, leftover.final_name)
            except StoredFileMissing:
                pass  # another process finished it first
            return
        self._client.delete_object(Bucket=self.bucket, Key=leftover.handle)

    def remove_unfinished(self, leftover: Unfinished) -> None:
        if leftover.handle != self.pending_key(leftover.area, leftover.final_name):
            raise ValueError(f"not a pending object of this storage: {leftover.handle!r}")
        self._client.delete_object(Bucket=self.bucket, Key=leftover.handle)
