"""Inspecting an uploaded file by its content and preparing the bytes to store."""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pypdf import PdfReader

from sct_forms.evidence.images import (
    ImageRejectedError,
    ImageTooLargeError,
    reencode_image,
)

ACCEPTED_KINDS = ("document", "image", "spreadsheet", "text")

MAX_DISPLAY_NAME = 120
# An Office file is a ZIP; bound what it may expand to so opening it later cannot exhaust memory.
MAX_OFFICE_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_OFFICE_ENTRIES = 10_000
MAX_CONTENT_TYPES_BYTES = 1024 * 1024
# Share of control bytes above which "text" is really some binary format.
_MAX_CONTROL_RATIO = 0.01


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


class UploadRejected(ValueError):  # noqa: N818 - public name agreed with the web layer
    """An upload we refuse; ``code`` and ``params`` are translated by the web layer."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code, params)
        self.code = code
        self.params = params

    def __str__(self) -> str:
        details = ", ".join(f"{key}={value!r}" for key, value in self.params.items())
        return f"{self.code} ({details})" if details else self.code


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


class _Detected(NamedTuple):
    """The content's actual format, its label in messages, and its family of extensions."""

    format: str
    label: str
    family: str


_PDF = _Detected("pdf", "pdf", "pdf")
_DOCX = _Detected("docx", "docx", "word")
_XLSX = _Detected("xlsx", "xlsx", "excel")
_JPEG = _Detected("jpeg", "jpg", "image")
_PNG = _Detected("png", "png", "image")
_WEBP = _Detected("webp", "webp", "image")
_HEIC = _Detected("heif", "heic", "image")
_TEXT = _Detected("text", "txt", "text")
_TEXT_NOT_UTF8 = _Detected("text-not-utf8", "txt", "text")
_MACRO_BY_FAMILY = {"word": "docm", "excel": "xlsm", "powerpoint": "pptm"}

_WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_EXCEL_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"

# HEVC-coded HEIF brands; AVIF and other HEIF codecs are not decodable here.
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})

_ACTIVE_MARKERS = (
    (b"<svg", "svg"),
    (b"<!doctype", "html"),
    (b"<html", "html"),
    (b"<script", "html"),
    (b"<iframe", "html"),
    (b"<object", "html"),
    (b"<embed", "html"),
    (b"<?xml", "xml"),
)
# Any text that opens with a tag is markup a browser could be talked into rendering.
_LEADING_TAG = re.compile(rb"<[a-z!?/]")
_UTF8_BOM = b"\xef\xbb\xbf"
# C0 controls other than tab, newline, vertical tab, form feed, carriage return; and DEL.
_CONTROL_BYTES = bytes([*range(0x01, 0x09), *range(0x0E, 0x20), 0x7F])
_WINDOWS_UNSAFE = str.maketrans({char: "_" for char in '<>:"|?*'})


def inspect_upload(
    data: bytes, filename: str, *, max_bytes: int, max_pixels: int = 40_000_000
) -> InspectedUpload:
    """Identify an upload by content, refuse what we do not accept, and prepare it for storage."""
    if not data:
        raise UploadRejected("empty")
    if len(data) > max_bytes:
        raise UploadRejected("too_large", max_mb=_megabytes(max_bytes))
    detected = _detect(data)
    claimed = claimed_extension(filename)
    if claimed is not None and _EXTENSION_FAMILY[claimed] != detected.family:
        raise UploadRejected("type_mismatch", claimed=claimed, actual=detected.label)

    match detected.format:
        case "pdf":
            _check_pdf(data)
            return _document(data, filename, "document", "application/pdf", "pdf")
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
        case _:  # markup: html, svg, xml
            raise UploadRejected("active_content", actual=detected.label)


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


# --- Detection by content ------------------------------------------------------------------------


def _detect(data: bytes) -> _Detected:
    """Name the content's format from its bytes, or refuse it as unknown."""
    if data.startswith(b"%PDF-"):
        return _PDF
    if data.startswith(b"\xff\xd8\xff"):
        return _JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _WEBP
    if data[4:8] == b"ftyp":
        if _heif_brands(data) & _HEIC_BRANDS:
            return _HEIC
        raise UploadRejected("unknown_type")
    if data.startswith(b"PK\x03\x04"):
        return _detect_office(data)
    return _detect_text(data)


def _heif_brands(data: bytes) -> set[bytes]:
    """Major and compatible brands of an ISO-BMFF ftyp box."""
    box_size = int.from_bytes(data[:4], "big")
    end = min(box_size, len(data), 4096)
    brands = {data[8:12]}
    brands.update(data[offset : offset + 4] for offset in range(16, end - 3, 4))
    return brands


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
        raise UploadRejected("document_broken", reason="unreadable") from error


