"""Opening uploaded PDFs as readers do, and rewriting them without scripts or actions.

qpdf (through pikepdf) opens what mainstream readers open: it repairs broken cross-reference
tables, skips junk before ``%PDF`` and after ``%%EOF``, reads object and cross-reference
streams, and decrypts files whose user password is empty. Every accepted PDF is written anew by
qpdf, so the stored file is exactly what qpdf understood (no second reading of a damaged or
two-faced file), unencrypted, and free of everything that could run or reach out when opened.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream, String
from pypdf import PdfReader, PdfWriter

# Checking an object takes about 0.1 ms; this bounds the check of one upload to about ten
# seconds. A 600-page report with a link on every line has about 14,000.
MAX_OBJECTS = 100_000

# Actions that only move around the document or open a web page; every other type (JavaScript,
# Launch, SubmitForm, ImportData, GoToR/GoToE, Rendition, Movie, Sound, Hide, RichMediaExecute,
# and types we do not know) is dropped wherever it is attached.
_SAFE_ACTIONS = frozenset({"/GoTo", "/URI", "/Named", "/Thread", "/SetOCGState"})
_SAFE_NAMED_ACTIONS = frozenset({"/NextPage", "/PrevPage", "/FirstPage", "/LastPage"})
_SAFE_URI_PREFIXES = ("http://", "https://", "mailto:")
_ACTION_TYPES = _SAFE_ACTIONS | {
    "/GoToR",
    "/GoToE",
    "/GoToDp",
    "/Launch",
    "/Sound",
    "/Movie",
    "/Hide",
    "/SubmitForm",
    "/ResetForm",
    "/ImportData",
    "/Rendition",
    "/Trans",
    "/GoTo3DView",
    "/JavaScript",
    "/RichMediaExecute",
}
# Annotations that play media or carry a file; the rest (links, widgets, notes) stay.
_ACTIVE_ANNOTATIONS = frozenset(
    {"/FileAttachment", "/Movie", "/Sound", "/Screen", "/RichMedia", "/3D"}
)
# Keys removed wherever they appear: triggers, the document's script tree, embedded files and
# XFA (an XML form that can carry scripts; readers fall back to the ordinary AcroForm).
_DROPPED_KEYS = {
    "/AA": "actions",
    "/OpenAction": "actions",
    "/JavaScript": "scripts",
    "/EmbeddedFiles": "embedded_files",
    "/EF": "embedded_files",
    "/RF": "embedded_files",
    "/XFA": "scripts",
    "/NeedsRendering": "scripts",
}


# Where an action can hang: annotations and outline items (/A), web-capture links (/PA).
_ACTION_KEYS = frozenset({"/A", "/PA"})
# Values that are numbers or names (boxes, widths, matrices): nothing to look for inside.
_PLAIN_VALUE_KEYS = frozenset(
    {
        "/Rect",
        "/MediaBox",
        "/CropBox",
        "/BleedBox",
        "/TrimBox",
        "/ArtBox",
        "/BBox",
        "/Matrix",
        "/Widths",
        "/W",
        "/W2",
        "/DW2",
        "/Border",
        "/C",
        "/IC",
        "/QuadPoints",
        "/Decode",
        "/Domain",
        "/Range",
        "/Encode",
        "/Bounds",
        "/FontBBox",
        "/FontMatrix",
        "/ID",
        "/Index",
        "/Length",
        "/Filter",
    }
)


class PdfRefusedError(ValueError):
    """A PDF we cannot take; ``reason`` says why (see ``REASONS``)."""

    REASONS = ("password", "unreadable", "no_pages", "portfolio", "too_complex", "cannot_clean")

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CleanedPdf:
    """The PDF to store, its page count, and what was taken out of it."""

    data: bytes = field(repr=False)
    pages: int
    removed: frozenset[str] = frozenset()
    was_encrypted: bool = False


def clean_pdf(data: bytes) -> CleanedPdf:
    """Open a PDF as a reader would and rewrite it without active content, or refuse it."""
    # pikepdf warns in Python about odd forms it saves; the result is still what we want.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pdf = pikepdf.open(io.BytesIO(data))
        except pikepdf.PasswordError as error:
            raise PdfRefusedError("password") from error
        except Exception as error:  # noqa: BLE001 - qpdf gave up; pypdf may still read it
            pdf = _open_through_pypdf(data, error)
        with pdf:
            try:
                return _clean_open_pdf(pdf)
            except PdfRefusedError:
                raise
            except Exception as error:  # noqa: BLE001 - damage found while walking or writing
                raise PdfRefusedError("unreadable") from error


def _open_through_pypdf(data: bytes, qpdf_error: Exception) -> pikepdf.Pdf:
    """Copy the pages pypdf finds into a new file for qpdf (page trees qpdf will not walk)."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise PdfRefusedError("unreadable") from qpdf_error
        writer = PdfWriter()
        for page in reader.pages:
            writer.add_page(page)
        buffer = io.BytesIO()
        writer.write(buffer)
        return pikepdf.open(io.BytesIO(buffer.getvalue()))
    except PdfRefusedError:
        raise
    except Exception as error:  # noqa: BLE001 - pypdf raises many types on damaged files
        raise PdfRefusedError("unreadable") from error


