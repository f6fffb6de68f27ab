"""Sending a stored file to the browser as it is read from the storage."""

from __future__ import annotations

from typing import BinaryIO

from flask import Response, request, send_file


def stored_file_response(
    stream: BinaryIO,
    *,
    mimetype: str,
    etag: str,
    download_name: str | None = None,
) -> Response:
    """A response that streams ``stream`` (closed when sent), with ``etag`` for revalidation.

    Stored files never change under their names, so a browser holding the same ETag gets a 304
    without the file being read. A local file and an S3 object are sent alike: gunicorn hands a
    file to sendfile and sends an S3 body (whose socket it cannot seek) in blocks as it reads.
    """
    if request.if_none_match.contains(etag):
        stream.close()
        response = Response(status=304)
        response.set_etag(etag)
        return response
    return send_file(
        stream,
        mimetype=mimetype,
        as_attachment=download_name is not None,
        download_name=download_name,
        etag=etag,
        conditional=True,
        max_age=0,
    )
