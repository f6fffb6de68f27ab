"""Inspecting an uploaded file by its content and preparing the bytes to store."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from sct_forms.evidence import detection
from sct_forms.evidence.detection import Detected, open_zip
from sct_forms.evidence.images import (
    ImageRejectedError,
    ImageTooLargeError,
    reencode_image,
)
from sct_forms.evidence.pdfs import PdfRefusedError, clean_pdf
from sct_forms.evidence.rejection import UploadRejected

__all__ = [
    "ACCEPTED_KINDS",
    "InspectedUpload",
    "UploadRejected",
    "claimed_extension",
    "inspect_upload",
    "safe_display_name",
]

ACCEPTED_KINDS = ("document", "image", "spreadsheet", "text")

MAX_DISPLAY_NAME = 120
# An Office file is a ZIP; bound what it may expand to so opening it later cannot exhaust memory.
MAX_OFFICE_UNCOMPRESSED_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class InspectedUpload:
    """An accepted upload: what it is, how to serve it, and the bytes to store."""

    kind: str
    mime_type: str
    extension: str
    data: bytes = field(repr=False)
    display_name: str
    width: int | None = None
    height: int | None = None
    print_rendition: bytes | None = field(default=None, repr=False)
    # What was taken out of a PDF before storing it ("actions", "scripts", "embedded_files",
    # "media_or_attachments"); empty when nothing was.
    removed: frozenset[str] = frozenset()


# --- What names claim ----------------------------------------------------------------------------
# Extensions we recognise in a name, grouped into families. A name whose extension is in a
# different family from the content (a PNG called .pdf, HTML called .jpg) is refused; within
# a family (a PNG called .jpg) the content wins and the display name gets the right extension.
_FAMILY_EXTENSIONS = {
    "pdf": ("pdf",),
    "word": ("docx", "docm", "doc", "dotx", "dotm", "odt", "rtf"),
    "excel": ("xlsx", "xlsm", "xls", "xltx", "xltm", "xlsb", "ods"),
    "powerpoint": ("pptx", "pptm", "ppt", "potx", "potm", "ppsx", "ppsm", "pps", "odp"),
    "image": (
        "jpg",
        "jpeg",
        "jpe",
        "jfif",
        "png",
        "webp",
        "heic",
        "heif",
        "hif",
        "tif",
        "tiff",
        "gif",
        "bmp",
        "avif",
    ),
    # Markup counts as text here: HTML named .txt must be reported as active content.
    "text": (
        "txt",
        "text",
        "csv",
        "tsv",
        "md",
        "log",
        "html",
        "htm",
        "xhtml",
        "shtml",
        "svg",
        "svgz",
        "xml",
        "js",
        "mjs",
        "json",
    ),
}
_MARKUP_EXTENSIONS = frozenset({"html", "htm", "xhtml", "shtml", "svg", "svgz", "xml"})
_EXTENSION_FAMILY = {ext: family for family, exts in _FAMILY_EXTENSIONS.items() for ext in exts}
# Executables, archives and media: each is its own family, so content never matches them.
for _ext in (
    "exe",
    "dll",
    "msi",
    "bat",
    "cmd",
    "com",
    "scr",
    "ps1",
    "vbs",
    "wsf",
    "sh",
    "jar",
    "apk",
    "app",
    "dmg",
    "iso",
    "zip",
    "rar",
    "7z",
    "gz",
    "tgz",
    "bz2",
    "xz",
    "mp4",
    "mov",
    "avi",
    "mkv",
    "mp3",
    "m4a",
    "wav",
    "eml",
    "msg",
):
    _EXTENSION_FAMILY[_ext] = _ext


_WINDOWS_UNSAFE = str.maketrans({char: "_" for char in '<>:"|?*'})


def inspect_upload(
    data: bytes, filename: str, *, max_bytes: int, max_pixels: int = 40_000_000
) -> InspectedUpload:
    """Identify an upload by content, refuse what we do not accept, and prepare it for storage.

    The content is judged in full before the name: a refusal for the name alone is only raised
    for content we accept, so renaming the file as the message advises is then enough.
    """
    if not data:
        raise UploadRejected("empty")
    if len(data) > max_bytes:
        raise UploadRejected("too_large", max_mb=_megabytes(max_bytes))
    claimed = claimed_extension(filename)
    detected = detection.detect(data)
    upload = _prepare(data, filename, detected, claimed, max_pixels)
    if claimed is not None and _EXTENSION_FAMILY[claimed] != detected.family:
        raise UploadRejected("type_mismatch", claimed=claimed, actual=upload.extension)
    return upload


def _prepare(
    data: bytes, filename: str, detected: Detected, claimed: str | None, max_pixels: int
) -> InspectedUpload:
    match detected.format:
        case "pdf":
            return _pdf(data, filename)
        case "docx":
            _check_office(data)
            mime = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            return _document(data, filename, "document", mime, "docx")
        case "xlsx":
            _check_office(data)
            mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            return _document(data, filename, "spreadsheet", mime, "xlsx")
        case "macro":
            raise UploadRejected("macro_enabled", actual=detected.label)
        case "jpeg" | "png" | "webp" | "heif":
            return _image(data, filename, detected.format, max_pixels)
        case "text-not-utf8":
            raise UploadRejected("not_utf8_text")
        case "text" if claimed == "csv":
            return _document(data, filename, "spreadsheet", "text/csv", "csv")
        case "text":
            return _document(data, filename, "text", "text/plain", "txt")
        case _:  # markup: html, svg, xml, or text with tags in it
            # The name is kept for the message: "named .jpg, but it is a web page".
            names = {"claimed": claimed} if claimed and claimed not in _MARKUP_EXTENSIONS else {}
            raise UploadRejected("active_content", actual=detected.label, **names)


def safe_display_name(filename: str, extension: str) -> str:
    """A name safe to show and offer for download, ending in the canonical extension."""
    extension = extension.lstrip(".").lower()
    name = _clean_basename(filename)
    stem, dot, suffix = name.rpartition(".")
    if dot and stem and (suffix.lower() in _EXTENSION_FAMILY or suffix.lower() == extension):
        name = stem.rstrip(". ")
    if not extension:
        return name[:MAX_DISPLAY_NAME].rstrip(". ") or "file"
    room = MAX_DISPLAY_NAME - len(extension) - 1
    name = name[:room].rstrip(". ") or "file"
    return f"{name}.{extension}"


def claimed_extension(filename: str) -> str | None:
    """The recognised extension a file name claims (lower case, aliases kept), else None."""
    stem, dot, suffix = _clean_basename(filename).rpartition(".")
    suffix = suffix.lower()
    if dot and stem and suffix in _EXTENSION_FAMILY:
        return suffix
    return None


def _clean_basename(filename: str | None) -> str:
    """The last path part without control or format characters, leading/trailing dots."""
    name = unicodedata.normalize("NFC", filename or "")
    # Tabs and newlines become spaces first, so "Sign-in\tsheet" keeps its word break.
    name = " ".join(name.split())
    # Cc/Cf/Cs/Co/Cn: includes NUL, escapes and bidi overrides that spoof extensions.
    name = "".join(char for char in name if not unicodedata.category(char).startswith("C"))
    name = re.split(r"[/\\]", name)[-1]
    name = " ".join(name.split())
    name = name.translate(_WINDOWS_UNSAFE)
    return name.strip(". ")


def _megabytes(size: int) -> int | float:
    megabytes = size / (1024 * 1024)
    return int(megabytes) if megabytes.is_integer() else round(megabytes, 1)


def _document(data: bytes, filename: str, kind: str, mime: str, extension: str) -> InspectedUpload:
    return InspectedUpload(
        kind=kind,
        mime_type=mime,
        extension=extension,
        data=data,
        display_name=safe_display_name(filename, extension),
    )


# --- Validation of accepted formats --------------------------------------------------------------


def _pdf(data: bytes, filename: str) -> InspectedUpload:
    """A PDF as readers open it, rewritten without scripts and actions (see pdfs.py)."""
    try:
        cleaned = clean_pdf(data)
    except PdfRefusedError as error:
        raise UploadRejected(f"pdf_{error.reason}") from error
    return InspectedUpload(
        kind="document",
        mime_type="application/pdf",
        extension="pdf",
        data=cleaned.data,
        display_name=safe_display_name(filename, "pdf"),
        removed=cleaned.removed,
    )


def _check_office(data: bytes) -> None:
    """Refuse DOCX/XLSX files that would expand beyond the bound when opened."""
    with open_zip(data) as archive:
        total = sum(info.file_size for info in archive.infolist())
    if total > MAX_OFFICE_UNCOMPRESSED_BYTES:
        raise UploadRejected("office_too_large")


def _image(data: bytes, filename: str, source_format: str, max_pixels: int) -> InspectedUpload:
    try:
        image = reencode_image(data, source_format, max_pixels=max_pixels)
    except ImageTooLargeError as error:
        raise UploadRejected("image_too_large", max_mp=_megapixels(max_pixels)) from error
    except ImageRejectedError as error:
        raise UploadRejected("image_broken") from error
    extension = "jpg" if image.format == "jpeg" else image.format
    return InspectedUpload(
        kind="image",
        mime_type=f"image/{image.format}",
        extension=extension,
        data=image.data,
        display_name=safe_display_name(filename, extension),
        width=image.width,
        height=image.height,
        print_rendition=image.print_rendition,
    )


def _megapixels(pixels: int) -> int | float:
    megapixels = pixels / 1_000_000
    return int(megapixels) if megapixels.is_integer() else round(megapixels, 2)
