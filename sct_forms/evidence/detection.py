"""What an uploaded file really is, told from its bytes (never from its name)."""

from __future__ import annotations

import io
import re
import zipfile
from typing import NamedTuple

from sct_forms.evidence.rejection import UploadRejected

# An Office file is a ZIP; bound what it may expand to so opening it later cannot exhaust memory.
MAX_OFFICE_ENTRIES = 10_000
MAX_CONTENT_TYPES_BYTES = 1024 * 1024
# Share of control bytes above which "text" is really some binary format.
_MAX_CONTROL_RATIO = 0.01
# Readers find the PDF header anywhere in the first kilobyte (mail gateways and BOMs add junk).
PDF_HEADER_WINDOW = 1024
_PDF_OBJECT = re.compile(rb"\d+\s+\d+\s+obj\b")


class Detected(NamedTuple):
    """The content's actual format, its label in messages, and its family of extensions."""

    format: str
    label: str
    family: str


PDF = Detected("pdf", "pdf", "pdf")
DOCX = Detected("docx", "docx", "word")
XLSX = Detected("xlsx", "xlsx", "excel")
JPEG = Detected("jpeg", "jpg", "image")
PNG = Detected("png", "png", "image")
WEBP = Detected("webp", "webp", "image")
HEIC = Detected("heif", "heic", "image")
TEXT = Detected("text", "txt", "text")
TEXT_NOT_UTF8 = Detected("text-not-utf8", "txt", "text")
_MACRO_BY_FAMILY = {"word": "docm", "excel": "xlsm", "powerpoint": "pptm"}

_WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_EXCEL_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"

# HEVC-coded HEIF brands; AVIF and other HEIF codecs are not decodable here.
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_PICTURE_BRANDS = frozenset({b"avif", b"avis", b"mif1", b"msf1"})

