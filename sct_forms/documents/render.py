"""Templates to PDF bytes with WeasyPrint, behind the URL fetcher that decides what a PDF may load.

Views and CLI commands call :func:`render_pdf` and only wrap the bytes; print-preview pages and
most tests call :func:`render_html`, which returns the very HTML the PDF is made from. Both render
inside :func:`document_context`, which packets and certificates also use to render in their own
language.

The fetcher is the security boundary. A document's HTML is built from what towns typed, so
every URL in it is untrusted: the fetcher serves the app's own static files and the evidence
files of the document's own town, and refuses everything else (local files, any network,
``data:`` URLs, other towns' evidence) with a warning in the app log.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import weasyprint
from flask import current_app, has_request_context, render_template, request
from flask_babel import force_locale
from sqlalchemy import or_, select
from weasyprint.urls import URLFetcher, URLFetcherResponse

from sct_forms.evidence import storage
from sct_forms.extensions import db
from sct_forms.models import Evidence

__all__ = [
    "DOCUMENT_BASE_URL",
    "EVIDENCE_URL_SCHEME",
    "PdfResources",
    "PdfUrlFetcher",
    "ResourceRefusedError",
    "document_context",
    "render_html",
    "render_pdf",
    "url_fetcher_for",
]

#: Templates reference evidence images as ``evidence:<storage_name>`` (or the print rendition's).
EVIDENCE_URL_SCHEME = "evidence:"

#: Relative URLs such as ``/static/css/print.css`` resolve against this origin. The ``.invalid``
#: top-level domain can never resolve (RFC 2606), so even a URL that slipped past the fetcher
#: could not reach a real host; the fetcher maps this origin's static path to files on disk.
DOCUMENT_BASE_URL = "https://sct-forms.invalid/"

# Refused URLs are logged; a data: URL can be megabytes long, and the log needs only its start.
_LOGGED_URL_LENGTH = 200

# Print renditions are always JPEG (sct_forms.evidence.images.make_print_rendition).
_PRINT_RENDITION_TYPE = "image/jpeg"


class ResourceRefusedError(Exception):
    """A URL the document may not load; WeasyPrint leaves the resource out."""


class PdfResources:
    """What the URL fetcher may serve for one document: static files and its own town's evidence.

    ``municipality_id`` is the town the document is about; ``None`` (a document about no town)
    may use static files but no evidence at all. Needs an app context, and a request context
    if the app is mounted under a path prefix (the prefix is part of static URLs then).
    """

    def __init__(self, municipality_id: int | None) -> None:
        self.municipality_id = municipality_id
        # An app without a static folder serves none (Path("") would mean the working directory).
        folder = current_app.static_folder
        self.static_folder = Path(folder).resolve() if folder else None
        script_root = request.script_root if has_request_context() else ""
        static_path = f"{script_root}{current_app.static_url_path}/"
        self.static_url = urljoin(DOCUMENT_BASE_URL, static_path)

    def load(self, url: str) -> tuple[bytes, str]:
        """The bytes and media type behind ``url``; ResourceRefusedError for anything else."""
        try:
            # Schemes are case-insensitive, so EVIDENCE:name must not slip past the town check.
            if url[: len(EVIDENCE_URL_SCHEME)].lower() == EVIDENCE_URL_SCHEME:
                return self._evidence(url[len(EVIDENCE_URL_SCHEME) :])
            if url.startswith(self.static_url):
                return self._static(url)
        except (OSError, ValueError) as error:
            # Unreadable files, null bytes in paths and the like: refused, never a crash.
            raise ResourceRefusedError(f"unreadable ({type(error).__name__})") from error
        raise ResourceRefusedError("neither a static file nor evidence")

    def _static(self, url: str) -> tuple[bytes, str]:
        # Query and fragment are dropped: cache busters and "#iefix" name the same file.
        path = unquote(urlsplit(url).path)
        relative = path[len(urlsplit(self.static_url).path) :]
        if self.static_folder is None:
            raise ResourceRefusedError("the app has no static folder")
        # resolve() undoes "..", %2e%2e and symlinks before the containment check.
        target = (self.static_folder / relative).resolve()
        if not target.is_relative_to(self.static_folder):
            raise ResourceRefusedError("outside the static folder")
        if not target.is_file():
            raise ResourceRefusedError("no such static file")
        mime_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if mime_type == "text/css":
            mime_type = "text/css; charset=utf-8"
        return target.read_bytes(), mime_type

    def _evidence(self, name: str) -> tuple[bytes, str]:
        if self.municipality_id is None:
            raise ResourceRefusedError("this document belongs to no town, so it has no evidence")
        if not storage.is_storage_name(name):
            raise ResourceRefusedError("not a storage name")
        evidence = db.session.scalars(
            select(Evidence).where(
                or_(Evidence.storage_name == name, Evidence.print_storage_name == name)
            )
        ).first()
        if evidence is None:
            raise ResourceRefusedError("no evidence has this storage name")
        if evidence.municipality_id != self.municipality_id:
            raise ResourceRefusedError("evidence of another town")
        try:
            data = storage.read(name)
        except storage.StoredFileMissing as error:
            raise ResourceRefusedError("evidence file missing from storage") from error
        if name == evidence.print_storage_name:
            return data, _PRINT_RENDITION_TYPE
        return data, evidence.mime_type


class PdfUrlFetcher(URLFetcher):
    """WeasyPrint's fetcher with its network and file handlers replaced by :class:`PdfResources`.

    WeasyPrint 70 requires a ``URLFetcher`` (it reads private attributes of the fetcher and
    asserts on the response type), so this subclasses it rather than being a plain function.
    """

    def __init__(self, resources: PdfResources) -> None:
        # The parent's own fetching is never called; an empty protocol list makes sure that,
        # should it ever be, it refuses everything too.
        super().__init__(allowed_protocols=(), allow_redirects=False)
        self.resources = resources

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        """Serve ``url`` from PdfResources; log and raise for anything it refuses."""
        try:
            body, mime_type = self.resources.load(url)
        except ResourceRefusedError as refused:
            # %r keeps control characters in a hostile URL from forging log lines.
            current_app.logger.warning(
                "PDF resource refused for town %s (%s): %r",
                self.resources.municipality_id,
                refused,
                url[:_LOGGED_URL_LENGTH],
            )
            raise
        return URLFetcherResponse(url, body, {"Content-Type": mime_type})


def url_fetcher_for(municipality_id: int | None) -> PdfUrlFetcher:
    """The WeasyPrint URL fetcher for a document about one town (or about none)."""
    return PdfUrlFetcher(PdfResources(municipality_id))


@contextmanager
def document_context(language: str | None = None) -> Iterator[None]:
    """A request context in ``language`` to render a document's template in, and to build it in.

    The app's context processors, ``url_for`` and the translations need a request: the current
    one, or outside requests (CLI, the job queue, tests) one made up on PUBLIC_BASE_URL, so
    external links printed in a PDF point at the real site. ``language`` forces the document's
    language whatever the request's locale (a packet's language, a certificate's English);
    None keeps the request's.
    """
    with ExitStack() as stack:
        if not has_request_context():
            base_url = current_app.config["PUBLIC_BASE_URL"]
            stack.enter_context(current_app.test_request_context(base_url=base_url))
        if language is not None:
            stack.enter_context(force_locale(language))
        yield


def render_html(template: str, **context: Any) -> str:
    """The HTML of a PDF template, exactly as render_pdf lays it out (for previews and tests)."""
    with document_context():
        return render_template(template, **context)


def render_pdf(
    template: str,
    *,
    municipality_id: int | None,
    pdf_variant: str | None = "pdf/ua-1",
    pages_after: int = 0,
    **context: Any,
) -> bytes:
    """Render a PDF template to PDF bytes, loading only what ``municipality_id``'s document may.

    Title, author and language come from the HTML (``<title>``, ``<meta name=author>``,
    ``<html lang>``). ``pdf_variant`` is a WeasyPrint variant name; the default, PDF/UA-1,
    makes a tagged PDF for screen readers. ``None`` makes a plain, untagged PDF.

    ``pages_after`` is how many pages will be appended to the result (PDF evidence): "page 3
    of N" must count them. The template ends with that many empty pages (``appended_pages``),
    so WeasyPrint's page total counts them in the one layout; they are left out of the PDF.
    """
    with document_context():
        document = _layout(template, municipality_id, {**context, "appended_pages": pages_after})
        if pages_after:
            document = document.copy(document.pages[: len(document.pages) - pages_after])
        return document.write_pdf(pdf_variant=pdf_variant)


def _layout(template: str, municipality_id: int | None, context: dict[str, Any]):  # noqa: ANN202
    html = render_template(template, **context)
    # No shared image cache (WeasyPrint's ``cache`` option): a cache kept across documents
    # would hand one town's images to another document without asking the fetcher.
    return weasyprint.HTML(
        string=html, base_url=DOCUMENT_BASE_URL, url_fetcher=url_fetcher_for(municipality_id)
    ).render()
