"""Sample uploads generated in memory, so no binary fixtures live in the repository."""

from __future__ import annotations

import functools
import io
import random
import struct
import zipfile
import zlib

import pillow_heif
from PIL import ExifTags, Image, ImageCms, ImageDraw, PngImagePlugin
from pypdf import PdfWriter

WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
EXCEL_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
EXCEL_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
PRESENTATION_MAIN = (
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
)
WORD_MACRO_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"
EXCEL_MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
VBA_PROJECT = "application/vnd.ms-office.vbaProject"
RELATIONSHIPS = "application/vnd.openxmlformats-package.relationships+xml"

# Somewhere in Hartford: what must never leak from a photo of a sign-in table.
GPS_LATITUDE = (41.0, 45.0, 49.0)
GPS_LONGITUDE = (72.0, 40.0, 59.0)


# --- Images --------------------------------------------------------------------------------------


def picture(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> Image.Image:
    """A small image with distinct quadrants, so orientation and colour can be checked."""
    image = Image.new("RGB", size, (220, 40, 40))
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.rectangle((width // 2, 0, width, height), fill=(40, 40, 220))
    draw.rectangle((0, height // 2, width // 2, height), fill=(40, 200, 40))
    return image.convert(mode) if mode != "RGB" else image


def encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    """Save an image with Pillow into bytes."""
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def jpeg_bytes(size: tuple[int, int] = (64, 48), **options: object) -> bytes:
    """A plain JPEG."""
    return encode(picture(size), "JPEG", quality=90, **options)


def png_bytes(size: tuple[int, int] = (64, 48), mode: str = "RGB", **options: object) -> bytes:
    """A PNG in the given mode."""
    return encode(picture(size, mode), "PNG", **options)


def webp_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    """A lossy WebP."""
    return encode(picture(size), "WEBP", quality=85)


def heic_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    """An HEIC as iPhones produce, via pillow-heif's encoder."""
    buffer = io.BytesIO()
    pillow_heif.from_pillow(picture(size)).save(buffer, quality=85)
    return buffer.getvalue()


def srgb_icc_profile() -> bytes:
    """An ICC profile to embed, as cameras and phones do."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def jpeg_with_metadata(*, icc: bool = True) -> bytes:
    """A phone photo carrying GPS EXIF, camera details, XMP, a comment and an ICC profile."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.Model] = "Pocket 12"
    exif[ExifTags.Base.Software] = "SecretSoftware 1.0"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = GPS_LONGITUDE
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        b'22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
        b'dc:creator="Jane Resident"/></rdf:RDF></x:xmpmeta>'
    )
    return encode(
        picture((80, 60)),
        "JPEG",
        quality=90,
        exif=exif,
        xmp=xmp,
        comment=b"SecretComment",
        icc_profile=srgb_icc_profile() if icc else None,
    )


def jpeg_with_orientation(orientation: int = 6) -> bytes:
    """A 40x20 JPEG (red left half, blue right half) whose EXIF says how to turn it."""
    image = Image.new("RGB", (40, 20), (230, 20, 20))
    ImageDraw.Draw(image).rectangle((20, 0, 40, 20), fill=(20, 20, 230))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    return encode(image, "JPEG", quality=95, exif=exif)


def png_with_text_chunks() -> bytes:
    """A PNG with tEXt metadata, EXIF and an ICC profile, which must not survive re-encoding."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Resident")
    info.add_text("Comment", "SecretComment")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    return encode(picture(), "PNG", pnginfo=info, exif=exif, icc_profile=srgb_icc_profile())


def cmyk_jpeg_bytes() -> bytes:
    """A CMYK JPEG, as print shops export flyers."""
    return encode(picture().convert("CMYK"), "JPEG", quality=90)


def palette_png_with_transparency() -> bytes:
    """A palette PNG whose first colour is transparent (a typical logo)."""
    image = picture().convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    return encode(image, "PNG", transparency=0)


def sixteen_bit_png() -> bytes:
    """A 16-bit greyscale PNG at mid grey (a scanner's raw output)."""
    return encode(Image.new("I;16", (32, 32), 32768), "PNG")


@functools.cache
def photo_12mp() -> bytes:
    """A 4000x3000 JPEG with photo-like detail (noise over a gradient), about 6 MB."""
    noise = Image.effect_noise((4000, 3000), 40).convert("RGB")
    gradient = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    return encode(Image.blend(noise, gradient, 0.5), "JPEG", quality=92)


def _png_chunk(tag: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))


@functools.cache
def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid one-colour 1-bit PNG: about 100 KB on disk, gigabytes once decoded to RGB."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = bytes(1 + (width + 7) // 8)  # filter byte + packed black pixels
    compressor = zlib.compressobj(9)
    block = row * 256
    parts = [compressor.compress(block) for _ in range(height // 256)]
    parts.append(compressor.compress(row * (height % 256)))
    parts.append(compressor.flush())
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


# --- PDF -----------------------------------------------------------------------------------------


def pdf_bytes(pages: int = 1) -> bytes:
    """A minimal valid PDF with blank letter-size pages."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def encrypted_pdf_bytes() -> bytes:
    """A password-protected PDF (RC4, which pypdf writes without extra packages)."""
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def broken_pdf_bytes() -> bytes:
    """A PDF header followed by nothing a reader can use."""
    return b"%PDF-1.7\n" + random.Random(7).randbytes(2048)


# --- Office packages -----------------------------------------------------------------------------


def _content_types(overrides: dict[str, str], defaults: dict[str, str] | None = None) -> str:
    default_types = {"rels": RELATIONSHIPS, "xml": "application/xml", **(defaults or {})}
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">',
        *(f'<Default Extension="{ext}" ContentType="{ct}"/>' for ext, ct in default_types.items()),
        *(f'<Override PartName="{part}" ContentType="{ct}"/>' for part, ct in overrides.items()),
        "</Types>",
    ]
    return "".join(lines)


def _package_relationships(main_part: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'relationships/officeDocument" Target="{main_part}"/></Relationships>'
    )


def _zip(parts: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


_WORD_DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>Community meeting minutes</w:t></w:r></w:p></w:body></w:document>"
)


def docx_parts(main_type: str = WORD_MAIN) -> dict[str, str | bytes]:
    """The parts of a minimal Word document, to build variants from."""
    return {
        "[Content_Types].xml": _content_types({"/word/document.xml": main_type}),
        "_rels/.rels": _package_relationships("word/document.xml"),
        "word/document.xml": _WORD_DOCUMENT,
    }


def docx_bytes() -> bytes:
    """A minimal valid DOCX."""
    return _zip(docx_parts())


def docm_bytes() -> bytes:
    """A macro-enabled Word document: macro main content type and a VBA project."""
    parts = docx_parts(WORD_MACRO_MAIN)
    parts["[Content_Types].xml"] = _content_types(
        {"/word/document.xml": WORD_MACRO_MAIN}, {"bin": VBA_PROJECT}
    )
    parts["word/vbaProject.bin"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    return _zip(parts)


def docx_with_hidden_vba() -> bytes:
    """A DOCX content type but a VBA project inside: a docm renamed and relabelled."""
    parts = docx_parts()
    parts["word/vbaProject.bin"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    return _zip(parts)


def docx_missing_main_part() -> bytes:
    """Content types name a main document that is not in the package."""
    parts = docx_parts()
    del parts["word/document.xml"]
    return _zip(parts)


def _xlsx_parts(main_type: str) -> dict[str, str | bytes]:
    return {
        "[Content_Types].xml": _content_types(
            {"/xl/workbook.xml": main_type, "/xl/worksheets/sheet1.xml": EXCEL_SHEET}
        ),
        "_rels/.rels": _package_relationships("xl/workbook.xml"),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Survey" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Responses</t></is></c></row>'
            "</sheetData></worksheet>"
        ),
    }


def xlsx_bytes() -> bytes:
    """A minimal valid XLSX."""
    return _zip(_xlsx_parts(EXCEL_MAIN))


def xlsm_bytes() -> bytes:
    """A macro-enabled workbook."""
    parts = _xlsx_parts(EXCEL_MACRO_MAIN)
    parts["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    return _zip(parts)


def pptx_bytes() -> bytes:
    """A PowerPoint package (recognised, but not an accepted evidence type)."""
    return _zip(
        {
            "[Content_Types].xml": _content_types({"/ppt/presentation.xml": PRESENTATION_MAIN}),
            "_rels/.rels": _package_relationships("ppt/presentation.xml"),
            "ppt/presentation.xml": "<p:presentation/>",
        }
    )


def plain_zip_bytes() -> bytes:
    """An ordinary ZIP archive."""
    return _zip({"flyer.txt": "Meeting Tuesday", "notes.txt": "Bring snacks"})


@functools.cache
def zip_bomb_docx() -> bytes:
    """A well-formed DOCX carrying 210 MB of zeros: about 200 KB uploaded."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in docx_parts().items():
            archive.writestr(name, content)
        with archive.open("word/media/padding.bin", "w") as member:
            chunk = bytes(1024 * 1024)
            for _ in range(210):
                member.write(chunk)
    return buffer.getvalue()


# --- Text ----------------------------------------------------------------------------------------


def text_bytes() -> bytes:
    """UTF-8 text with a BOM and accents."""
    return "\ufeffSign-in notes — Café on Main St.\nAttendees: 23\n".encode()


def csv_bytes() -> bytes:
    """A UTF-8 survey export."""
    return "respondent,town,answer\n1,Hartford,Sí\n2,New Haven,Yes\n".encode()


def windows_1252_csv_bytes() -> bytes:
    """Excel's legacy "CSV" encoding, which is not UTF-8."""
    return "respondent,answer\n1,Café\n2,Crème brûlée night\n".encode("cp1252")


def html_bytes() -> bytes:
    """An HTML page with a script."""
    return b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def svg_with_script_bytes() -> bytes:
    """An SVG carrying JavaScript."""
    return (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(1)</script><rect width='10' height='10'/></svg>"
    )


def random_bytes(size: int = 4096, seed: int = 1234) -> bytes:
    """Reproducible noise, as from an unknown binary format."""
    return random.Random(seed).randbytes(size)


# --- Formats we refuse, each with its own advice -------------------------------------------------


def odt_bytes() -> bytes:
    """An OpenDocument text: a ZIP whose first member names its type."""
    return _zip(
        {
            "mimetype": "application/vnd.oasis.opendocument.text",
            "content.xml": "<office:document-content/>",
        }
    )


def ole_bytes(*streams: str) -> bytes:
    """The start of an OLE2 compound file (legacy .doc/.xls), naming the given streams."""
    directory = b"".join(name.encode("utf-16-le").ljust(128, b"\x00") for name in streams)
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + directory


def encrypted_docx_bytes() -> bytes:
    """A password-protected .docx: Office wraps it in an OLE2 file with an EncryptedPackage."""
    return ole_bytes("Root Entry", "EncryptionInfo", "EncryptedPackage")


def rtf_bytes() -> bytes:
    """Rich Text, which is ASCII but not plain text."""
    return b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}} Meeting minutes\\par}"


def mp4_bytes() -> bytes:
    """The start of an MP4 video (ftyp box, isom brand)."""
    return b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(64)


def exe_bytes() -> bytes:
    """The start of a Windows program."""
    return b"MZ\x90\x00\x03\x00\x00\x00" + bytes(100)


def xml_bytes() -> bytes:
    """An XML data file."""
    return b'<?xml version="1.0"?><responses><r>Yes</r></responses>'


def text_with_code_bytes() -> bytes:
    """A CSV export where one answer contains a tag."""
    return b"name,comment\nAna,nice <svg onload=alert(1)>\n"