# Signatures of binary formats we refuse, so the refusal can say what the file is and what to do
# about it. Only consulted for content that is not text.
_BINARY_SIGNATURES = (
    (b"GIF8", "picture"),
    (b"II*\x00", "picture"),
    (b"MM\x00*", "picture"),
    (b"BM", "picture"),
    (b"\x00\x00\x01\x00", "picture"),  # .ico
    (b"MZ", "program"),
    (b"\x7fELF", "program"),
    (b"\xcf\xfa\xed\xfe", "program"),
    (b"Rar!", "archive"),
    (b"7z\xbc\xaf", "archive"),
    (b"\x1f\x8b", "archive"),
    (b"ID3", "media"),
    (b"OggS", "media"),
    (b"fLaC", "media"),
    (b"\x1aE\xdf\xa3", "media"),  # Matroska / WebM
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An encrypted .docx/.xlsx is an OLE2 file holding this stream (UTF-16 name in the directory).
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")

_ACTIVE_MARKERS = (
    (b"<!doctype html", "html"),
    (b"<html", "html"),
    (b"<svg", "svg"),
    (b"<?xml", "xml"),
    (b"<script", "html"),
    (b"<iframe", "html"),
    (b"<object", "html"),
    (b"<embed", "html"),
)
# Any text that opens with a tag is markup a browser could be talked into rendering.
_LEADING_TAG = re.compile(rb"<[a-z!?/]")
_UTF8_BOM = b"\xef\xbb\xbf"
# C0 controls other than tab, newline, vertical tab, form feed, carriage return; and DEL.
_CONTROL_BYTES = bytes([*range(0x01, 0x09), *range(0x0E, 0x20), 0x7F])


def detect(data: bytes) -> Detected:
    """Name the content's format from its bytes, or refuse it saying what it is."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:4] == b"RIFF":
        if data[8:12] == b"WEBP":
            return WEBP
        raise UploadRejected("unknown_type", actual="media")  # WAV, AVI
    if data[4:8] == b"ftyp":
        brands = _heif_brands(data)
        if brands & _HEIC_BRANDS:
            return HEIC
        kind = "picture" if brands & _PICTURE_BRANDS else "media"
        raise UploadRejected("unknown_type", actual=kind)
    if data.startswith(b"PK\x03\x04"):
        return _detect_zip(data)
    if data.startswith(_OLE2):
        kind = "office_password" if _ENCRYPTED_PACKAGE in data else "old_office"
        raise UploadRejected("unknown_type", actual=kind)
    header = data.find(b"%PDF-", 0, PDF_HEADER_WINDOW)
    if header > 0 and _PDF_OBJECT.search(data, header):
        return PDF
    if data.removeprefix(_UTF8_BOM).startswith(b"{\\rtf"):
        raise UploadRejected("unknown_type", actual="rtf")
    return _detect_text(data)


def _binary_kind(data: bytes) -> str:
    for signature, kind in _BINARY_SIGNATURES:
        if data.startswith(signature):
            return kind
    return "other"


def _heif_brands(data: bytes) -> set[bytes]:
    """Major and compatible brands of an ISO-BMFF ftyp box."""
    box_size = int.from_bytes(data[:4], "big")
    end = min(box_size, len(data), 4096)
    brands = {data[8:12]}
    brands.update(data[offset : offset + 4] for offset in range(16, end - 3, 4))
    return brands


def open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
        raise UploadRejected("office_broken") from error


def _detect_zip(data: bytes) -> Detected:
    """Tell DOCX/XLSX from macro-enabled Office files, slides, OpenDocument and plain ZIPs."""
    with open_zip(data) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_OFFICE_ENTRIES:
            raise UploadRejected("office_too_large")
        by_name = {info.filename.lower(): info for info in infos}
        content_types = _read_content_types(archive, by_name.get("[content_types].xml"))
        if content_types is None:
            raise UploadRejected("unknown_type", actual=_zip_kind(archive, by_name))
    types = [content_type.lower() for _, content_type in content_types]
    family = _office_family(types)
    has_vba = any(name.endswith("vbaproject.bin") for name in by_name)
    if has_vba or any("macroenabled" in t or "vbaproject" in t for t in types):
        label = _MACRO_BY_FAMILY.get(family or "", "macro")
        return Detected("macro", label, family or "office-macro")
    main_parts = {content_type: part for part, content_type in content_types}
    for main_type, detected in ((_WORD_MAIN, DOCX), (_EXCEL_MAIN, XLSX)):
        if main_type in main_parts:
            if main_parts[main_type].lstrip("/").lower() not in by_name:
                raise UploadRejected("office_broken")
            return detected
    # Slides, templates and other packages are not accepted.
    raise UploadRejected("unknown_type", actual="slides" if family == "powerpoint" else "other")


def _zip_kind(archive: zipfile.ZipFile, by_name: dict[str, zipfile.ZipInfo]) -> str:
    """An OpenDocument file (its first member says so) or some other archive."""
    info = by_name.get("mimetype")
    if info is None or info.file_size > 200:
        return "archive"
    try:
        mimetype = archive.read(info)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError):
        return "archive"
    if mimetype.startswith(b"application/vnd.oasis.opendocument.presentation"):
        return "slides"
    if mimetype.startswith(b"application/vnd.oasis.opendocument"):
        return "opendocument"
    return "other"


def _read_content_types(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo | None
) -> list[tuple[str, str]] | None:
    """(PartName, ContentType) pairs from [Content_Types].xml; None when there is none."""
    if info is None:
        return None
    if info.file_size > MAX_CONTENT_TYPES_BYTES:
        raise UploadRejected("office_broken")
    try:
        # ZipExtFile stops at the declared size, so this read is bounded even for a bomb.
        raw = archive.read(info)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as error:
        raise UploadRejected("office_broken") from error
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


def _detect_text(data: bytes) -> Detected:
    """Plain text, markup (refused later as active content), or unknown binary."""
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if b"\x00" in data or controls > len(data) * _MAX_CONTROL_RATIO:
        raise UploadRejected("unknown_type", actual=_binary_kind(data))
    # bytes.lower() folds ASCII only, which is all the markers need.
    lowered = data.removeprefix(_UTF8_BOM).lstrip().lower()
    if not lowered:
        # Only a BOM or whitespace: nothing a reviewer could read.
        raise UploadRejected("empty")
    whole_file_is_markup = _LEADING_TAG.match(lowered) is not None
    for marker, label in _ACTIVE_MARKERS:
        if marker in lowered:
            # Text that only contains some tags (a CSV cell, a pasted snippet) is not a page.
            return Detected("markup", label if whole_file_is_markup else "text-with-code", "text")
    if whole_file_is_markup:
        return Detected("markup", "html", "text")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        # Looks like text in a legacy encoding (Excel's "CSV" is often Windows-1252).
        return TEXT_NOT_UTF8
    return TEXT
