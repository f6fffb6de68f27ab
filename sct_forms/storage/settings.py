"""The storage the settings name: ``STORAGE_URL``, with ``STORAGE_ACCESS_KEY`` and
``STORAGE_SECRET_KEY`` for S3.

- unset or empty: the instance folder;
- ``file:///srv/sct-forms/files``: that folder;
- ``s3://bucket/prefix?endpoint=http://127.0.0.1:8333&region=us-east-1``: an S3 bucket, under
  an optional prefix; without ``endpoint`` boto3 reaches AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sct_forms.storage.base import Storage
from sct_forms.storage.local import LocalStorage
from sct_forms.storage.s3 import S3Storage


def storage_from_settings(settings: Mapping[str, Any], instance_path: str) -> Storage:
    """The :class:`Storage` that ``STORAGE_URL`` names (ValueError if it names none)."""
    url = (settings.get("STORAGE_URL") or "").strip()
    if not url:
        return LocalStorage(instance_path)
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise ValueError("STORAGE_URL: write a folder as file:///absolute/path")
        return LocalStorage(unquote(parts.path))
    if parts.scheme == "s3":
        if "@" in parts.netloc:
            raise ValueError(
                "STORAGE_URL: give the keys as STORAGE_ACCESS_KEY and STORAGE_SECRET_KEY"
            )
        if not parts.netloc:
            raise ValueError("STORAGE_URL: write s3://bucket/prefix?endpoint=...&region=...")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        unknown = set(query) - {"endpoint", "region"}
        if unknown:
            raise ValueError(f"STORAGE_URL: unknown option(s) {', '.join(sorted(unknown))}")
        return S3Storage(
            parts.netloc,
            endpoint_url=query.get("endpoint"),
            region=query.get("region"),
            access_key=settings.get("STORAGE_ACCESS_KEY"),
            secret_key=settings.get("STORAGE_SECRET_KEY"),
            prefix=unquote(parts.path),
        )
    # Only the scheme is shown: the rest of the address is not repeated in logs.
    raise ValueError(f"STORAGE_URL: unknown kind of storage {parts.scheme!r} (file or s3)")