def _clean_open_pdf(pdf: pikepdf.Pdf) -> CleanedPdf:
    pages = len(pdf.pages)
    if pages == 0:
        raise PdfRefusedError("no_pages")
    if len(pdf.objects) > MAX_OBJECTS:
        raise PdfRefusedError("too_complex")
    if Name.Collection in pdf.Root:
        # A portfolio's cover page says "open me in Acrobat"; its content is embedded files.
        raise PdfRefusedError("portfolio")
    was_encrypted = pdf.is_encrypted
    removed = _strip_active_content(pdf)
    buffer = io.BytesIO()
    # No encryption argument: the copy is written unencrypted. A fixed /ID keeps the same upload
    # giving the same bytes.
    pdf.save(buffer, deterministic_id=True)
    cleaned = buffer.getvalue()
    # Fail closed: read back what was written, in case a removal did not take.
    if removed and find_active_content(cleaned):
        raise PdfRefusedError("cannot_clean")
    return CleanedPdf(cleaned, pages, frozenset(removed), was_encrypted)


def _strip_active_content(pdf: pikepdf.Pdf) -> set[str]:
    """Remove scripts, actions and embedded files in place; return what kinds were removed."""
    removed: set[str] = set()
    for container in _dictionaries(pdf):
        keys = container.keys()
        for key in keys & _DROPPED_KEYS.keys():
            del container[key]
            removed.add(_DROPPED_KEYS[key])
        for key in keys & _ACTION_KEYS:
            action = container[key]
            if _is_unsafe_action(action):
                del container[key]
                removed.add("actions")
            elif _is_action(action) and Name.Next in action:
                # A kept action may chain further ones; the chain is cut rather than judged.
                del action[Name.Next]
                removed.add("actions")
        if "/Annots" in keys and isinstance(annotations := container.Annots, Array):
            for index in reversed(range(len(annotations))):
                annotation = annotations[index]
                if isinstance(annotation, Dictionary) and (
                    str(annotation.get(Name.Subtype, "")) in _ACTIVE_ANNOTATIONS
                ):
                    del annotations[index]
                    removed.add("media_or_attachments")
    return removed


def _dictionaries(pdf: pikepdf.Pdf):  # noqa: ANN202 - yields pikepdf Dictionary or Stream
    """Every dictionary in the file: each object's own and those nested inside it."""
    stack = [pdf.trailer, *pdf.objects]
    while stack:
        item = stack.pop()
        if isinstance(item, Array):
            children = list(item)
        elif isinstance(item, Dictionary | Stream):
            yield item
            children = [value for key, value in item.items() if key not in _PLAIN_VALUE_KEYS]
        else:
            continue
        # Indirect children are in pdf.objects already; only nested direct ones are pushed.
        stack.extend(
            child
            for child in children
            if isinstance(child, Dictionary | Array) and not child.is_indirect
        )


def _is_action(value: object) -> bool:
    if not isinstance(value, Dictionary | Stream):
        return False
    subtype = value.get(Name.S)
    if not isinstance(subtype, Name):
        return False
    return str(subtype) in _ACTION_TYPES or value.get(Name.Type) == Name.Action


def _is_unsafe_action(value: object) -> bool:
    if not _is_action(value):
        return False
    subtype = str(value[Name.S])
    if subtype not in _SAFE_ACTIONS:
        return True
    if subtype == "/Named":
        return str(value.get(Name.N, "")) not in _SAFE_NAMED_ACTIONS
    if subtype == "/URI":
        uri = value.get(Name.URI)
        # Only a string can be a web address (bytes() of a hostile number would allocate it).
        text = bytes(uri).decode("latin-1").strip().lower() if isinstance(uri, String) else ""
        return not text.startswith(_SAFE_URI_PREFIXES)
    return False


def find_active_content(data: bytes) -> set[str]:
    """What in a stored PDF could run or reach out when opened (empty when it is clean)."""
    found: set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pikepdf.open(io.BytesIO(data)) as pdf:
            for container in _dictionaries(pdf):
                keys = container.keys()
                found.update(_DROPPED_KEYS[key] for key in keys & _DROPPED_KEYS.keys())
                if any(_is_unsafe_action(container[key]) for key in keys & _ACTION_KEYS):
                    found.add("actions")
                if "/Annots" in keys and isinstance(annotations := container.Annots, Array):
                    if any(
                        isinstance(annotation, Dictionary)
                        and str(annotation.get(Name.Subtype, "")) in _ACTIVE_ANNOTATIONS
                        for annotation in annotations
                    ):
                        found.add("media_or_attachments")
    return found