def _detect_office(data: bytes) -> _Detected:
    """Tell DOCX/XLSX from macro-enabled Office files and from other ZIPs."""
    with _open_zip(data) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_OFFICE_ENTRIES:
            raise UploadRejected("document_broken", reason="too_many_parts")
        by_name = {info.filename.lower(): info for info in infos}
        content_types = _read_content_types(archive, by_name.get("[content_types].xml"))
    if content_types is None:
        # A ZIP, but not an Office Open XML package (plain archive, ODF, EPUB, ...).
        raise UploadRejected("unknown_type")
    types = [content_type.lower() for _, content_type in content_types]
    family = _office_family(types)
    has_vba = any(name.endswith("vbaproject.bin") for name in by_name)
    if has_vba or any("macroenabled" in t or "vbaproject" in t for t in types):
        label = _MACRO_BY_FAMILY.get(family or "", "macro")
        return _Detected("macro", label, family or "office-macro")
    main_parts = {content_type: part for part, content_type in content_types}
    for main_type, detected in ((_WORD_MAIN, _DOCX), (_EXCEL_MAIN, _XLSX)):
        if main_type in main_parts:
            if main_parts[main_type].lstrip("/").lower() not in by_name:
                raise UploadRejected("document_broken", reason="missing_main_part")
            return detected
    # PowerPoint, templates and other packages are not accepted.
    raise UploadRejected("unknown_type")


def _read_content_types(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo | None
) -> list[tuple[str, str]] | None:
    """(PartName, ContentType) pairs from [Content_Types].xml; None when there is none."""
    if info is None:
        return None
    if info.file_size > MAX_CONTENT_TYPES_BYTES:
        raise UploadRejected("document_broken", reason="unreadable")
    try:
        # ZipExtFile stops at the declared size, so this read is bounded even for a bomb.
        raw = archive.read(info)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as error:
        raise UploadRejected("document_broken", reason="unreadable") from error
    encoding = "utf-16" if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    text = raw.decode(encoding, errors="replace")
    # A regular expression rather than an XML parser: we only need attribute values, and it
    # cannot be made to expand entities or fetch anything.
    pairs = []
    for tag in re.findall(r"<(?:\w+:)?(?:Override|Default)\b[^>]*>", text):
        attributes = {
            key: value1 or value2
            for key, value1, value2 in re.findall(r"(\w+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", tag)
        }
        if "ContentType" in attributes:
            pairs.append((attributes.get("PartName", ""), attributes["ContentType"].strip()))
    return pairs


def _office_family(types: list[str]) -> str | None:
    for family, markers in (
        ("word", ("wordprocessingml", "ms-word")),
        ("excel", ("spreadsheetml", "ms-excel")),
        ("powerpoint", ("presentationml", "ms-powerpoint")),
    ):
        if any(marker in t and ".main" in t for t in types for marker in markers):
            return family
    return None


def _detect_text(data: bytes) -> _Detected:
    """Plain text, markup (refused later as active content), or unknown binary."""
    if b"\x00" in data:
        raise UploadRejected("unknown_type")
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if controls > len(data) * _MAX_CONTROL_RATIO:
        raise UploadRejected("unknown_type")
    # bytes.lower() folds ASCII only, which is all the markers need.
    lowered = data.removeprefix(_UTF8_BOM).lstrip().lower()
    if not lowered:
        # Only a BOM or whitespace: nothing a reviewer could read.
        raise UploadRejected("empty")
    for marker, label in _ACTIVE_MARKERS:
        if marker in lowered:
            return _Detected("markup", label, "text")
    if _LEADING_TAG.match(lowered):
        return _Detected("markup", "html", "text")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        # Looks like text in a legacy encoding (Excel's "CSV" is often Windows-1252).
        return _TEXT_NOT_UTF8
    return _TEXT


# --- Validation of accepted formats --------------------------------------------------------------


def _check_pdf(data: bytes) -> None:
    """Refuse PDFs that pypdf cannot open, that are encrypted, or that have no pages."""
    try:
        # pypdf warns about damage it recovers from; a readable file is all we need.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                raise UploadRejected("document_broken", reason="encrypted")
            page_count = len(reader.pages)
    except UploadRejected:
        raise
    except Exception as error:
        # pypdf raises many types on hostile input (PdfReadError, KeyError, RecursionError…).
        raise UploadRejected("document_broken", reason="unreadable") from error
    if page_count == 0:
        raise UploadRejected("document_broken", reason="no_pages")


def _check_office(data: bytes) -> None:
    """Refuse DOCX/XLSX files that would expand beyond the bound when opened."""
    with _open_zip(data) as archive:
        total = sum(info.file_size for info in archive.infolist())
    if total > MAX_OFFICE_UNCOMPRESSED_BYTES:
        raise UploadRejected("document_broken", reason="uncompressed_too_large")


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
