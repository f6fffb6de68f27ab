"""Sending a stored file to the browser as it is read from the storage."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import quote

from flask import Response, request, send_file

BLOCK_SIZE = 256 * 1024


def stored_file_response(
    stream: BinaryIO,
    *,
    mimetype: str,
    etag: str,
    download_name: str | None = None,
) -> Response:
    """A response that streams ``stream`` (closed when sent), with ``etag`` for revalidation.

    Stored files never change under their names, so a browser holding the same ETag gets a 304
    without the file being read. A local file goes through send_file (range requests, the
    server's sendfile); another stream (an object from S3) is sent in blocks as it arrives:
    it is not a file the server could hand to sendfile, although it has a ``fileno``.
    """
    if request.if_none_match.contains(etag):
        stream.close()
        response = Response(status=304)
        response.set_etag(etag)
        return response
    if isinstance(stream, io.BufferedReader):
        return send_file(
            stream,
            mimetype=mimetype,
            as_attachment=download_name is not None,
            download_name=download_name,
            etag=etag,
            conditional=True,
            max_age=0,
        )
    response = Response(_blocks(stream), mimetype=mimetype, direct_passthrough=True)
    response.set_etag(etag)
    if download_name is not None:
        response.headers.set("Content-Disposition", "attachment", **_file_name(download_name))
    return response


def _file_name(download_name: str) -> dict[str, str]:
    """The name as send_file gives it: plain ASCII, plus the exact name (RFC 5987) if it is not."""
    try:
        download_name.encode("ascii")
    except UnicodeEncodeError:
        ascii_name = unicodedata.normalize("NFKD", download_name).encode("ascii", "ignore")
        return {
            "filename": ascii_name.decode("ascii"),
            "filename*": f"UTF-8''{quote(download_name, safe='!#$&+-.^_`|~')}",
        }
    return {"filename": download_name}


def _blocks(stream: BinaryIO) -> Iterator[bytes]:
    try:
        while block := stream.read(BLOCK_SIZE):
            yield block
    finally:
        stream.close()
