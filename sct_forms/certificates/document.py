"""A certificate as a PDF: rendered once per language, with a QR code to its check page.

* The PDF is PDF/A-3b (archival; fonts embedded, colours defined). Should WeasyPrint fail to
  make it, the certificate falls back to PDF/UA-1 and the audit record names the variant used.
* English is rendered at issue, so every certificate has it; another language is rendered the
  first time someone asks for it, then stored and served like the English one. Each language's
  file has its own SHA-256, and the verification page lists them all.
* The issuer printed is Sustainable CT, never a person: a certificate is the program's
  decision. The reviewers whose approvals earned it are named in the audit log.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import segno
from flask import current_app

from sct_forms.documents.render import document_context, render_pdf
from sct_forms.models import Cycle, Municipality
from sct_forms.models.certificates import Certificate

__all__ = [
    "CERTIFICATE_LANGUAGE",
    "CERTIFICATE_TEMPLATE",
    "PDF_VARIANTS",
    "make_qr_svg",
    "render_certificate",
    "verification_url",
]

CERTIFICATE_TEMPLATE = "pdf/certificate.html"
#: Rendered at issue: every certificate has its English document.
CERTIFICATE_LANGUAGE = "en"

#: Tried in order; the first that renders is stored.
PDF_VARIANTS = ("pdf/a-3b", "pdf/ua-1")


def verification_url(serial: str) -> str:
    """The public page that checks ``serial``: PUBLIC_BASE_URL + /verify/<serial>."""
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/verify/{serial}"


def make_qr_svg(url: str) -> str:
    """An inline <svg> QR code that encodes exactly ``url`` (no fetch: the PDF fetcher is strict).

    Always a full QR code (never Micro QR, which phones do not read), error correction M, with
    the four-module quiet zone; sized by CSS through its viewBox.
    """
    qr = segno.make_qr(url, error="m", boost_error=False)
    return qr.svg_inline(omitsize=True, border=4, dark="#000", light="#fff", title=url)


@contextmanager
def _weasyprint_icc_file_left_open() -> Iterator[None]:
    """Silence one known ResourceWarning of WeasyPrint 70's PDF/A output, and only that one.

    For PDF/A, WeasyPrint opens its bundled sRGB2014.icc and never closes it
    (weasyprint/pdf/__init__.py); the file is dropped, unclosed, inside write_pdf. Harmless,
    but the test suite turns warnings into errors. Remove once WeasyPrint closes the file.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"unclosed file .*sRGB2014\.icc", category=ResourceWarning
        )
        yield


def render_certificate(
    certificate: Certificate,
    town: Municipality,
    cycle: Cycle,
    issued_on: date,
    language: str = CERTIFICATE_LANGUAGE,
) -> tuple[bytes, str]:
    """(PDF bytes, variant) of the certificate in ``language``: PDF/A-3b, else PDF/UA-1."""
    url = verification_url(certificate.serial)
    context = {
        "certificate": certificate,
        "town": town,
        "cycle": cycle,
        "issued_on": issued_on,
        "verification_url": url,
        "qr_svg": make_qr_svg(url),
    }
    failure: Exception | None = None
    for variant in PDF_VARIANTS:
        try:
            with document_context(language), _weasyprint_icc_file_left_open():
                data = render_pdf(
                    CERTIFICATE_TEMPLATE,
                    municipality_id=town.id,
                    pdf_variant=variant,
                    **context,
                )
        except Exception as error:  # noqa: BLE001 - any failure of one variant tries the next
            current_app.logger.warning(
                "Certificate %s could not be rendered as %s: %r", certificate.serial, variant, error
            )
            failure = error
            continue
        return data, variant
    raise RuntimeError("the certificate could not be rendered") from failure
